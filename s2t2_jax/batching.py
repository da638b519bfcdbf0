"""Batched translation of audio files and arrays: inputs, length buckets, devices, chunking.

Inputs are files, folders of them, or manifests (`s2t2_jax.manifest`; only the audio column is
used). They are sorted by length and padded to a small fixed set of bucket lengths, and every
batch is padded to the same batch size, so a whole dataset compiles at most one program per
bucket. Batches are split data-parallel over the local devices (`s2t2_jax.sharding.Layout`).
Results come back in input order; a bad input gives an error record and never stops or loses
the others.
"""

from __future__ import annotations

import dataclasses
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
    audio: np.ndarray | None = None  # [samples] at the model's rate, once loaded
    error: str | None = None
    translation: str | None = None
    score: float | None = None  # `decoding.generate`'s score (chunked audio: the chunks' mean)

    def record(self, sampling_rate: int) -> dict[str, Any]:
        if self.error is not None:
            return {"path": self.name, "error": self.error}
        seconds = 0.0 if self.audio is None else round(len(self.audio) / sampling_rate, 3)
        out = {"path": self.name, "translation": self.translation, "seconds": seconds}
        return out if self.score is None else {**out, "score": round(self.score, 6)}


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
    return items


def _estimated_samples(item: Item, rate: int) -> int:
    """Length at the model's rate, from the file header when not loaded yet (0 if unknown)."""
    if item.audio is not None:
        return len(item.audio)
    try:
        info = sf.info(str(item.path))
        return int(info.frames * rate / info.samplerate)
    except Exception:  # reported properly when the file is loaded
        return 0


def _chunks(x: np.ndarray, size: int, overlap: int) -> list[np.ndarray]:
    """Overlapping windows of `size` samples (the last may be shorter, but never tiny)."""
    step = size - overlap
    starts = list(range(0, max(len(x) - overlap, 1), step))
    return [x[s:s + size] for s in starts]


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
      bucket_seconds: padded lengths; audio longer than the largest is chunked or refused.
      chunk_seconds: split longer audio into overlapping windows of this many seconds
        (None: refuse it with an error record).
      layout: where batches go (default: data parallel over the local devices).
    """

    generate_ids: Callable[[jax.Array, jax.Array], np.ndarray | tuple[np.ndarray, np.ndarray]]
    decode_text: Callable[[np.ndarray], list[str]]
    extract: Callable[..., dict[str, np.ndarray]]
    sampling_rate: int
    min_samples: int
    batch_size: int = 8
    bucket_seconds: Sequence[float] = DEFAULT_BUCKET_SECONDS
    chunk_seconds: float | None = None
    layout: Layout = dataclasses.field(default_factory=lambda: Layout.create(jax.local_devices()))

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        self.batch_size = self.layout.padded_rows(self.batch_size)
        self.buckets = sorted({max(int(s * self.sampling_rate), self.min_samples)
                               for s in self.bucket_seconds})
        if self.chunk_seconds is not None:
            if self.chunk_seconds * self.sampling_rate > self.buckets[-1]:
                raise ValueError(f"chunk_seconds={self.chunk_seconds} exceeds the largest bucket "
                                 f"({self.buckets[-1] / self.sampling_rate:g} s)")
            if self.chunk_seconds <= 1.0:
                raise ValueError(f"chunk_seconds must be > 1 s, got {self.chunk_seconds}")

    def segments(self, item: Item) -> list[np.ndarray]:
        """The waveform(s) an item is translated from: itself, or its chunks."""
        x, limit = item.audio, self.buckets[-1]
        if len(x) <= limit:
            return [x]
        if self.chunk_seconds is None:
            raise AudioError(
                f"{item.name}: {len(x) / self.sampling_rate:.1f} s is longer than the limit of "
                f"{limit / self.sampling_rate:g} s; pass chunk_seconds (--chunk-seconds) to split it"
            )
        size = int(self.chunk_seconds * self.sampling_rate)
        return _chunks(x, size, overlap=min(size // 5, self.sampling_rate))

    def run(self, segments: list[np.ndarray], progress: tqdm | None = None
            ) -> tuple[list[str], list[float | None]]:
        """Texts and scores (None if `generate_ids` gives none) for waveforms, in fixed-shape
        batches of similar lengths."""
        order = sorted(range(len(segments)), key=lambda i: len(segments[i]))
        texts: list[str] = [""] * len(segments)
        scores: list[float | None] = [None] * len(segments)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            rows = [segments[i] for i in idx]
            bucket = pick_bucket(rows, self.buckets)
            rows += [rows[0]] * (self.batch_size - len(rows))  # fixed batch shape
            feats = self.extract(rows, sampling_rate=self.sampling_rate, padding="max_length",
                                 max_length=bucket, return_attention_mask=True)
            feats = self.layout.put_batch(feats)
            ids = self.generate_ids(feats["input_values"], feats["attention_mask"])
            ids, row_scores = ids if isinstance(ids, tuple) else (ids, None)
            for j, (i, text) in enumerate(zip(idx, self.decode_text(ids[:len(idx)]), strict=True)):
                texts[i] = text
                scores[i] = None if row_scores is None else float(row_scores[j])
            if progress is not None:
                progress.update(len(idx))
        return texts, scores

    def translate(self, items: list[Item], progress: bool = False, workers: int = 4) -> list[Item]:
        """Load (in threads), check, chunk and translate items in place; returns them."""
        rate = self.sampling_rate
        todo = [it for it in items if it.error is None]
        todo.sort(key=lambda it: _estimated_samples(it, rate))

        def load(it: Item) -> None:
            try:
                if it.audio is None:
                    it.audio = load_audio(it.path, rate, min_samples=self.min_samples)
                else:
                    it.audio = check_audio(it.audio, rate, self.min_samples, source=it.name)
            except (AudioError, OSError, ValueError) as e:
                it.error = str(e)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(load, todo))
        segs, owners = [], []
        for it in todo:
            if it.error is not None:
                continue
            try:
                parts = self.segments(it)
            except AudioError as e:
                it.error = str(e)
                continue
            segs += parts
            owners += [it] * len(parts)
        bar = tqdm(total=len(segs), desc="translating", unit="seg", disable=not progress)
        texts, scores = self.run(segs, bar)
        bar.close()
        joined: dict[int, list[tuple[str, float | None]]] = {}
        for it, text, score in zip(owners, texts, scores, strict=True):
            joined.setdefault(id(it), []).append((text, score))
        for it in todo:
            if it.error is None:
                parts = joined[id(it)]
                it.translation = " ".join(t for t, _ in parts if t)
                if all(sc is not None for _, sc in parts):
                    it.score = float(np.mean([sc for _, sc in parts]))
        return items

