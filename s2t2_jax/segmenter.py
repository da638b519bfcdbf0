"""Split long recordings at pauses: an energy voice-activity detector in numpy.

`find_segments` returns the `(start, end)` sample ranges of speech in a waveform, each at most
`max_samples` long (the model's largest bucket), in order, never overlapping. Only pauses are
dropped: leading and trailing silence is trimmed and every pause of at least `min_silence` seconds
ends a segment; a segment keeps `pad` seconds of its surrounding silence on each side (the model
was trained on utterances with some silence around them). A stretch of speech longer than the
maximum with no such pause is cut at its quietest point (over 100 ms) in the last `search`
seconds before the limit; the pieces meet there, so no sample is lost or repeated.

Detection: the power of 10 ms frames (DC removed), smoothed over 30 ms, against a threshold
adapted to the file's own energy distribution: the noise floor is its 10th percentile (but never
below `ABS_FLOOR_DB`), the speech level its 99th, and a frame is speech when it is more than
`THRESHOLD_FRACTION` of the way (in dB) from the floor to the speech level. A file whose speech
level is less than `MIN_RANGE_DB` above its floor has no speech-like modulation and gives no
segments: pure silence, silence or noise quieter than `ABS_FLOOR_DB`, and stationary noise
(hiss, hum, a steady tone) at any level. Bursts shorter than `min_speech` seconds between pauses
(clicks) are dropped with the silence.

Why energy in numpy, not a library: the model needs pause boundaries, not phonetic detail, and
read speech (the default model's domain) or talks have pauses tens of dB below speech. webrtcvad
is a C extension with fixed 10-30 ms frame and rate constraints and unmaintained wheels; Silero
VAD and pyannote need torch or onnxruntime, a heavy runtime dependency the library does not
otherwise have. This costs a few passes over the audio in blocks of bounded memory: about 5 ms
per minute of audio on a 2-core CPU (an hour in about 0.3 s).
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.01
ABS_FLOOR_DB = -60.0  # dBFS of a frame's power: quieter is never speech
MIN_RANGE_DB = 10.0  # speech level over the floor below which a file has no speech
THRESHOLD_FRACTION = 0.3  # where, from floor to speech level (dB), speech starts
_BLOCK_FRAMES = 1 << 14  # frames per block of the power computation (bounded memory)


def frame_power_db(x: np.ndarray, hop: int) -> np.ndarray:
    """Power (dB, DC removed) of consecutive `hop`-sample frames of `x` [L] -> [ceil(L / hop)]
    (the last frame may be shorter)."""
    n = -(-len(x) // hop)
    power = np.empty(n, np.float64)
    for f0 in range(0, n, _BLOCK_FRAMES):
        f1 = min(n, f0 + _BLOCK_FRAMES)
        block = np.asarray(x[f0 * hop:f1 * hop], np.float64)
        full = len(block) // hop
        power[f0:f0 + full] = block[:full * hop].reshape(full, hop).var(axis=1)
        if f0 + full < f1:  # the last, shorter frame
            power[f0 + full] = block[full * hop:].var()
    return 10.0 * np.log10(power + 1e-12)


def _smooth(db: np.ndarray, width: int) -> np.ndarray:
    """A centred moving average of `width` frames, in power (returned in dB)."""
    if width <= 1 or len(db) < 2:
        return db
    power = 10.0 ** (db / 10.0)
    kernel = np.ones(width) / width
    edge = np.convolve(np.ones(len(db)), kernel, "same")  # fewer frames at the ends
    return 10.0 * np.log10(np.convolve(power, kernel, "same") / edge + 1e-12)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open `(start, end)` index ranges of the True runs of a boolean [N] array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def speech_frames(db: np.ndarray) -> np.ndarray:
    """Which frames are speech [N] bool, given their smoothed power in dB [N] (see the module
    docstring for the adaptive threshold); all False when the file has no speech-like range."""
    if len(db) == 0:
        return np.zeros(0, bool)
    floor = max(float(np.percentile(db, 10)), ABS_FLOOR_DB)
    loud = float(np.percentile(db, 99))
    if loud - floor < MIN_RANGE_DB:
        return np.zeros(len(db), bool)
    return db > floor + THRESHOLD_FRACTION * (loud - floor)


def _cut(quiet: np.ndarray, start: int, end: int, max_samples: int, hop: int, search: int,
         min_piece: int) -> int:
    """Where to cut the too-long range [start, end): the start of the quietest frame (`quiet`:
    frame power smoothed over 100 ms) in the `search` samples before `start + max_samples`,
    leaving at least `min_piece` samples after it."""
    hi = min(start + max_samples, end - min_piece)
    lo = max(start + max_samples - search, start + max_samples // 2)
    f_lo, f_hi = -(-lo // hop), hi // hop  # frames whose start lies in [lo, hi]
    if f_hi < f_lo:
        return hi
    return (f_lo + int(np.argmin(quiet[f_lo:f_hi + 1]))) * hop


def find_segments(x: np.ndarray, sampling_rate: int, max_samples: int, *,
                  min_silence: float = 0.4, pad: float = 0.2, min_speech: float = 0.1,
                  search: float = 5.0) -> list[tuple[int, int]]:
    """The speech segments of a waveform, split at pauses.

    Args:
      x: mono audio [L].
      sampling_rate: its rate in Hz.
      max_samples: the longest segment (e.g. the largest bucket); at least half a second.
      min_silence: a pause this long (seconds) or longer ends a segment.
      pad: seconds of silence kept on each side of speech (less where two segments would meet).
      min_speech: bursts shorter than this (seconds) between pauses are dropped.
      search: a stretch longer than `max_samples` without a pause is cut at its quietest point
        within this many seconds before the limit.

    Returns:
      `[(start, end)]` half-open sample ranges, in order, not overlapping, each of at most
      `max_samples` and at least `min_speech` seconds; `[]` for silence or stationary noise.
    """
    if max_samples < sampling_rate // 2:
        raise ValueError(f"segments must be allowed at least 0.5 s, got {max_samples} samples "
                         f"({max_samples / sampling_rate:g} s)")
    hop = max(1, round(FRAME_SECONDS * sampling_rate))
    db = frame_power_db(x, hop)
    frames = _runs(speech_frames(_smooth(db, 3)))
    gap, shortest = round(min_silence / FRAME_SECONDS), round(min_speech / FRAME_SECONDS)
    merged: list[list[int]] = []
    for s, e in frames:
        if merged and s - merged[-1][1] < gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    merged = [r for r in merged if r[1] - r[0] >= shortest]
    n, pad_n = len(x), round(pad * sampling_rate)
    spans = []
    for i, (s, e) in enumerate(merged):
        lo = 0 if i == 0 else (merged[i - 1][1] + s) * hop // 2  # half-way to the neighbour
        hi = n if i == len(merged) - 1 else (e + merged[i + 1][0]) * hop // 2
        spans.append((max(s * hop - pad_n, lo), min(e * hop + pad_n, hi, n)))
    out: list[tuple[int, int]] = []
    quiet = None
    for s, e in spans:
        while e - s > max_samples:
            if quiet is None:
                quiet = _smooth(db, round(0.1 / FRAME_SECONDS))
            c = _cut(quiet, s, e, max_samples, hop, round(search * sampling_rate),
                     min(sampling_rate, (e - s) // 4))
            out.append((s, c))
            s = c
        out.append((s, e))
    return out
