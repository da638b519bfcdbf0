"""Training data: manifests -> tokenised examples -> length-bucketed, shuffled, prefetched batches.

Manifests (read by `s2t2_jax.manifest`, where the rules are; here every line needs a text):
- `.tsv`: `audio<TAB>text` lines, with an optional header naming the columns (`audio`, `text`,
  optional `source`, any order, extra columns ignored); without a header the first two columns
  are used.
- `.jsonl`: one `{"audio": path, "text": ...}` object per line (optional `"source"`).
`source` is the transcript in the spoken language, used only as the target of the auxiliary CTC
loss (`ctc_alphabet`; see `s2t2_jax.train`).
Relative audio paths are resolved against the manifest's folder. Blank lines are ignored.

Labels are `tokenizer.encode(text) + [eos]` (the reference fine-tuning recipe appends `</s>`).
An empty (or all-space) text is a non-speech example: its labels are `[eos]` alone, so the model
learns to give an empty translation for silence, noise or tones; with CTC its `source` must be
empty too (the CTC target is then all blanks). `load_examples` logs how many it read.
A bad line (malformed, missing/unreadable audio, audio shorter than the encoder's minimum
`encoder.min_input_samples(config.encoder)`, text with no known token, labels longer than the
decoder's positions, audio or labels longer than the largest bucket) is reported with its line
number: `on_error="skip"` drops it (logged, counted in `bad_lines`), `"raise"` stops with a
`DataError` listing every bad line. Audio that turns out unreadable only when a batch is loaded
is handled the same way (skip: the row becomes padding).

Batches have a fixed batch size and padded lengths from small fixed sets (`audio_buckets`
samples, `label_buckets` tokens), so jit compiles few programs: each example goes to the smallest
audio bucket that holds it; each epoch shuffles (seeded by `(seed, epoch)`) within buckets, cuts
batches and shuffles their order. A short last batch per bucket is filled with padding rows
(zero audio, zero mask, labels all -100), which add nothing to the loss. The position
`{"epoch", "index"}` (batches consumed) is saved with checkpoints and restored exactly.

Shape letters: see `s2t2_jax/__init__.py`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from s2t2_jax.audio import AudioError, load_audio
from s2t2_jax.config import ModelConfig
from s2t2_jax.encoder import min_input_samples
from s2t2_jax.features import FeatureExtractor, load_feature_extractor, pick_bucket
from s2t2_jax.manifest import read_manifest

logger = logging.getLogger(__name__)

Batch = dict[str, np.ndarray]
AUDIO_MULTIPLE = 1600  # default audio buckets are multiples of 0.1 s at 16 kHz
LABEL_MULTIPLE = 8


class DataError(ValueError):
    """Bad manifest lines or data (the message lists them with line numbers)."""


@dataclasses.dataclass(frozen=True)
class BadLine:
    manifest: str
    line: int  # 1-based
    reason: str

    def __str__(self) -> str:
        return f"{self.manifest}:{self.line}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Example:
    """One utterance: where it came from, its audio file and tokenised labels (eos included)."""

    manifest: str
    line: int
    audio: str  # absolute path
    text: str
    labels: tuple[int, ...]
    num_samples: int  # at the target rate, from the file header (may differ by a sample or two)
    ctc_labels: tuple[int, ...] = ()  # the source transcript as alphabet indices (1-based; 0 = blank)


# ----------------------------------------------------------------------------- examples


def ctc_text(source: str, alphabet: str) -> str:
    """A transcript as the CTC head learns it: lower-cased, characters outside `alphabet` read as
    spaces, runs of spaces collapsed (spaces dropped if the alphabet has none)."""
    text = " ".join("".join(c if c in alphabet else " " for c in source.lower()).split())
    return text if " " in alphabet else text.replace(" ", "")


def encode_ctc(source: str, alphabet: str) -> tuple[int, ...]:
    """`ctc_text(source)` as CTC targets: index `i + 1` for `alphabet[i]` (0 is the blank)."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    return tuple(index[c] for c in ctc_text(source, alphabet))


def decode_ctc(ids: Sequence[int], alphabet: str) -> str:
    """Greedy CTC decoding of per-frame symbol ids (0 = blank, `i + 1` = `alphabet[i]`): repeats
    merged, blanks dropped."""
    out, prev = [], 0
    for i in ids:
        i = int(i)
        if i != prev and i != 0:
            out.append(alphabet[i - 1])
        prev = i
    return "".join(out)


