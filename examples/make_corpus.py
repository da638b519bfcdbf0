"""Make a synthetic English→German speech-translation corpus spoken by espeak-ng, with test sets.

Sentences come from ``examples/grammar.py`` and ``examples/phrases.py`` (numbers, clock times,
dates, prices and everyday phrases; fragments, commands and compositions; numbers alone), each
with its German translation (see their docstrings for the conventions). Each English sentence is
spoken by ``espeak-ng`` with a random English voice and variant, speed and pitch, resampled to
16 kHz mono (soxr), then given random acoustics (``examples/acoustics.py``: leading and trailing
silence, level, room reverberation, white, pink or brown noise) and written as 16-bit PCM WAV.

Splits (``SPLITS``), each a manifest ``<split>.jsonl``:

- ``train``: grammar and phrase sentences, plus ``--train-numbers`` numbers spoken alone and
  ``--train-nonspeech`` non-speech clips (silence, noise, tones; empty target), training voices.
- ``dev``, ``test``: grammar and phrase sentences (in-grammar), training voices.
- ``heldout``: sentences of ``examples/heldout.py``'s own templates, never used in training, none
  equal to a train/dev/test sentence, spoken with voice variants held out of training
  (``HELDOUT_VARIANTS``), on training accents and two accents held out (``HELDOUT_VOICES``).
- ``numbers``: numbers 0-1000 and ordinals spoken alone, with the held-out voices (the numbers
  themselves also occur in training: there are only so many).
- ``nonspeech``: generated non-speech clips; the right translation is the empty string.

Layout of ``OUT``::

    <split>.jsonl                one {"audio", "text", "source", ...} object per line
    audio/<split>/<index>.wav    paths in the manifests are relative to OUT
    corpus.json                  settings and summary

``text`` is the German target ("" for non-speech), ``source`` the English sentence; the extra
keys ``category``, ``voice``, ``speed``, ``pitch``, ``snr_db``, ``rt60_s`` and ``duration``
describe the recording. Splits never share a sentence except numbers alone: sentences are drawn
distinct, then the first ``--test`` go to test, the next ``--dev`` to dev and the rest to train,
so test and dev do not change when only ``--train`` grows. Everything is deterministic given
``--seed`` (and the espeak-ng version), also with ``--jobs`` > 1. ``--splits`` and ``--limit``
render only some splits, or only the first N of each (the same files as in the whole corpus).

Needs the ``espeak-ng`` program (Debian/Ubuntu: ``apt-get install espeak-ng``; macOS:
``brew install espeak-ng``).

Example::

    python examples/make_corpus.py data/s2t2-synth --jobs 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import random
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
import acoustics  # noqa: E402
import grammar  # noqa: E402
import heldout  # noqa: E402
import phrases  # noqa: E402

SAMPLE_RATE = acoustics.SAMPLE_RATE
SPLITS = ("train", "dev", "test", "heldout", "numbers", "nonspeech")
TEST_SETS = ("test", "heldout", "numbers", "nonspeech")
# The shipped model's corpus (examples/build_default_model.sh uses these defaults).
SIZES = {"train": 24000, "dev": 300, "test": 400, "heldout": 400, "numbers": 400, "nonspeech": 200}
TRAIN_NUMBERS, TRAIN_NONSPEECH = 2500, 800
# espeak-ng's own English voices (the mbrola "mb-*" voices need extra packages).
TRAIN_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
HELDOUT_VOICES = ("en-gb-x-gbclan", "en-gb-x-gbcwmd")
# Voice variants (timbre): "" is the voice's default; each one here sounds different (klatt6 and
# caleb are klatt, so they are left out).
TRAIN_VARIANTS = (
    "", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
    "klatt5", "adam", "anika", "belinda", "benjamin", "boris", "david", "ed", "edward", "grandma", "grandpa",
    "iven", "iven2", "john", "linda", "max", "Michael", "norbert", "pablo", "paul", "quincy", "rob",
    "robert", "steph", "steph2", "zac",
)
HELDOUT_VARIANTS = ("m8", "klatt4", "Annie", "Alex", "Andy", "Lee", "Mike", "shelby", "travis", "victor",
                    "aunty", "sandro", "Denis", "edward2", "steph3", "iven3")
NONSPEECH_SECONDS = (0.4, 5.0)
INSTALL_HINT = (
    "espeak-ng is not installed (or not on PATH). Install it with `apt-get install espeak-ng` "
    "(Debian/Ubuntu) or `brew install espeak-ng` (macOS)."
)


@dataclasses.dataclass(frozen=True)
class Utterance:
    """Everything needed to render one recording (picklable, for worker processes)."""

    split: str
    index: int
    source: str  # "" for non-speech
    text: str
    category: str  # for non-speech "nonspeech:<kind>"
    voice: str
    speed: int
    pitch: int
    acoustics: acoustics.Acoustics | None  # None for non-speech
    seconds: float  # non-speech only
    seed: tuple[int, ...]

    @property
    def relpath(self) -> str:
        return f"audio/{self.split}/{self.index:06d}.wav"


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


def render(u: Utterance) -> np.ndarray:
    """The final 16 kHz float32 waveform of one utterance."""
    rng = np.random.default_rng(list(u.seed))
    if u.acoustics is None:
        return acoustics.nonspeech(rng, u.category.split(":")[1], u.seconds)
    audio, rate = synthesize(u.source, u.voice, u.speed, u.pitch)
    if rate != SAMPLE_RATE:
        audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return acoustics.apply(rng, audio, u.acoustics)


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


@dataclasses.dataclass(frozen=True)
class Voices:
    """Who speaks a split, and how: voices x variants, speed and pitch ranges, acoustics."""

    voices: tuple[str, ...]
    variants: tuple[str, ...]
    speed: tuple[int, int] = (120, 210)
    pitch: tuple[int, int] = (25, 75)
    ranges: acoustics.Ranges = acoustics.Ranges()


def sentences(sizes: dict[str, int], seed: int, style: str, train_numbers: int,
              train_nonspeech: int) -> dict[str, list[tuple[str, str, str]]]:
    """Each split's ``(english, german, category)`` rows (non-speech: ``("", "", "nonspeech:<kind>")``)."""
    total = sizes["test"] + sizes["dev"] + sizes["train"]
    drawn = grammar.generate(total, seed, style, categories=phrases.CATEGORIES)
    if len(drawn) < total:
        raise RuntimeError(f"the grammar gave only {len(drawn)} distinct sentences of {total} asked")
    out = {"test": drawn[: sizes["test"]], "dev": drawn[sizes["test"] : sizes["test"] + sizes["dev"]]}
    out["train"] = drawn[sizes["test"] + sizes["dev"] :]
    out["train"] += phrases.numbers_alone(train_numbers, f"{seed}-train-numbers", style)
    out["train"] += _nonspeech(train_nonspeech, f"{seed}-train-nonspeech")
    seen = {x for en, de, _ in drawn for x in (en, de)}
    out["heldout"] = heldout.generate(sizes["heldout"], f"{seed}-heldout", style, exclude=seen)
    if len(out["heldout"]) < sizes["heldout"]:
        raise RuntimeError(f"the held-out templates gave only {len(out['heldout'])} new sentences")
    out["numbers"] = phrases.numbers_alone(sizes["numbers"], f"{seed}-numbers", style)
    out["nonspeech"] = _nonspeech(sizes["nonspeech"], f"{seed}-nonspeech")
    return out


