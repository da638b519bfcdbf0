"""Make a synthetic English→German speech-translation corpus: grammar sentences spoken by espeak-ng.

Sentences come from ``examples/grammar.py`` (numbers, clock times, dates, prices and everyday
phrases, each with its German translation; see its docstring for the number conventions). Each
English sentence is spoken by ``espeak-ng`` with a random English voice and variant, speed and
pitch, resampled to 16 kHz mono (soxr), padded with a little silence, scaled, mixed with white or
pink noise at a random SNR, and written as 16-bit PCM WAV.

Layout of ``OUT``::

    train.jsonl dev.jsonl test.jsonl     one {"audio", "text", "source", ...} object per line
    audio/<split>/<index>-<take>.wav     paths in the manifests are relative to OUT
    corpus.json                          settings and summary

``text`` is the German target, ``source`` the English sentence; the extra keys ``category``,
``voice``, ``speed``, ``pitch``, ``snr_db`` and ``duration`` describe the recording. Splits never
share a sentence (English or German): sentences are drawn distinct, then the first ``--test`` go to
test, the next ``--dev`` to dev and the rest to train, so test and dev do not change when only
``--train`` grows. Everything is deterministic given ``--seed`` (and the espeak-ng version), also
with ``--jobs`` > 1.

Needs the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``; macOS:
``brew install espeak-ng``).

Example::

    python examples/make_corpus.py data/s2t2-synth --train 20000 --dev 500 --test 500 --jobs 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import wave
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grammar  # noqa: E402

SAMPLE_RATE = 16_000
SPLITS = ("train", "dev", "test")
# espeak-ng's own English voices (the mbrola "mb-*" voices need extra packages).
DEFAULT_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# Voice variants (timbre): male, female and klatt-synthesiser ones; "" is the voice's default.
DEFAULT_VARIANTS = (
    "",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
)
INSTALL_HINT = (
    "espeak-ng is not installed (or not on PATH). Install it with `apt-get install espeak-ng` "
    "(Debian/Ubuntu) or `brew install espeak-ng` (macOS)."
)


@dataclasses.dataclass(frozen=True)
class Utterance:
    """Everything needed to render one recording (picklable, for worker processes)."""

    split: str
    index: int
    take: int
    source: str
    text: str
    category: str
    voice: str
    speed: int
    pitch: int
    snr_db: float
    noise: str  # "white" or "pink"
    peak_db: float
    pad_s: tuple[float, float]
    seed: tuple[int, ...]

    @property
    def relpath(self) -> str:
        return f"audio/{self.split}/{self.index:06d}-{self.take}.wav"


def espeak_version() -> str:
    """The ``espeak-ng --version`` line; raises RuntimeError with install help if it is missing."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    return out.strip()


def _read_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Parse espeak-ng's streamed WAV (its size fields are placeholders): int16 mono -> float32."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError("espeak-ng did not write a WAV stream")
    pos = 12
    rate = 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            channels = int.from_bytes(data[pos + 10 : pos + 12], "little")
            rate = int.from_bytes(data[pos + 12 : pos + 16], "little")
            bits = int.from_bytes(data[pos + 22 : pos + 24], "little")
            if channels != 1 or bits != 16:
                raise RuntimeError(f"unexpected espeak-ng format: {channels} channels, {bits} bits")
        elif chunk == b"data":
            body = data[pos + 8 :]
            body = body[: len(body) // 2 * 2]
            return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0, rate
        pos += 8 + size
    raise RuntimeError("no data chunk in espeak-ng output")


def synthesize(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng; returns float32 samples and espeak's sample rate."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    proc = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace')}")
    return _read_wav_bytes(proc.stdout)


def _noise(rng: np.random.Generator, n: int, color: str) -> np.ndarray:
    white = rng.standard_normal(n)
    if color == "white" or n < 2:
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return pink / (pink.std() + 1e-12)


def render(u: Utterance) -> np.ndarray:
    """The final 16 kHz float32 waveform of one utterance."""
    audio, rate = synthesize(u.source, u.voice, u.speed, u.pitch)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    rng = np.random.default_rng(list(u.seed))
    lead, tail = (int(p * SAMPLE_RATE) for p in u.pad_s)
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    peak = float(np.abs(audio).max())
    if peak > 0:
        audio *= 10 ** (u.peak_db / 20) / peak
    active = audio[np.abs(audio) > 0.02 * max(float(np.abs(audio).max()), 1e-9)]
    speech_power = float(np.mean(active**2)) if active.size else 0.0
    noise = _noise(rng, audio.size, u.noise)
    noise *= np.sqrt(speech_power / 10 ** (u.snr_db / 10))
    mixed = audio + noise.astype(np.float32)
    peak = float(np.abs(mixed).max())
    if peak > 0.99:
        mixed *= 0.99 / peak
    return mixed.astype(np.float32)


