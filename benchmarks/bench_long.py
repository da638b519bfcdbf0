"""Benchmark: translating one long recording (split at pauses), real-time factor and peak memory.

Writes a `--minutes`-long recording (default 10): English sentences from the corpus grammar
(`examples/grammar.py`) spoken by espeak-ng in several voices, joined by pauses of 0.3-1.2 s over
a quiet noise floor (-50 dBFS), as one 16 kHz WAV. Then `s2t2-jax translate REC --output` runs in
a child process of its own per model, `--repeats` times in that process (the first compiles one
program per bucket its segments use; later runs compile nothing; model loading is included), and
the child reports its own peak RSS (`VmHWM`).

Models: the shipped default model (its own generation settings), and a random model with the
real checkpoint's full shapes (`bench_generate.build`; its output is noise, so every segment gets
exactly `--new-tokens` tokens, EOS banned until then). Prints, per model: segments found, wall
seconds per run, real-time factor (seconds of compute per second of audio), peak RSS; for the
default model also BLEU against the sentences' German references; and the machine.

    python -m benchmarks.bench_long [--minutes 10] [--models default full] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
VOICES = (("en-us", 160), ("en-gb+m3", 150), ("en-029+f2", 170), ("en-gb-x-rp+m1", 155),
          ("en-us+f3", 165))


def make_recording(path: Path, minutes: float, seed: int = 0) -> list[str]:
    """Write the recording; returns the German references of its sentences, in order."""
    import soundfile as sf
    import soxr

    sys.path.insert(0, str(ROOT / "examples"))
    import grammar
    from make_corpus import synthesize

    rng = np.random.default_rng(seed)
    parts, refs, total = [np.zeros(RATE // 2, np.float32)], [], RATE // 2
    sentences = iter(grammar.generate(int(minutes * 30) + 20, seed))
    while total < minutes * 60 * RATE:
        english, german, _ = next(sentences)
        voice, speed = VOICES[len(refs) % len(VOICES)]
        audio, rate = synthesize(english, voice, speed, 50)
        pause = np.zeros(int(rng.uniform(0.3, 1.2) * RATE), np.float32)
        parts += [soxr.resample(audio, rate, RATE).astype(np.float32), pause]
        total += len(parts[-2]) + len(pause)
        refs.append(german)
    x = np.concatenate(parts)[:int(minutes * 60 * RATE)]
    x += (0.003 * rng.standard_normal(len(x))).astype(np.float32)
    sf.write(path, x, RATE, subtype="PCM_16")
    return refs


def child(argv: list[str], repeats: int) -> None:
    """In the child process: run `s2t2-jax translate argv` `repeats` times; print a JSON line
    with each run's seconds and this process's peak RSS."""
    from benchmarks.bench_generate import _rss_gb
    from s2t2_jax import decoding
    from s2t2_jax.cli import main

    runs = []
    for _ in range(repeats):
        before, t0 = decoding.compile_count(), time.perf_counter()
        assert main(argv) == 0
        runs.append({"seconds": time.perf_counter() - t0, "compiles": decoding.compile_count() - before})
    print(json.dumps({"runs": runs, "peak_gb": _rss_gb()}), flush=True)


def run_child(model: Path | None, recording: Path, out: Path, repeats: int, extra: list[str]) -> dict:
    argv = ["translate", str(recording), "--output", str(out), "--no-progress", *extra]
    if model is not None:
        argv += ["--model", str(model)]
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_long import child; "
            f"child({argv!r}, {repeats})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the translate child failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    return {**result, "record": rec}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--models", nargs="+", choices=["default", "full"], default=["default", "full"])
    p.add_argument("--repeats", type=int, default=None,
                   help="runs per model in its process (default: 2 for the default model, 1 for "
                   "the full-size one, whose compile time is small beside its run)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--new-tokens", type=int, default=20, help="per segment, full-size model")
    args = p.parse_args()
    from benchmarks.bench_generate import _pin, build
    from benchmarks.bench_translate import make_model_folder
    from benchmarks.machine import describe
    from s2t2_jax.train import translation_scores

    _pin(args.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        recording = tmp / "talk.wav"
        t0 = time.perf_counter()
        refs = make_recording(recording, args.minutes)
        print(f"recording: {args.minutes:g} min, {len(refs)} sentences "
              f"(made in {time.perf_counter() - t0:.0f} s)", flush=True)
        batch = ["--batch-size", str(args.batch_size)]
        for name in args.models:
            if name == "default":
                model, extra = None, batch
            else:
                ref, config, params = build()
                make_model_folder(tmp, ref, config, params)
                del ref, params
                model = tmp / "model"
                extra = [*batch, "--max-new-tokens", str(args.new_tokens),
                         "--min-new-tokens", str(args.new_tokens)]
            repeats = args.repeats or (2 if name == "default" else 1)
            results[name] = run_child(model, recording, tmp / f"{name}.jsonl", repeats, extra)
            print(f"{name}: {json.dumps(results[name]['runs'])}, peak {results[name]['peak_gb']:.2f} GB",
                  flush=True)
    seconds = args.minutes * 60
    print(f"\n{seconds / 60:g}-minute recording ({len(refs)} sentences with pauses), batch "
          f"{args.batch_size}, {args.threads} threads; {describe()}")
    print("| model | segments | run | seconds | real-time factor | programs compiled | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        for i, run in enumerate(r["runs"]):
            label = "first (cold)" if i == 0 else f"{i + 1}"
            print(f"| {name} | {len(r['record']['segments'])} | {label} | {run['seconds']:.1f} | "
                  f"{run['seconds'] / seconds:.3f} | {run['compiles']} | {r['peak_gb']:.2f} GB |")
    if "default" in results:
        bleu = translation_scores([results["default"]["record"]["translation"]], [" ".join(refs)])
        print(f"default model, the whole recording's translation vs the joined references: "
              f"BLEU {bleu['bleu']:.1f}")


if __name__ == "__main__":
    main()