def _header_samples(path: str, sampling_rate: int) -> int:
    """Samples at `sampling_rate` from the file header (raises AudioError if unreadable)."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        info = sf.info(path)
    except Exception as e:  # soundfile raises several types for unreadable files
        raise AudioError(f"{path}: cannot read as audio ({e})") from e
    if info.frames <= 0:
        raise AudioError(f"{path}: audio is empty (0 samples)")
    return int(math.ceil(info.frames * sampling_rate / info.samplerate))


def load_examples(
    manifest: str | os.PathLike, tokenizer: Any, config: ModelConfig, *, sampling_rate: int = 16000,
    on_error: str = "raise", max_samples: int | None = None, max_labels: int | None = None,
    bad_lines: list[BadLine] | None = None, ctc_alphabet: str | None = None,
) -> list[Example]:
    """Read and check a manifest; see the module docstring for what makes a line bad.

    `on_error`: "raise" (a `DataError` listing every bad line) or "skip" (logged with line
    numbers and a count). `max_samples` / `max_labels`: audio / labels (with `</s>`) longer than
    this are bad (e.g. the largest buckets). `bad_lines`: skipped lines are appended to it.
    `ctc_alphabet`: also encode each line's `source` transcript (`encode_ctc`) as `ctc_labels`;
    a line without one, or whose non-empty source has no character of the alphabet, is bad (an
    empty source is an empty target: non-speech, see the module docstring). Audio shorter
    than `min_input_samples(config.encoder)` (no encoder frame) is bad.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if getattr(tokenizer, "bpe_ranks", True) is None:
        raise DataError("the tokenizer has no merges.txt, so it cannot encode training text")
    eos = tokenizer.eos_token_id
    if eos is None:
        raise DataError("the tokenizer has no eos token to end the labels with")
    unk = tokenizer.unk_token_id
    max_len = config.decoder.max_target_positions
    min_samples = min_input_samples(config.encoder)
    name = str(manifest)
    examples, bad = [], []
    for n, audio, text, source, error in read_manifest(manifest, require_text=True):
        ctc: tuple[int, ...] = ()
        if error is None and ctc_alphabet is not None:
            ctc = encode_ctc(source or "", ctc_alphabet)
            if source is None:
                error = "no source transcript (needed for the CTC loss)"
            elif not ctc and source.strip():
                error = f"source {source[:40]!r} has no character of the CTC alphabet"
            elif not text.strip() and source.strip():
                error = "empty text (non-speech) with a non-empty source transcript"
        if error is None:
            ids = tokenizer.encode(text)
            if text.strip() and (not ids or all(i == unk for i in ids)):
                error = f"text {text[:40]!r} has no known tokens"
            elif len(ids) + 1 > max_len:
                error = (f"labels are {len(ids) + 1} tokens (with </s>); the decoder has "
                         f"{max_len} positions (max_target_positions)")
            elif max_labels is not None and len(ids) + 1 > max_labels:
                error = (f"labels are {len(ids) + 1} tokens (with </s>), longer than the largest "
                         f"label bucket {max_labels}")
        if error is None:
            try:
                samples = _header_samples(audio, sampling_rate)
            except AudioError as e:
                error = str(e)
            else:
                if samples < min_samples:
                    error = (f"{audio}: audio too short ({samples} samples; the model's minimum is "
                             f"{min_samples}, one encoder frame)")
                elif max_samples is not None and samples > max_samples:
                    error = f"{audio}: {samples} samples, longer than the largest bucket {max_samples}"
        if error is not None:
            bad.append(BadLine(name, n, error))
            continue
        examples.append(Example(name, n, audio, text, (*ids, eos), samples, ctc))
    if bad:
        listing = "\n  ".join(str(b) for b in bad[:50]) + (
            f"\n  ... and {len(bad) - 50} more" if len(bad) > 50 else "")
        if on_error == "raise":
            raise DataError(f"{len(bad)} bad line(s) in {name}:\n  {listing}")
        logger.warning("skipping %d bad line(s) of %d in %s:\n  %s",
                       len(bad), len(bad) + len(examples), name, listing)
        if bad_lines is not None:
            bad_lines.extend(bad)
    if not examples:
        raise DataError(f"{name}: no usable examples")
    empty = sum(len(e.labels) == 1 for e in examples)
    if empty:
        logger.info("%s: %d of %d examples have an empty text (non-speech: labels </s> alone)",
                    name, empty, len(examples))
    return examples


# ----------------------------------------------------------------------------- buckets