def _nonspeech(n: int, seed: str) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    return [("", "", "nonspeech:" + rng.choice(acoustics.NONSPEECH_KINDS)) for _ in range(n)]


def plan(rows: dict[str, list[tuple[str, str, str]]], seed: int,
         speakers: dict[str, Voices]) -> list[Utterance]:
    """Each recording's settings, drawn from a generator keyed by ``(seed, split, index)``."""
    utts: list[Utterance] = []
    for split_id, split in enumerate(SPLITS):
        who = speakers[split]
        for index, (source, text, category) in enumerate(rows[split]):
            key = (seed, split_id, index)
            rng = np.random.default_rng(list(key))
            voice, variant = str(rng.choice(who.voices)), str(rng.choice(who.variants))
            speed = int(rng.integers(who.speed[0], who.speed[1] + 1))
            pitch = int(rng.integers(who.pitch[0], who.pitch[1] + 1))
            room = acoustics.draw(rng, who.ranges)
            speech = not category.startswith("nonspeech")
            utts.append(Utterance(
                split=split, index=index, source=source, text=text, category=category,
                voice=(f"{voice}+{variant}" if variant else voice) if speech else "",
                speed=speed if speech else 0, pitch=pitch if speech else 0,
                acoustics=room if speech else None,
                seconds=round(float(rng.uniform(*NONSPEECH_SECONDS)), 2), seed=(*key, 1)))
    return utts


