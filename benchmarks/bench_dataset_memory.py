"""Benchmark: the peak memory of translating a dataset does not grow with the number of files.

Writes 10·N WAV files of 15-20 s (speech from ../shared/audio, cut and tiled, stored at 22.05 kHz
so every file is resampled on load) and two manifests, the first N files and all 10·N. Each is
translated by `s2t2-jax translate --output` with the shipped default model in a child process of
its own; the child's peak RSS comes from `os.wait4` (ru_maxrss). Prints both peaks, their
difference (streaming: it should stay within ~100 MB), wall times and throughput.

    python -m benchmarks.bench_dataset_memory [--n 20] [--batch-size 8] [--max-new-tokens 32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.machine import cpu_description
from s2t2_jax.audio import load_audio, resample

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
FILE_RATE = 22050


def make_files(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """`n` WAV files of 15-20 s at 22.05 kHz, cut from the shared speech recordings."""
    speech = np.concatenate([load_audio(p) for p in sorted(SHARED_AUDIO.glob("*.wav"))])
    speech = resample(speech, 16000, FILE_RATE)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        length = int(rng.uniform(15.0, 20.0) * FILE_RATE)
        clip = np.resize(np.roll(speech, -int(rng.integers(0, len(speech)))), length)
        path = folder / f"utt{i:05d}.wav"
        sf.write(path, clip, FILE_RATE, subtype="PCM_16")
        paths.append(path)
    return paths


def translate_child(manifest: Path, out: Path, batch_size: int, new_tokens: int) -> dict:
    """Run `s2t2-jax translate` in a child process; its peak RSS (MB), wall time, exit code."""
    cmd = [sys.executable, "-m", "s2t2_jax.cli", "translate", str(manifest), "--output", str(out),
           "--batch-size", str(batch_size), "--max-new-tokens", str(new_tokens), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"peak_mb": usage.ru_maxrss / 1024, "seconds": time.perf_counter() - t0,
            "code": proc.returncode, "records": len(out.read_text().splitlines())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="files in the small run (the large has 10x)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=32)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_files(tmp, 10 * args.n)
        runs = {}
        for n in (args.n, 10 * args.n):
            manifest = tmp / f"first{n}.tsv"
            manifest.write_text("audio\n" + "".join(f"{q.name}\n" for q in paths[:n]))
            runs[n] = translate_child(manifest, tmp / f"out{n}.jsonl", args.batch_size,
                                      args.max_new_tokens)
            assert runs[n]["code"] == 0 and runs[n]["records"] == n, runs[n]
        audio = {n: sum(sf.info(str(q)).duration for q in paths[:n]) for n in runs}
    print(f"CPU: {cpu_description()}")
    print(f"default model, batch {args.batch_size}, {args.max_new_tokens} new tokens at most")
    print(f"{'files':>6}{'audio (min)':>13}{'peak RSS (MB)':>15}{'seconds':>9}{'files/s':>9}"
          f"{'audio-s/s':>11}")
    for n, r in runs.items():
        print(f"{n:>6}{audio[n] / 60:>13.1f}{r['peak_mb']:>15.0f}{r['seconds']:>9.1f}"
              f"{n / r['seconds']:>9.2f}{audio[n] / r['seconds']:>11.1f}")
    small, large = runs[args.n]["peak_mb"], runs[10 * args.n]["peak_mb"]
    print(f"peak RSS difference, {10 * args.n} vs {args.n} files: {large - small:+.0f} MB")


if __name__ == "__main__":
    main()
