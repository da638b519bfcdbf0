"""Audio input: read files (soundfile), downmix, resample (soxr), validate.

Every problem with the input raises :class:`AudioError` (a ValueError) whose message names the
file (or "<array>") and the problem. Shapes: N samples, C channels.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

TARGET_SAMPLING_RATE = 16000


class AudioError(ValueError):
    """Unusable audio input (missing, unreadable, empty, too short, non-finite, wrong shape)."""


def resample(x: np.ndarray, orig_sr: int, target_sr: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample ``x`` ([N] or [N, C]) from ``orig_sr`` to ``target_sr`` Hz with soxr.

    Returns float32 with about ``N * target_sr / orig_sr`` samples (a copy-free float32 view of
    ``x`` when the rates are equal). ``quality``: soxr's "HQ" (default) or "VHQ".
    """
    for name, rate in (("orig_sr", orig_sr), ("target_sr", target_sr)):
        if int(rate) != rate or rate <= 0:
            raise ValueError(f"{name} must be a positive integer rate in Hz, got {rate}")
    if quality not in ("HQ", "VHQ"):
        raise ValueError(f"quality must be 'HQ' or 'VHQ', got {quality!r}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected [samples] or [samples, channels], got shape {x.shape}")
    if orig_sr == target_sr or x.shape[0] == 0:
        return x
    return np.asarray(soxr.resample(x, int(orig_sr), int(target_sr), quality=quality), np.float32)


def _pcm_to_float(x: np.ndarray, source: str) -> np.ndarray:
    """Integer PCM to float32 in [-1, 1) (as soundfile does); float arrays are cast to float32."""
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32, copy=False)
    if x.dtype == np.uint8:  # 8-bit WAV is offset binary
        return (x.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.signedinteger):
        return (x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))).astype(np.float32)
    raise AudioError(f"{source}: unsupported sample type {x.dtype} (use float or signed int PCM)")


def _downmix(x: np.ndarray, source: str) -> np.ndarray:
    """[N] stays; [N, C] is averaged over channels; anything else raises AudioError."""
    if x.ndim == 1:
        return x
    if x.ndim == 2:
        if x.shape[1] > x.shape[0]:
            raise AudioError(
                f"{source}: 2-D audio must be [samples, channels], got shape {x.shape} "
                "(more channels than samples; transpose it?)"
            )
        return x.mean(axis=1, dtype=np.float32)
    raise AudioError(
        f"{source}: expected mono [samples] or [samples, channels] audio, got a {x.ndim}-D "
        f"array of shape {x.shape}"
    )


def check_audio(
    x: Any,
    sampling_rate: int = TARGET_SAMPLING_RATE,
    min_samples: int = 1,
    *,
    source: str = "<array>",
) -> np.ndarray:
    """Validate a waveform and return it as float32 mono ``[N]``.

    Args:
        x: ``[N]`` or ``[N, C]`` (averaged to mono); float, or integer PCM (scaled to [-1, 1)).
        sampling_rate: rate of ``x`` in Hz (only used to report durations).
        min_samples: fewest samples accepted (the model's minimum is its own property:
            ``s2t2_jax.encoder.min_input_samples``).
        source: what to call the input in error messages (a file path for ``load_audio``).

    Raises:
        AudioError: empty, non-finite, too short, or not 1-D after downmix.
    """
    x = np.asarray(x)
    if x.ndim == 0:
        raise AudioError(f"{source}: expected an audio array, got a scalar")
    x = _downmix(_pcm_to_float(x, source), source)
    n = x.shape[0]
    if n == 0:
        raise AudioError(f"{source}: audio is empty (0 samples)")
    bad = ~np.isfinite(x)
    if bad.any():
        n_nan = int(np.isnan(x).sum())
        raise AudioError(
            f"{source}: audio contains non-finite samples ({n_nan} NaN, {int(bad.sum()) - n_nan} "
            f"inf; first at sample {int(np.argmax(bad))})"
        )
    if n < min_samples:
        raise AudioError(
            f"{source}: audio too short: {n} samples ({n / sampling_rate:.4f} s at "
            f"{sampling_rate} Hz); minimum is {min_samples} samples "
            f"({min_samples / sampling_rate:.4f} s)"
        )
    return np.ascontiguousarray(x)


def _wav_truncation(path: Path) -> str | None:
    """For RIFF/WAVE files: a message if a chunk (e.g. ``data``) runs past the end of the file.

    libsndfile silently reads what is there, so a cut-off WAV would otherwise pass.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
            return None  # not a plain WAV (RF64 / W64 / other formats): leave it to libsndfile
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
            if chunk_id == b"data" and chunk_size in (0, 0xFFFFFFFF):
                return None  # size unknown (streamed): nothing to compare against
            if pos + 8 + chunk_size > size:
                return (
                    f"file is truncated: its {chunk_id.decode('latin-1')!r} chunk declares "
                    f"{chunk_size} bytes but only {size - pos - 8} are present"
                )
            if chunk_id == b"data":
                return None
            pos += 8 + chunk_size + (chunk_size & 1)  # chunks are word aligned
    return None


def load_audio(
    path: str | os.PathLike[str],
    sampling_rate: int = TARGET_SAMPLING_RATE,
    *,
    min_samples: int = 1,
    quality: str = "HQ",
) -> np.ndarray:
    """Read an audio file as float32 mono ``[N]`` at ``sampling_rate`` Hz.

    Any format libsndfile reads (wav, flac, ogg/vorbis/opus, ...), integer or float PCM.
    Channels are averaged; other rates are resampled with soxr (``quality`` "HQ" or "VHQ").
    ``min_samples`` (default: any non-empty audio; pass the model's minimum,
    ``s2t2_jax.encoder.min_input_samples``) is checked after resampling.

    Raises:
        AudioError: missing, empty, unreadable or truncated file; no samples; too short;
            NaN/inf samples. The message names ``path``.
    """
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise AudioError(f"{src}: audio file not found")
    if not path.is_file():
        raise AudioError(f"{src}: not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(f"{src}: file is empty (0 bytes)")
    try:
        data, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as err:
        raise AudioError(f"{src}: cannot read as audio ({err})") from err
    truncated = _wav_truncation(path)
    if truncated is not None:
        raise AudioError(f"{src}: {truncated}")
    if data.shape[0] == 0:
        raise AudioError(f"{src}: audio is empty (0 samples)")
    # [N, C] -> [N]; check finiteness before resampling spreads NaNs everywhere.
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    mono = check_audio(mono, file_sr, min_samples=1, source=src)
    mono = resample(mono, file_sr, sampling_rate, quality=quality)
    return check_audio(mono, sampling_rate, min_samples=min_samples, source=src)
