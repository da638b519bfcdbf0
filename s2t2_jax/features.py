"""Raw-waveform feature extraction, numerically equal to HF ``Wav2Vec2FeatureExtractor``.

Mirrors transformers 4.46.3 ``models/wav2vec2/feature_extraction_wav2vec2.py`` together with
``feature_extraction_sequence_utils.py`` (``pad`` / ``_pad`` / ``_truncate``), with numpy only.
Shapes: B batch, L samples (after padding).

Rules copied from the reference:

* Each item is padded (``padding_side``, ``padding_value``) to the longest item (``padding=True`` /
  ``"longest"``) or to ``max_length`` (``"max_length"``), both rounded up to ``pad_to_multiple_of``;
  items already longer are left alone unless ``truncation=True``.
* Normalisation ``(x - mean) / sqrt(var + 1e-7)`` (population variance, float32) runs per item.
  When padding is active *and* an attention mask is produced, the statistics come from
  ``x[:n]`` with ``n = mask.sum()`` and ``x[n:]`` is reset to ``padding_value`` afterwards (with
  left padding this slices the padded front, exactly as the reference does). Otherwise the whole
  (possibly padded) vector is used and the padding is not reset.

Differences: the result is always stacked numpy arrays (``input_values`` float32 ``[B, L]``,
``attention_mask`` int32 ``[B, L]``), so items of unequal length without padding raise a
ValueError (the reference then returns a ragged list, or raises the same way when asked for
tensors). Inputs are cast to float32 first (the reference also does so for float64; integer
input it normalises in float64). Empty items are rejected instead of producing NaNs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

logger = logging.getLogger(__name__)

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"
# Written as ``feature_extractor_type``, as the reference does (AutoFeatureExtractor needs it).
HF_CLASS_NAME = "Wav2Vec2FeatureExtractor"
_NORM_EPS = 1e-7

PaddingArg = bool | Literal["longest", "max_length", "do_not_pad"]


def _round_up(n: int, multiple: int | None) -> int:
    """``n`` rounded up to ``multiple`` (unchanged if ``multiple`` is None), as the reference."""
    if multiple is None or n % multiple == 0:
        return n
    return (n // multiple + 1) * multiple


def _padding_strategy(padding: PaddingArg, max_length: int | None) -> str:
    """Map the ``padding`` argument to "do_not_pad" | "longest" | "max_length"."""
    if padding is False:
        strategy = "do_not_pad"
    elif padding is True:
        strategy = "longest"
    elif isinstance(padding, str) and padding in ("longest", "max_length", "do_not_pad"):
        strategy = padding
    else:
        raise ValueError(
            f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad'; got {padding!r}"
        )
    if strategy == "max_length" and max_length is None:
        raise ValueError("padding='max_length' needs max_length")
    return strategy


def _lengths_of(lengths_or_batch: int | Sequence[Any] | np.ndarray) -> list[int]:
    """Lengths from an int, a sequence of ints, a list of 1-D arrays or a ``[B, L]`` array."""
    if isinstance(lengths_or_batch, int | np.integer):
        return [int(lengths_or_batch)]
    if isinstance(lengths_or_batch, np.ndarray):
        if lengths_or_batch.ndim == 2:
            return [lengths_or_batch.shape[1]] * lengths_or_batch.shape[0]
        if lengths_or_batch.ndim == 1 and np.issubdtype(lengths_or_batch.dtype, np.integer):
            return [int(n) for n in lengths_or_batch]
        shape = lengths_or_batch.shape
        raise ValueError(f"expected lengths or a [batch, samples] array, got shape {shape}")
    out = []
    for item in lengths_or_batch:
        out.append(int(item) if isinstance(item, int | np.integer) else len(item))
    return out


def pick_bucket(
    lengths_or_batch: int | Sequence[Any] | np.ndarray, buckets: Sequence[int], unit: str = "samples"
) -> int:
    """Smallest bucket >= the longest item (the one bucket picker: features, training batches,
    batched translation).

    Args:
        lengths_or_batch: a length, a sequence of lengths, a list of 1-D arrays or a ``[B, L]``
            array.
        buckets: allowed padded lengths (any order).
        unit: what the lengths count, for the error message.

    Raises:
        ValueError: naming the longest length when no bucket is large enough.
    """
    lengths = _lengths_of(lengths_or_batch)
    if not lengths:
        raise ValueError("cannot pick a bucket for an empty batch")
    if not buckets or any(int(b) <= 0 for b in buckets):
        raise ValueError(f"buckets must be positive lengths, got {list(buckets)}")
    longest = max(lengths)
    fitting = [int(b) for b in buckets if int(b) >= longest]
    if not fitting:
        raise ValueError(
            f"no bucket fits the longest input of {longest} {unit}; largest bucket is "
            f"{max(int(b) for b in buckets)} (buckets: {sorted(int(b) for b in buckets)})"
        )
    return min(fitting)


def _as_batch(raw_speech: Any) -> list[np.ndarray]:
    """The reference's batching rules, returning float32 1-D arrays."""
    if not isinstance(raw_speech, np.ndarray | list | tuple) and hasattr(raw_speech, "__array__"):
        raw_speech = np.asarray(raw_speech)  # jax / torch arrays
    if isinstance(raw_speech, np.ndarray):
        if raw_speech.ndim > 2:
            raise ValueError(
                f"Only mono-channel audio is supported: got an array of shape {raw_speech.shape}"
            )
        if raw_speech.ndim == 0:
            raise ValueError("raw_speech must be 1-D (one utterance) or 2-D (a batch), not 0-D")
        items = list(raw_speech) if raw_speech.ndim == 2 else [raw_speech]
    elif isinstance(raw_speech, list | tuple):
        if len(raw_speech) == 0:
            raise ValueError("raw_speech is empty")
        first = raw_speech[0]
        is_batched = isinstance(first, np.ndarray | list | tuple) or (
            not isinstance(first, int | float | np.number) and hasattr(first, "__array__")
        )
        items = list(raw_speech) if is_batched else [raw_speech]
    else:
        raise TypeError(f"raw_speech must be an array or a list of arrays, got {type(raw_speech)}")

    out = []
    for i, item in enumerate(items):
        arr = np.asarray(item, dtype=np.float32)
        if arr.ndim != 1:
            raise ValueError(f"item {i} must be 1-D mono audio, got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"item {i} has no samples")
        out.append(arr)
    return out


def zero_mean_unit_var_norm(
    values: Sequence[np.ndarray], lengths: Sequence[int] | None, padding_value: float = 0.0
) -> list[np.ndarray]:
    """Reference normalisation of 1-D float32 arrays.

    With ``lengths``: statistics over ``x[:n]``, then ``x[n:] = padding_value``. Without: over
    the whole array.
    """
    if lengths is None:
        return [(x - x.mean()) / np.sqrt(x.var() + _NORM_EPS) for x in values]
    out = []
    for x, n in zip(values, lengths, strict=True):
        y = (x - x[:n].mean()) / np.sqrt(x[:n].var() + _NORM_EPS)
        if n < y.shape[0]:
            y[n:] = padding_value
        out.append(y)
    return out


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    """Settings of ``preprocessor_config.json``; call it on waveforms to get model inputs.

    ``extra`` keeps keys this class does not use (``feature_extractor_type``,
    ``processor_class``, ...) so that they round-trip through ``to_dict`` / ``save_pretrained``;
    it takes no part in ``==`` or ``hash`` (only the fields that change the output do).
    """

    feature_size: int = 1
    sampling_rate: int = 16000
    padding_value: float = 0.0
    do_normalize: bool = True
    return_attention_mask: bool = False
    padding_side: Literal["left", "right"] = "right"
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.feature_size != 1:
            raise ValueError(f"only feature_size=1 is supported, got {self.feature_size}")
        if self.padding_side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {self.padding_side!r}")
        if int(self.sampling_rate) <= 0:
            raise ValueError(f"sampling_rate must be positive, got {self.sampling_rate}")
        object.__setattr__(self, "sampling_rate", int(self.sampling_rate))
        object.__setattr__(self, "padding_value", float(self.padding_value))
        object.__setattr__(self, "extra", dict(self.extra))

    # ------------------------------------------------------------------ config io
    @classmethod
    def from_dict(cls, config: Mapping[str, Any], **overrides: Any) -> FeatureExtractor:
        """Build from a ``preprocessor_config.json`` dict; ``overrides`` win over its values."""
        merged = {**config, **overrides}
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in merged.items() if k in names}
        extra = {k: v for k, v in merged.items() if k not in names}
        return cls(**known, extra=extra)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], **overrides: Any) -> FeatureExtractor:
        """Read ``<path>/preprocessor_config.json`` (or ``path`` itself if it is a file)."""
        path = Path(path)
        file = path / PREPROCESSOR_CONFIG_NAME if path.is_dir() else path
        if not file.is_file():
            raise FileNotFoundError(f"no {PREPROCESSOR_CONFIG_NAME} at {path}")
        with open(file, encoding="utf-8") as f:
            return cls.from_dict(json.load(f), **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The ``preprocessor_config.json`` dict, as the reference writes it."""
        out: dict[str, Any] = dict(self.extra)
        out.setdefault("feature_extractor_type", HF_CLASS_NAME)
        for f in dataclasses.fields(self):
            if f.name != "extra":
                out[f.name] = getattr(self, f.name)
        return out

    def to_json_string(self) -> str:
        """JSON text in the reference's layout (2-space indent, sorted keys)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory: str | os.PathLike[str]) -> Path:
        """Write ``<save_directory>/preprocessor_config.json``; returns its path."""
        save_directory = Path(save_directory)
        if save_directory.is_file():
            raise ValueError(f"{save_directory} is a file, expected a directory")
        save_directory.mkdir(parents=True, exist_ok=True)
        file = save_directory / PREPROCESSOR_CONFIG_NAME
        file.write_text(self.to_json_string(), encoding="utf-8")
        return file

    # ------------------------------------------------------------------ extraction
    def __call__(
        self,
        raw_speech: np.ndarray | Sequence[float] | Sequence[np.ndarray] | Sequence[Sequence[float]],
        sampling_rate: int | None = None,
        padding: PaddingArg = False,
        max_length: int | None = None,
        truncation: bool = False,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        buckets: Sequence[int] | None = None,
    ) -> dict[str, np.ndarray]:
        """Pad and normalise waveforms.

        Args:
            raw_speech: one utterance (1-D array or list of floats) or a batch (2-D array, or a
                list of 1-D arrays / lists), sampled at ``self.sampling_rate``.
            sampling_rate: rate of ``raw_speech``; must equal ``self.sampling_rate`` if given.
            padding: ``False``/"do_not_pad", ``True``/"longest", or "max_length".
            max_length: target length for "max_length", and the limit for ``truncation``.
            truncation: cut items longer than ``max_length`` (rounded up to
                ``pad_to_multiple_of``).
            pad_to_multiple_of: round the padded length up to a multiple of this.
            return_attention_mask: defaults to ``self.return_attention_mask``.
            buckets: pad to the smallest of these lengths that holds the longest item (turns
                padding on, like ``padding="max_length", max_length=bucket``); ValueError if
                none fits.

        Returns:
            ``{"input_values": float32 [B, L]}`` plus ``"attention_mask": int32 [B, L]`` (1 for
            real samples) when enabled.
        """
        self._check_rate(sampling_rate)
        items = _as_batch(raw_speech)
        strategy = _padding_strategy(padding, max_length)
        if return_attention_mask is None:
            return_attention_mask = self.return_attention_mask

        if truncation:
            if max_length is None:
                raise ValueError("truncation=True needs max_length")
            limit = _round_up(max_length, pad_to_multiple_of)
            items = [x[:limit] for x in items]

        if buckets is not None:
            if max_length is not None or strategy == "max_length":
                raise ValueError("use either buckets or max_length, not both")
            strategy, max_length = "max_length", pick_bucket(items, buckets)

        target: int | None = None
        if strategy == "longest":
            target = max(x.shape[0] for x in items)
        elif strategy == "max_length":
            target = max_length
        if target is not None:
            target = _round_up(target, pad_to_multiple_of)

        values, masks = [], []
        for x in items:
            n = x.shape[0]
            diff = target - n if target is not None and n < target else 0
            pad = (0, diff) if self.padding_side == "right" else (diff, 0)
            values.append(np.pad(x, pad, constant_values=np.float32(self.padding_value)))
            masks.append(np.pad(np.ones(n, dtype=np.int32), pad))

        if self.do_normalize:
            use_mask = strategy != "do_not_pad" and return_attention_mask
            lengths = [int(m.sum()) for m in masks] if use_mask else None
            values = zero_mean_unit_var_norm(values, lengths, self.padding_value)

        if len({x.shape[0] for x in values}) > 1:
            raise ValueError(
                f"items have different lengths {[x.shape[0] for x in values]}; pass padding=True "
                "(or 'max_length', or buckets) to batch them"
            )
        out = {"input_values": np.stack(values).astype(np.float32, copy=False)}
        if return_attention_mask:
            out["attention_mask"] = np.stack(masks)
        return out

    def _check_rate(self, sampling_rate: int | None) -> None:
        if sampling_rate is None:
            logger.warning("No sampling_rate given; assuming %d Hz.", self.sampling_rate)
        elif sampling_rate != self.sampling_rate:
            raise ValueError(
                f"audio sampled at {sampling_rate} Hz, but this feature extractor expects "
                f"{self.sampling_rate} Hz; resample first (s2t2_jax.audio.resample)"
            )


def load_feature_extractor(folder: str | os.PathLike[str] | None = None) -> FeatureExtractor:
    """A model folder's feature extractor (its ``preprocessor_config.json``), or the default
    when ``folder`` is None or has no such file: the class defaults (16 kHz, normalised) with an
    attention mask."""
    if folder is not None and (Path(folder) / PREPROCESSOR_CONFIG_NAME).is_file():
        return FeatureExtractor.from_pretrained(folder)
    return FeatureExtractor(return_attention_mask=True)