def _write_wav(path: Path, audio: np.ndarray) -> None:
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())


def _work(args: tuple[Utterance, str]) -> tuple[str, int]:
    u, out_dir = args
    audio = render(u)
    path = Path(out_dir) / u.relpath
    _write_wav(path, audio)
    return u.relpath, audio.size


def plan(
    sentences: Sequence[tuple[str, str, str]],
    sizes: dict[str, int],
    seed: int,
    takes: int,
    voices: Sequence[str],
    variants: Sequence[str],
    speed: tuple[int, int],
    pitch: tuple[int, int],
    snr: tuple[float, float],
) -> list[Utterance]:
    """Assign sentences to splits (test, dev, then train) and draw each recording's settings."""
    utts: list[Utterance] = []
    start = 0
    for split_id, split in enumerate(("test", "dev", "train")):
        chunk = sentences[start : start + sizes[split]]
        start += sizes[split]
        for index, (source, text, category) in enumerate(chunk):
            for take in range(takes):
                key = (seed, split_id, index, take)
                rng = np.random.default_rng(list(key))
                voice = str(rng.choice(list(voices)))
                variant = str(rng.choice(list(variants)))
                utts.append(
                    Utterance(
                        split=split,
                        index=index,
                        take=take,
                        source=source,
                        text=text,
                        category=category,
                        voice=f"{voice}+{variant}" if variant else voice,
                        speed=int(rng.integers(speed[0], speed[1] + 1)),
                        pitch=int(rng.integers(pitch[0], pitch[1] + 1)),
                        snr_db=round(float(rng.uniform(*snr)), 1),
                        noise=str(rng.choice(["white", "pink"])),
                        peak_db=round(float(rng.uniform(-12.0, -2.0)), 1),
                        pad_s=(
                            round(float(rng.uniform(0.05, 0.4)), 3),
                            round(float(rng.uniform(0.05, 0.4)), 3),
                        ),
                        seed=(*key, 1),
                    )
                )
    return utts


def _range(text: str, kind: type) -> tuple:
    lo, _, hi = text.partition(":")
    return kind(lo), kind(hi or lo)


def _words(text: str) -> list[str]:
    return [w.strip(".,!?;:") for w in text.split() if w.strip(".,!?;:")]