def _range(text: str, kind: type) -> tuple:
    lo, _, hi = text.partition(":")
    return kind(lo), kind(hi or lo)


def _words(text: str) -> list[str]:
    return [w.strip(".,!?;:") for w in text.split() if w.strip(".,!?;:")]


def make_corpus(
    out: str | os.PathLike[str],
    *,
    sizes: dict[str, int] | None = None,
    train_numbers: int = TRAIN_NUMBERS,
    train_nonspeech: int = TRAIN_NONSPEECH,
    seed: int = 0,
    jobs: int = 1,
    style: str = "mixed",
    voices: Sequence[str] = TRAIN_VOICES,
    variants: Sequence[str] = TRAIN_VARIANTS,
    speed: tuple[int, int] = Voices.speed,
    pitch: tuple[int, int] = Voices.pitch,
    splits: Sequence[str] = SPLITS,
    limit: int | None = None,
    overwrite: bool = False,
    log: bool = True,
) -> dict:
    """Build the corpus in ``out`` (``sizes`` per split, missing ones from ``SIZES``; ``splits``
    and ``limit``: render only these splits, and only the first ``limit`` of each); returns the
    summary written to ``corpus.json``."""
    t0 = time.perf_counter()
    version = espeak_version()
    out_dir = Path(out)
    sizes = {**SIZES, **(sizes or {})}
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; expected some of {SPLITS}")
    if not overwrite and any((out_dir / f"{s}.jsonl").exists() for s in SPLITS):
        raise FileExistsError(f"{out_dir} already has manifests; pass --overwrite to replace them")
    if min(sizes.values()) < 0 or min(train_numbers, train_nonspeech) < 0 or jobs < 1:
        raise ValueError("sizes must be >= 0 and jobs >= 1")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    rows = sentences(sizes, seed, style, train_numbers, train_nonspeech)
    train_who = Voices(tuple(voices), tuple(variants), speed, pitch)
    new_who = dataclasses.replace(train_who, voices=tuple(voices) + HELDOUT_VOICES, variants=HELDOUT_VARIANTS)
    speakers = {s: new_who if s in ("heldout", "numbers") else train_who for s in SPLITS}
    utts = [u for u in plan(rows, seed, speakers)
            if u.split in splits and (limit is None or u.index < limit)]
    for split in splits:
        (out_dir / "audio" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / f"{split}.jsonl").unlink(missing_ok=True)

    def results() -> Iterator[tuple[str, int]]:
        work = [(u, str(out_dir)) for u in utts]
        if jobs == 1:
            yield from map(_work, work)
        else:
            # spawn, not fork: a caller may have JAX's threads running (tests, notebooks)
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
                yield from pool.map(_work, work, chunksize=8)

    samples: dict[str, int] = Counter()
    files = {s: open(out_dir / f"{s}.jsonl", "w", encoding="utf-8") for s in splits}
    try:
        for n, (u, (relpath, n_samples)) in enumerate(zip(utts, results(), strict=True), start=1):
            samples[u.split] += n_samples
            a = u.acoustics
            row = {"audio": relpath, "text": u.text, "source": u.source, "category": u.category,
                   "voice": u.voice, "speed": u.speed, "pitch": u.pitch,
                   "snr_db": a.snr_db if a else None, "rt60_s": a.rt60_s if a else None,
                   "duration": round(n_samples / SAMPLE_RATE, 3)}
            files[u.split].write(json.dumps(row, ensure_ascii=False) + "\n")
            if log and (n % 500 == 0 or n == len(utts)):
                print(f"  {n}/{len(utts)} utterances", file=sys.stderr, flush=True)
    finally:
        for f in files.values():
            f.close()

    vocab = {s: {w for _, de, _ in rows[s] for w in _words(de)} for s in SPLITS}
    summary = {
        "seed": seed,
        "style": style,
        "espeak_ng": version,
        "voices": list(voices),
        "variants": list(variants),
        "heldout_voices": list(voices) + list(HELDOUT_VOICES),
        "heldout_variants": list(HELDOUT_VARIANTS),
        "speed": list(speed),
        "pitch": list(pitch),
        "acoustics": dataclasses.asdict(train_who.ranges),
        "sample_rate": SAMPLE_RATE,
        "sizes": sizes,
        "train_numbers": train_numbers,
        "train_nonspeech": train_nonspeech,
        "splits": list(splits),
        "limit": limit,
        "utterances": {s: sum(u.split == s for u in utts) for s in splits},
        "hours": {s: round(samples[s] / SAMPLE_RATE / 3600, 4) for s in splits},
        "categories": {s: dict(Counter(c.split(":")[0] for *_, c in rows[s]).most_common()) for s in SPLITS},
        "german_vocab": len(set().union(*vocab.values())),
        "german_vocab_by_split": {s: len(vocab[s]) for s in SPLITS},
        "german_oov_vs_train": {s: len(vocab[s] - vocab["train"]) for s in ("dev", "test", "heldout")},
        "english_vocab": len({w.lower() for s in SPLITS for en, _, _ in rows[s] for w in _words(en)}),
        "seconds_to_build": round(time.perf_counter() - t0, 1),
        "jobs": jobs,
    }
    (out_dir / "corpus.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary


def _print_summary(out: str, s: dict) -> None:
    print(f"corpus in {out} ({s['espeak_ng'].split('  ')[0]})")
    for split in s["splits"]:
        print(f"  {split:9s}: {s['utterances'][split]:6d} utterances, {s['hours'][split]:.3f} h, "
              f"{s['german_vocab_by_split'][split]} German words")
    oov = s["german_oov_vs_train"]
    print(f"  total: {sum(s['hours'].values()):.3f} h of 16 kHz audio; German vocabulary {s['german_vocab']} "
          f"words (unseen in train: dev {oov['dev']}, test {oov['test']}, heldout {oov['heldout']}); "
          f"English vocabulary {s['english_vocab']} words")
    print("  train categories: " + ", ".join(f"{k} {v}" for k, v in s["categories"]["train"].items()))
    n = sum(s["utterances"].values())
    rate = s["seconds_to_build"] / max(n, 1)
    print(f"  built in {s['seconds_to_build']:.1f} s with --jobs {s['jobs']} "
          f"({rate * 1000:.0f} ms per utterance)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("out", help="output folder")
    for split in SPLITS:
        p.add_argument(f"--{split}", type=int, default=SIZES[split],
                       help=f"{split} sentences or clips (default {SIZES[split]})")
    p.add_argument("--train-numbers", type=int, default=TRAIN_NUMBERS,
                   help=f"numbers spoken alone added to train (default {TRAIN_NUMBERS})")
    p.add_argument("--train-nonspeech", type=int, default=TRAIN_NONSPEECH,
                   help=f"non-speech clips added to train (default {TRAIN_NONSPEECH})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="parallel synthesis processes (default 1)")
    p.add_argument(
        "--style",
        choices=grammar.STYLES,
        default="mixed",
        help="German numbers: 'mixed' (words up to 12, digits above) or 'words'",
    )
    p.add_argument("--voices", default=",".join(TRAIN_VOICES), help="comma-separated training voices")
    p.add_argument("--variants", default=",".join(TRAIN_VARIANTS),
                   help="comma-separated training voice variants ('' = default; e.g. ',m3,f2,klatt')")
    p.add_argument("--speed", default="120:210", help="words per minute, LO:HI (default 120:210)")
    p.add_argument("--pitch", default="25:75", help="espeak pitch 0-99, LO:HI (default 25:75)")
    p.add_argument("--splits", default=",".join(SPLITS), help="render only these splits (comma-separated)")
    p.add_argument("--limit", type=int, help="render only the first N utterances of each split")
    p.add_argument("--overwrite", action="store_true", help="replace an existing corpus in OUT")
    args = p.parse_args(argv)
    try:
        summary = make_corpus(
            args.out,
            sizes={s: getattr(args, s) for s in SPLITS},
            train_numbers=args.train_numbers,
            train_nonspeech=args.train_nonspeech,
            seed=args.seed,
            jobs=args.jobs,
            style=args.style,
            voices=[v for v in args.voices.split(",") if v],
            variants=args.variants.split(","),
            speed=_range(args.speed, int),
            pitch=_range(args.pitch, int),
            splits=[s for s in args.splits.split(",") if s],
            limit=args.limit,
            overwrite=args.overwrite,
        )
    except (RuntimeError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    _print_summary(args.out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
