"""Acoustic conditions for the synthetic corpus (numpy only, deterministic given the generator).

- `Acoustics`: one recording's settings, drawn by `draw` from `Ranges`: leading and trailing
  silence, peak level, simple room reverberation (an exponentially decaying noise impulse
  response with a given RT60, mixed with the dry signal) and additive white, pink or brown noise
  at a given SNR. `apply` renders them onto a clean waveform.
- `nonspeech`: clips with no speech (silence, noise, tones, sweeps, hum, beeps), whose translation
  is the empty string.

Everything draws from a `numpy.random.Generator` passed in, so a corpus rebuilds bit-identically
from its seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

SAMPLE_RATE = 16_000
NOISES = ("white", "pink", "brown")
NONSPEECH_KINDS = ("silence", "noise", "tone", "chord", "sweep", "hum", "beeps")


@dataclasses.dataclass(frozen=True)
class Ranges:
    """Uniform ranges (lo, hi) of each acoustic setting; `reverb_prob` of recordings get a room."""

    snr_db: tuple[float, float] = (5.0, 40.0)
    peak_db: tuple[float, float] = (-24.0, -1.0)
    pad_s: tuple[float, float] = (0.05, 0.8)
    rt60_s: tuple[float, float] = (0.15, 0.8)
    wet: tuple[float, float] = (0.1, 0.6)
    reverb_prob: float = 0.4


@dataclasses.dataclass(frozen=True)
class Acoustics:
    """One recording's conditions (rt60_s 0: no reverberation)."""

    pad_s: tuple[float, float]
    peak_db: float
    rt60_s: float
    wet: float
    noise: str
    snr_db: float


def draw(rng: np.random.Generator, r: Ranges) -> Acoustics:
    """Settings for one recording, drawn from `r` (always the same number of draws)."""
    pad = (round(float(rng.uniform(*r.pad_s)), 3), round(float(rng.uniform(*r.pad_s)), 3))
    peak = round(float(rng.uniform(*r.peak_db)), 1)
    room = bool(rng.random() < r.reverb_prob)
    rt60 = round(float(rng.uniform(*r.rt60_s)), 2)
    wet = round(float(rng.uniform(*r.wet)), 2)
    noise = str(rng.choice(NOISES))
    snr = round(float(rng.uniform(*r.snr_db)), 1)
    return Acoustics(pad, peak, rt60 if room else 0.0, wet if room else 0.0, noise, snr)


def colored_noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    """Unit-variance white, pink (1/f power) or brown (1/f^2) noise `[n]`."""
    white = rng.standard_normal(n)
    if color == "white" or n < 2:
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    shaped = np.fft.irfft(spectrum / (np.sqrt(freqs) if color == "pink" else freqs), n)
    return shaped / (shaped.std() + 1e-12)


def reverberate(rng: np.random.Generator, audio: np.ndarray, rt60_s: float, wet: float) -> np.ndarray:
    """`audio` in a simple room: dry + `wet` x (audio convolved with decaying noise, RT60 `rt60_s`),
    the tail cut to the input's length (the trailing pad leaves room for it)."""
    n = max(int(rt60_s * SAMPLE_RATE), 2)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60_s
    ir /= np.sqrt(np.sum(ir**2)) + 1e-12
    size = 1 << int(np.ceil(np.log2(audio.size + n)))
    tail = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(ir, size), size)[: audio.size]
    return (1.0 - wet) * audio + wet * tail * (np.abs(audio).max() / (np.abs(tail).max() + 1e-12))


def apply(rng: np.random.Generator, audio: np.ndarray, a: Acoustics) -> np.ndarray:
    """`audio` (16 kHz float) padded, reverberated, scaled to its peak level and mixed with noise
    at the SNR (relative to the active speech's power); clipped to +-0.99. float32."""
    lead, tail = (int(p * SAMPLE_RATE) for p in a.pad_s)
    x = np.concatenate([np.zeros(lead), np.asarray(audio, np.float64), np.zeros(tail)])
    if a.rt60_s > 0:
        x = reverberate(rng, x, a.rt60_s, a.wet)
    peak = float(np.abs(x).max())
    if peak > 0:
        x *= 10 ** (a.peak_db / 20) / peak
    active = x[np.abs(x) > 0.02 * max(float(np.abs(x).max()), 1e-9)]
    power = float(np.mean(active**2)) if active.size else 0.0
    x = x + colored_noise(rng, x.size, a.noise) * np.sqrt(power / 10 ** (a.snr_db / 10))
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def nonspeech(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    """A clip with no speech, float32 `[seconds * 16000]`, peak level -30..-3 dBFS (silence:
    a faint dither at -70..-50 dB): one of `NONSPEECH_KINDS`."""
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "silence":
        return (colored_noise(rng, n, "white") * 10 ** (rng.uniform(-70, -50) / 20)).astype(np.float32)
    if kind == "noise":
        x = colored_noise(rng, n, str(rng.choice(NOISES)))
    elif kind == "tone":
        x = np.sin(2 * np.pi * rng.uniform(100, 3000) * t)
    elif kind == "chord":
        x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / (i + 1)
                for i, f in enumerate(rng.uniform(150, 1200) * np.array([1.0, 1.25, 1.5, 2.0])))
    elif kind == "sweep":
        f0, f1 = rng.uniform(100, 4000, size=2)
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * max(seconds, 1e-3))))
    elif kind == "hum":
        base = float(rng.choice([50.0, 60.0]))
        x = sum(np.sin(2 * np.pi * base * k * t) / k for k in range(1, 6))
        x = x + 0.1 * colored_noise(rng, n, "pink")
    elif kind == "beeps":
        period, on = rng.uniform(0.2, 1.0), rng.uniform(0.05, 0.2)
        x = np.sin(2 * np.pi * rng.uniform(400, 2500) * t) * ((t % period) < on)
    else:
        raise ValueError(f"unknown non-speech kind {kind!r}; expected one of {NONSPEECH_KINDS}")
    x = np.asarray(x, np.float64)
    x *= 10 ** (rng.uniform(-30, -3) / 20) / (np.abs(x).max() + 1e-12)
    return x.astype(np.float32)