def make_corpus(
    out: str | os.PathLike[str],
    *,
    train: int,
    dev: int,
    test: int,
    seed: int = 0,
    takes: int = 1,
    jobs: int = 1,
    style: str = "mixed",
    voices: Sequence[str] = DEFAULT_VOICES,
    variants: Sequence[str] = DEFAULT_VARIANTS,
    speed: tuple[int, int] = (140, 190),
    pitch: tuple[int, int] = (35, 65),
    snr: tuple[float, float] = (20.0, 35.0),
    overwrite: bool = False,
    log: bool = True,
) -> dict:
    """Build the corpus in ``out``; returns the summary written to ``corpus.json``."""
    t0 = time.perf_counter()
    version = espeak_version()
    out_dir = Path(out)
    if not overwrite and any((out_dir / f"{s}.jsonl").exists() for s in SPLITS):
        raise FileExistsError(f"{out_dir} already has manifests; pass --overwrite to replace them")
    sizes = {"train": train, "dev": dev, "test": test}
    if min(sizes.values()) < 0 or takes < 1 or jobs < 1:
        raise ValueError("sizes must be >= 0, takes and jobs >= 1")
    total = train + dev + test
    sentences = grammar.generate(total, seed, style)
    if len(sentences) < total:
        raise RuntimeError(f"the grammar gave only {len(sentences)} distinct sentences of {total} asked")
    utts = plan(sentences, sizes, seed, takes, voices, variants, speed, pitch, snr)
    for split in SPLITS:
        (out_dir / "audio" / split).mkdir(parents=True, exist_ok=True)

    def results() -> Iterator[tuple[str, int]]:
        work = [(u, str(out_dir)) for u in utts]
        if jobs == 1:
            yield from map(_work, work)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                yield from pool.map(_work, work, chunksize=8)

    samples: dict[str, int] = Counter()
    files = {s: open(out_dir / f"{s}.jsonl", "w", encoding="utf-8") for s in SPLITS}
    try:
        for n, (u, (relpath, n_samples)) in enumerate(zip(utts, results(), strict=True), start=1):
            samples[u.split] += n_samples
            row = {
                "audio": relpath,
                "text": u.text,
                "source": u.source,
                "category": u.category,
                "voice": u.voice,
                "speed": u.speed,
                "pitch": u.pitch,
                "snr_db": u.snr_db,
                "duration": round(n_samples / SAMPLE_RATE, 3),
            }
            files[u.split].write(json.dumps(row, ensure_ascii=False) + "\n")
            if log and (n % 500 == 0 or n == len(utts)):
                print(f"  {n}/{len(utts)} utterances", file=sys.stderr, flush=True)
    finally:
        for f in files.values():
            f.close()

    by_split = {s: [u for u in utts if u.split == s and u.take == 0] for s in SPLITS}
    vocab = {s: {w for u in by_split[s] for w in _words(u.text)} for s in SPLITS}
    all_vocab = set().union(*vocab.values())
    summary = {
        "seed": seed,
        "style": style,
        "takes": takes,
        "espeak_ng": version,
        "voices": list(voices),
        "variants": list(variants),
        "speed": list(speed),
        "pitch": list(pitch),
        "snr_db": list(snr),
        "sample_rate": SAMPLE_RATE,
        "sentences": {s: len(by_split[s]) for s in SPLITS},
        "utterances": {s: len(by_split[s]) * takes for s in SPLITS},
        "hours": {s: round(samples[s] / SAMPLE_RATE / 3600, 4) for s in SPLITS},
        "categories": dict(Counter(u.category for s in SPLITS for u in by_split[s]).most_common()),
        "german_vocab": len(all_vocab),
        "german_vocab_by_split": {s: len(vocab[s]) for s in SPLITS},
        "german_oov_vs_train": {s: len(vocab[s] - vocab["train"]) for s in ("dev", "test")},
        "english_vocab": len({w.lower() for u in utts for w in _words(u.source)}),
        "seconds_to_build": round(time.perf_counter() - t0, 1),
        "jobs": jobs,
    }
    (out_dir / "corpus.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary


def _print_summary(out: str, s: dict) -> None:
    hours = sum(s["hours"].values())
    print(f"corpus in {out} ({s['espeak_ng'].split('  ')[0]})")
    for split in SPLITS:
        print(
            f"  {split:5s}: {s['sentences'][split]:6d} sentences, {s['utterances'][split]:6d} utterances, "
            f"{s['hours'][split]:.3f} h, {s['german_vocab_by_split'][split]} German words"
        )
    print(
        f"  total: {hours:.3f} h of 16 kHz audio; German vocabulary {s['german_vocab']} words "
        f"(dev/test words unseen in train: {s['german_oov_vs_train']['dev']}/"
        f"{s['german_oov_vs_train']['test']}); English vocabulary {s['english_vocab']} words"
    )
    print("  categories: " + ", ".join(f"{k} {v}" for k, v in s["categories"].items()))
    n = sum(s["utterances"].values())
    rate = s["seconds_to_build"] / max(n, 1)
    print(
        f"  built in {s['seconds_to_build']:.1f} s with --jobs {s['jobs']} "
        f"({rate * 1000:.0f} ms per utterance)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("out", help="output folder")
    p.add_argument("--train", type=int, default=1000, help="training sentences (default 1000)")
    p.add_argument("--dev", type=int, default=100, help="dev sentences (default 100)")
    p.add_argument("--test", type=int, default=100, help="test sentences (default 100)")
    p.add_argument("--takes", type=int, default=1, help="recordings per sentence, each with other settings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="parallel synthesis processes (default 1)")
    p.add_argument(
        "--style",
        choices=grammar.STYLES,
        default="mixed",
        help="German numbers: 'mixed' (words up to 12, digits above) or 'words'",
    )
    p.add_argument("--voices", default=",".join(DEFAULT_VOICES), help="comma-separated espeak-ng voices")
    p.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="comma-separated espeak-ng variants ('' = default; e.g. ',m3,f2,klatt')",
    )
    p.add_argument("--speed", default="140:190", help="words per minute, LO:HI (default 140:190)")
    p.add_argument("--pitch", default="35:65", help="espeak pitch 0-99, LO:HI (default 35:65)")
    p.add_argument("--snr", default="20:35", help="noise SNR in dB, LO:HI (default 20:35)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing corpus in OUT")
    args = p.parse_args(argv)
    try:
        summary = make_corpus(
            args.out,
            train=args.train,
            dev=args.dev,
            test=args.test,
            seed=args.seed,
            takes=args.takes,
            jobs=args.jobs,
            style=args.style,
            voices=[v for v in args.voices.split(",") if v],
            variants=args.variants.split(","),
            speed=_range(args.speed, int),
            pitch=_range(args.pitch, int),
            snr=_range(args.snr, float),
            overwrite=args.overwrite,
        )
    except (RuntimeError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _print_summary(args.out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
