"""Batched translation of audio files and arrays: inputs, length buckets, devices, segments.

Inputs are files, folders of them, or manifests (`s2t2_jax.manifest`; only the audio column is
used). They are sorted by length from their headers (no decoding), loaded and resampled a few
batches ahead of the model in threads (memory does not grow with the number of inputs), and
padded to a small fixed set of bucket lengths; every batch is padded to the same batch size, so a
whole dataset compiles at most one program per bucket. Batches are split data-parallel over the
local devices (`s2t2_jax.sharding.Layout`); several hosts each take a length-balanced share
(`take_shard`). Inputs longer than the largest bucket (and every input with `segment_all`) are
split at pauses (`s2t2_jax.segmenter`); the segments of all inputs share the same buckets and
batches, and an input is done when all its segments are. Every row is translated as its audio
alone, whatever it is batched and padded with (the encoder's `padding_invariant` mode). Items come
back as they finish (`Batcher.stream`); a bad input gives an error record and never stops or loses
the others.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jax
import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from s2t2_jax.audio import AudioError, check_audio, load_audio
from s2t2_jax.features import pick_bucket
from s2t2_jax.manifest import MANIFEST_EXTENSIONS, ManifestError, read_manifest
from s2t2_jax.segmenter import find_segments
from s2t2_jax.sharding import Layout

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus")
# About 20% apart: little padding waste (attention cost grows with the square of the length),
# and still few programs to compile.
DEFAULT_BUCKET_SECONDS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 18.0, 21.0, 25.0, 30.0)


@dataclasses.dataclass
class Item:
    """One input: a path (or an in-memory array), and what became of it."""

    name: str  # the path as given (manifest lines: see `_manifest_items`), or "<array N>"
    path: Path | None = None
    audio: np.ndarray | None = None  # [L] at the model's rate while loaded (dropped once done)
    error: str | None = None
    translation: str | None = None
    index: int = 0  # the input's position among all inputs (`gather_inputs`)
    seconds: float | None = None  # the audio's length, once loaded
    score: float | None = None  # `decoding.generate`'s score (segmented audio: the segments' mean)
    spans: list[tuple[int, int]] | None = None  # the segments' sample ranges, once loaded
    # Once translated: [{"start", "end", "text", "score"}], seconds from the start of the audio.
    segments: list[dict[str, Any]] | None = None

    def record(self) -> dict[str, Any]:
        """The item's JSON record: `{"index", "path", "translation", "seconds", "score",
        "segments"}` (no score for audio without speech) or `{"index", "path", "error"}`."""
        if self.error is not None:
            return {"index": self.index, "path": self.name, "error": self.error}
        out = {"index": self.index, "path": self.name, "translation": self.translation,
               "seconds": self.seconds}
        if self.score is not None:
            out["score"] = round(self.score, 6)
        return {**out, "segments": self.segments}

    def finish(self, results: Sequence[tuple[str, float | None]], sampling_rate: int) -> None:
        """Set the translation from its segments' `(text, score)` results (in `spans` order):
        the texts joined by a space, the scores' mean."""
        assert self.spans is not None and len(results) == len(self.spans)
        self.segments = []
        for (s, e), (text, score) in zip(self.spans, results, strict=True):
            seg = {"start": round(s / sampling_rate, 3), "end": round(e / sampling_rate, 3),
                   "text": text}
            self.segments.append(seg if score is None else {**seg, "score": round(score, 6)})
        self.translation = " ".join(t for t, _ in results if t)
        scores = [sc for _, sc in results]
        if scores and all(sc is not None for sc in scores):
            self.score = float(np.mean(scores))


def _manifest_items(path: Path) -> Iterator[Item]:
    """The audio files a manifest lists (`s2t2_jax.manifest`), named by their path relative to
    the manifest's folder (absolute outside it); a bad line, or an unreadable manifest, becomes
    an error item."""
    base = path.absolute().parent
    try:
        for n, audio, _, _, error in read_manifest(path):
            if error is not None:
                yield Item(f"{path}:{n}", error=f"manifest line {n}: {error}")
                continue
            p = Path(audio)
            yield Item(str(p.relative_to(base)) if p.is_relative_to(base) else audio, path=p)
    except (OSError, UnicodeDecodeError, ManifestError) as e:
        yield Item(str(path), error=f"cannot read manifest: {e}")


def gather_inputs(inputs: Iterable[str]) -> list[Item]:
    """Audio files, folders (searched recursively for audio files) and manifests -> items."""
    items: list[Item] = []
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                items.append(Item(name, error="folder holds no audio files"))
            items += [Item(str(f), path=f) for f in found]
        elif p.suffix.lower() in MANIFEST_EXTENSIONS and p.is_file():
            items.extend(_manifest_items(p))
        else:
            items.append(Item(name, path=p))
    for i, it in enumerate(items):
        it.index = i
    return items


def estimated_samples(item: Item, rate: int) -> int:
    """Length at the model's rate, from the file header when not loaded (no decoding; 0 if
    unknown: the error is reported when the file is loaded)."""
    if item.audio is not None:
        return len(item.audio)
    if item.path is None or item.error is not None:
        return 0
    try:
        info = sf.info(str(item.path))
        return int(info.frames * rate / info.samplerate)
    except Exception:
        return 0


def by_length(items: Sequence[Item], rate: int, workers: int = 8) -> list[Item]:
    """`items` sorted by their header length, shortest first (ties: input order); the headers
    are read in `workers` threads."""
    with ThreadPoolExecutor(workers) as pool:
        lengths = list(pool.map(lambda it: estimated_samples(it, rate), items))
    order = sorted(range(len(items)), key=lambda i: (lengths[i], items[i].index, i))
    return [items[i] for i in order]


def take_shard(items: Sequence[Item], rate: int, num_shards: int, shard_index: int) -> list[Item]:
    """Shard `shard_index` of `num_shards`: every `num_shards`-th input by header length, so every
    shard gets about the same number of inputs and of audio seconds; sorted by length. Every host
    computes the same split from the same inputs."""
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"shard index {shard_index} must be in [0, {num_shards})")
    return by_length(items, rate)[shard_index::num_shards]


@dataclasses.dataclass
class Batcher:
    """Turns waveforms into fixed-shape, device-sharded model batches and back into texts.

    Args:
      generate_ids: `(input_values [B, L], attention_mask [B, L]) -> ids [B, W]`, or
        `(ids, scores [B])`; the inputs come split over the layout's devices.
      decode_text: ids -> list of strings.
      extract: the feature extractor (normalises, pads, masks).
      sampling_rate: the model's rate.
      min_samples: the shortest audio that yields one encoder frame
        (`s2t2_jax.encoder.min_input_samples`).
      batch_size: rows per program call (rounded up to a multiple of the device count).
      bucket_seconds: padded lengths; audio longer than the largest is split at pauses
        (`s2t2_jax.segmenter.find_segments`) into segments no longer than it.
      segment_all: split every input at pauses, also those that fit the largest bucket (which are
        otherwise translated whole, as one segment).
      layout: where batches go (default: data parallel over the local devices).
    """

    generate_ids: Callable[[jax.Array, jax.Array], np.ndarray | tuple[np.ndarray, np.ndarray]]
    decode_text: Callable[[np.ndarray], list[str]]
    extract: Callable[..., dict[str, np.ndarray]]
    sampling_rate: int
    min_samples: int
    batch_size: int = 8
    bucket_seconds: Sequence[float] = DEFAULT_BUCKET_SECONDS
    segment_all: bool = False
    layout: Layout = dataclasses.field(default_factory=lambda: Layout.create(jax.local_devices()))

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        self.batch_size = self.layout.padded_rows(self.batch_size)
        self.buckets = sorted({max(int(s * self.sampling_rate), self.min_samples)
                               for s in self.bucket_seconds})

    def spans(self, audio: np.ndarray) -> list[tuple[int, int]]:
        """The sample ranges a waveform [L] is translated as: the whole of it if it fits the
        largest bucket (and not `segment_all`), else its segments (`find_segments`; none for
        silence)."""
        if len(audio) <= self.buckets[-1] and not self.segment_all:
            return [(0, len(audio))]
        return find_segments(audio, self.sampling_rate, self.buckets[-1],
                             min_speech=max(0.1, self.min_samples / self.sampling_rate))

    def load(self, item: Item) -> Item:
        """Read (or check) the item's audio at the model's rate and find its segments (`spans`);
        a problem becomes the item's error. Runs in the loader threads."""
        try:
            if item.audio is None:
                item.audio = load_audio(item.path, self.sampling_rate, min_samples=self.min_samples)
            else:
                item.audio = check_audio(item.audio, self.sampling_rate, self.min_samples,
                                         source=item.name)
            item.seconds = round(len(item.audio) / self.sampling_rate, 3)
            item.spans = self.spans(item.audio)
        except (AudioError, OSError, ValueError) as e:
            item.error, item.audio = str(e), None
        return item

    def run_batch(self, rows: list[np.ndarray]) -> list[tuple[str, float | None]]:
        """Texts and scores (None if `generate_ids` gives none) for up to `batch_size` waveforms:
        one fixed-shape program call (padded to the bucket of the longest, and with copies of the
        first row up to the batch size)."""
        n = len(rows)
        bucket = pick_bucket(rows, self.buckets)
        rows = rows + [rows[0]] * (self.batch_size - n)
        feats = self.extract(rows, sampling_rate=self.sampling_rate, padding="max_length",
                             max_length=bucket, return_attention_mask=True)
        batch = self.layout.put_batch(feats)
        ids = self.generate_ids(batch["input_values"], batch["attention_mask"])
        ids, scores = ids if isinstance(ids, tuple) else (ids, None)
        scores = [None] * n if scores is None else [float(x) for x in np.asarray(scores)[:n]]
        return list(zip(self.decode_text(ids[:n]), scores, strict=True))

    def stream(self, items: Sequence[Item], *, ordered: bool = False, workers: int = 4,
               prefetch: int = 2, progress: bool = False) -> Iterator[Item]:
        """Translate `items`, yielding each as soon as it is done (translated, or failed).

        Items are sorted by header length (`by_length`; `ordered`: already sorted), and their
        audio is read and resampled in `workers` threads, `prefetch` batches ahead of the model,
        so loading overlaps compute. An item's audio is dropped once it is yielded: memory holds
        about `prefetch + 2` batches of audio, however many items there are (a long input's audio
        stays until all its segments are done). Items that already carry an error are yielded
        first.
        """
        todo = [it for it in items if it.error is None]
        bar = _Progress(len(items), progress)
        for it in items:
            if it.error is not None:
                yield bar.done(it)
        if not ordered:
            todo = by_length(todo, self.sampling_rate)
        groups = iter([todo[i:i + self.batch_size] for i in range(0, len(todo), self.batch_size)])
        # Segments to run: (round queued, item, segment number, waveform). Each round (a group of
        # items loaded) sorts them by length, so that batches pad little; segments left over
        # from an earlier round go first, so none waits more than one round.
        queue: list[tuple[int, Item, int, np.ndarray]] = []
        # id(item) -> its segments' (text, score) (None: to run)
        texts: dict[int, list[tuple[str, float | None] | None]] = {}
        with ThreadPoolExecutor(workers) as pool:
            loading: collections.deque = collections.deque(
                [pool.submit(self.load, it) for it in g] for g in itertools.islice(groups, prefetch + 1))
            for round_ in itertools.count():
                if not (loading or queue):
                    break
                if loading:
                    futures = loading.popleft()
                    loading.extend([pool.submit(self.load, it) for it in g]
                                   for g in itertools.islice(groups, 1))
                    for it in (f.result() for f in futures):
                        if it.error is None and it.spans:
                            texts[id(it)] = [None] * len(it.spans)
                            queue.extend((round_, it, k, it.audio[s:e])
                                         for k, (s, e) in enumerate(it.spans))
                            it.audio = None  # the segments hold what is still needed
                            continue
                        if it.error is None:  # no speech: nothing to run
                            it.finish([], self.sampling_rate)
                        it.audio = None
                        yield bar.done(it)
                    queue.sort(key=lambda q: (q[0] == round_, len(q[3])))
                while len(queue) >= self.batch_size or (queue and not loading):
                    batch, queue = queue[:self.batch_size], queue[self.batch_size:]
                    for (_, it, k, _), out in zip(batch, self.run_batch([x for *_, x in batch]),
                                                  strict=True):
                        texts[id(it)][k] = out
                        if all(t is not None for t in texts[id(it)]):
                            it.finish(texts.pop(id(it)), self.sampling_rate)
                            yield bar.done(it)
        bar.close()

    def translate(self, items: list[Item], progress: bool = False, workers: int = 4) -> list[Item]:
        """Translate items in place (`stream`); returns them, in their order."""
        for _ in self.stream(items, workers=workers, progress=progress):
            pass
        return items


class _Progress:
    """A progress bar over items: files/s, and audio seconds/s in the postfix."""

    def __init__(self, total: int, enabled: bool):
        self.bar = tqdm(total=total, desc="translating", unit="file", disable=not enabled)
        self.audio = 0.0
        self.start = time.perf_counter()

    def done(self, item: Item) -> Item:
        self.audio += item.seconds or 0.0
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        self.bar.set_postfix_str(f"{self.audio / elapsed:.1f} audio-s/s", refresh=False)
        self.bar.update(1)
        return item

    def close(self) -> None:
        self.bar.close()