def default_buckets(lengths: Sequence[int], num: int, multiple: int) -> list[int]:
    """Up to `num` padded lengths (multiples of `multiple`, the largest holding the longest of
    `lengths`) that minimise the total padded length of `lengths`, each padded to the smallest
    bucket that holds it (dynamic programming over the distinct rounded lengths).

    Quantiles do worse on long-tailed data: on a corpus of 3.5 s mean with a 9.7 s tail, 6
    quantile buckets pad to 4.42 s on average, these 6 to 3.98 s."""
    values, counts = np.unique(-(-np.asarray(lengths, np.int64) // multiple) * multiple,
                               return_counts=True)
    c, num = len(values), max(1, min(num, len(values)))
    seen = np.concatenate([[0], np.cumsum(counts)])  # seen[j]: examples of the j shortest values
    # cost[k, j]: least total of the j shortest values' examples in k buckets, the last = values[j-1]
    cost = np.full((num + 1, c + 1), np.inf)
    cost[0, 0] = 0.0
    prev = np.zeros((num + 1, c + 1), np.int64)
    for k in range(1, num + 1):
        for j in range(1, c + 1):
            total = cost[k - 1, :j] + values[j - 1] * (seen[j] - seen[:j])
            prev[k, j] = int(np.argmin(total))
            cost[k, j] = total[prev[k, j]]
    k, j, out = int(np.argmin(cost[1:, c])) + 1, c, []
    while j > 0:
        out.append(int(values[j - 1]))
        j, k = int(prev[k, j]), k - 1
    return sorted(out)


# ----------------------------------------------------------------------------- batches


class BatchLoader:
    """Fixed-size, bucketed, shuffled batches with a resumable position and a prefetch thread.

    Yields `{"input_values": f32 [B, L], "attention_mask": int32 [B, L] (if the feature
    extractor returns one), "labels": int32 [B, T] (-100 = padding), "ctc_labels": int32 [B, Y]
    (0 = padding; only when the examples have `ctc_labels`)}` forever (epoch after epoch)
    when iterated; `one_epoch()` yields one ordered pass (for evaluation, `shuffle=False`).
    `features` None: the default of `features.load_feature_extractor`.
    """

    def __init__(
        self, examples: Sequence[Example], batch_size: int, features: FeatureExtractor | None = None,
        *, seed: int = 0, shuffle: bool = True, audio_buckets: Sequence[int] | None = None,
        label_buckets: Sequence[int] | None = None, num_buckets: int = 6, prefetch: int = 4,
        on_error: str = "raise",
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.examples = list(examples)
        if not self.examples:
            raise DataError("no examples")
        self.batch_size = batch_size
        self.features = features or load_feature_extractor()
        self.seed, self.shuffle, self.prefetch, self.on_error = seed, shuffle, prefetch, on_error
        samples = [e.num_samples for e in self.examples]
        labels = [len(e.labels) for e in self.examples]
        self.audio_buckets = sorted(audio_buckets or default_buckets(samples, num_buckets, AUDIO_MULTIPLE))
        self.label_buckets = sorted(label_buckets or default_buckets(labels, num_buckets, LABEL_MULTIPLE))
        too_long = [e for e in self.examples if e.num_samples > self.audio_buckets[-1]
                    or len(e.labels) > self.label_buckets[-1]]
        if too_long:
            raise DataError("examples longer than the largest bucket: " + "; ".join(
                f"{e.manifest}:{e.line}" for e in too_long[:20]))
        self._bucket = [pick_bucket(n, self.audio_buckets) for n in samples]
        # One label length per audio bucket (the label bucket of its longest labels): one compiled
        # program per audio bucket, not one per (audio, label) pair that batches happen to meet.
        longest: dict[int, int] = {}
        for b, n in zip(self._bucket, labels, strict=True):
            longest[b] = max(longest.get(b, 0), n)
        self._label_len = {b: pick_bucket(n, self.label_buckets, unit="tokens")
                           for b, n in longest.items()}
        longest_ctc = max(len(e.ctc_labels) for e in self.examples)
        self.ctc_length = -(-longest_ctc // LABEL_MULTIPLE) * LABEL_MULTIPLE  # one shape; 0: no CTC
        self.num_batches = len(self.epoch_batches(0))
        self.bad_lines: list[BadLine] = []
        self.epoch, self.index = 0, 0
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()

    # -- order

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """Example indices of each batch of `epoch` (deterministic in `(seed, epoch)`)."""
        rng = np.random.default_rng([self.seed, epoch])
        batches = []
        for b in self.audio_buckets:
            idx = np.array([i for i, bb in enumerate(self._bucket) if bb == b], np.int64)
            if self.shuffle:
                idx = rng.permutation(idx)
            batches += [idx[i:i + self.batch_size].tolist() for i in range(0, len(idx), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __len__(self) -> int:
        """Batches per epoch (the same in every epoch)."""
        return self.num_batches

    # -- position

    def state(self) -> dict[str, int]:
        """The position after the batches consumed so far (JSON-able)."""
        return {"epoch": self.epoch, "index": self.index}

    def restore(self, state: dict[str, int]) -> None:
        """Continue from a position returned by `state()`."""
        self._stop_thread()
        self.epoch, self.index = int(state["epoch"]), int(state["index"])

    # -- loading

    def load_batch(self, indices: Sequence[int], texts: bool = False) -> Batch:
        """Load, normalise and pad the examples `indices` (padding rows fill the batch).

        `texts`: also `"texts"`, the reference text of each row (a list; None for padding rows
        and for examples whose audio could not be loaded)."""
        audio_len = max(self._bucket[i] for i in indices)
        label_len = max(self._label_len[self._bucket[i]] for i in indices)
        fe = self.features
        b = self.batch_size
        values = np.zeros((b, audio_len), np.float32)
        mask = np.zeros((b, audio_len), np.int32)
        labels = np.full((b, label_len), -100, np.int32)
        ctc = np.zeros((b, self.ctc_length), np.int32)
        refs: list[str | None] = [None] * b
        for row, i in enumerate(indices):
            ex = self.examples[i]
            try:
                x = load_audio(ex.audio, fe.sampling_rate)  # its length was checked by load_examples
            except AudioError as e:
                bad = BadLine(ex.manifest, ex.line, str(e))
                if self.on_error == "raise":
                    raise DataError(str(bad)) from e
                if bad not in self.bad_lines:  # reported once, not every epoch
                    logger.warning("skipping %s", bad)
                    self.bad_lines.append(bad)
                continue
            x = x[:audio_len]  # the header estimate may be a sample or two short
            out = fe(x, sampling_rate=fe.sampling_rate, padding="max_length", max_length=audio_len,
                     return_attention_mask=True)
            values[row] = out["input_values"][0]
            mask[row] = out["attention_mask"][0]
            labels[row, :len(ex.labels)] = ex.labels
            ctc[row, :len(ex.ctc_labels)] = ex.ctc_labels
            refs[row] = ex.text
        batch = {"input_values": values, "labels": labels}
        if self.ctc_length:
            batch["ctc_labels"] = ctc
        if fe.return_attention_mask:
            batch["attention_mask"] = mask
        if texts:
            batch["texts"] = refs
        return batch

    def _produce(self, epoch: int, index: int, q: queue.Queue, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                batches = self.epoch_batches(epoch)
                while index < len(batches) and not stop.is_set():
                    item = (epoch, index, self.load_batch(batches[index]))
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    index += 1
                epoch, index = epoch + 1, 0
        except BaseException as e:  # handed to the consumer
            while not stop.is_set():
                try:
                    q.put((None, None, e), timeout=0.1)
                    break
                except queue.Full:
                    continue

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self._thread, self._queue = None, None

    def __iter__(self) -> BatchLoader:
        return self

    def __next__(self) -> Batch:
        if self._thread is None:
            if self.index >= self.num_batches:
                self.epoch, self.index = self.epoch + 1, 0
            self._stop = threading.Event()
            self._queue = queue.Queue(maxsize=max(self.prefetch, 1))
            self._thread = threading.Thread(
                target=self._produce, args=(self.epoch, self.index, self._queue, self._stop),
                daemon=True, name="s2t2-batch-prefetch",
            )
            self._thread.start()
        epoch, index, batch = self._queue.get()
        if epoch is None:
            self._thread.join()
            self._thread = None
            raise batch
        self.epoch, self.index = epoch, index + 1
        if self.index >= self.num_batches:
            self.epoch, self.index = epoch + 1, 0
        return batch

    def one_epoch(self, texts: bool = False) -> Iterator[Batch]:
        """One pass over all examples in epoch-0 order, loaded in the calling thread (`texts`:
        with each row's reference text, see `load_batch`)."""
        for indices in self.epoch_batches(0):
            yield self.load_batch(indices, texts)

    def close(self) -> None:
        self._stop_thread()

    def __del__(self) -> None:
        try:
            self._stop_thread()
        except Exception:
            pass
