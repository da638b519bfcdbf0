"""Profile: where a decoder step's time goes, operation by operation (XLA's own trace).

Runs `decoding.generate_from_encoder` (full-size random model, B items x `--frames` encoder
frames, `--tokens` forced steps) under `jax.profiler`, reads the trace's per-operation events and
groups the compiled program's operations by what they compute (`fc1`, `encoder_attn scores`,
`lm_head`, ...: the op's source name without its layer number), per decode step:

    | operation | ops/step | ms/step | share | bytes read | GB/s |

`bytes read` counts the weights or cache buffers a group reads (its largest operand per op), so
GB/s shows which operations stream memory near the machine's bandwidth (`benchmarks.roofline`
prints it) and which run below it. Printed with the machine's description.

    python -m benchmarks.profile_step [--beams 1,5] [--batch 8] [--frames 249] [--tokens 64]
        [--dtype float32|bfloat16]
"""

from __future__ import annotations

import argparse
import collections
import functools
import glob
import gzip
import json
import re
import tempfile
from pathlib import Path

import numpy as np

# `op_name` metadata -> group: drop the jit/while/module prefixes and the layer number.
_LAYER = re.compile(r"layers_\d+/")
_DROP = re.compile(r"^.*?(decoder/|while/body/)")
_SHAPE = re.compile(r"(\w+)\[([\d,]*)\]")
_ITEMSIZE = {"f32": 4, "bf16": 2, "f16": 2, "s32": 4, "pred": 1, "u32": 4}


def _group(op_name: str) -> str:
    name = _LAYER.sub("", _DROP.sub("", op_name))
    parts = [p for p in name.split("/") if p and not p.startswith(("SpeechEncoderDecoder", "jit("))]
    return "/".join(parts[-3:]) or op_name


def _ops(hlo_text: str) -> dict[str, tuple[str, float]]:
    """Top-level instruction name -> (group, bytes of its largest operand) in the optimised HLO."""
    shapes: dict[str, float] = {}
    out: dict[str, tuple[str, float]] = {}
    for line in hlo_text.splitlines():
        m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = (\S+) (\w[\w-]*)\((.*?)\)(.*)$", line)
        if not m:
            continue
        name, shape, _, operands, rest = m.groups()
        s = _SHAPE.match(shape)
        if s:
            dims = [int(d) for d in s.group(2).split(",") if d]
            shapes[name] = float(np.prod(dims)) * _ITEMSIZE.get(s.group(1), 4)
        meta = re.search(r'op_name="([^"]*)"', rest)
        if meta:
            reads = max((shapes.get(o.strip().lstrip("%"), 0.0) for o in operands.split(",")), default=0.0)
            out[name] = (_group(meta.group(1)), reads)
    return out


def profile(fn, args: tuple, steps: int, hlo_text: str) -> list[tuple[str, int, float, float]]:
    """Run `fn(*args)` under the profiler; per group: (name, ops/step, seconds/step, bytes/step)."""
    import jax

    ops = _ops(hlo_text)
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        jax.block_until_ready(fn(*args))
        jax.profiler.stop_trace()
        trace = glob.glob(str(Path(tmp) / "**" / "*.trace.json.gz"), recursive=True)
        events = json.load(gzip.open(trace[0]))
    events = events["traceEvents"] if isinstance(events, dict) else events
    time: dict[str, float] = collections.Counter()
    count: dict[str, int] = collections.Counter()
    reads: dict[str, float] = collections.Counter()
    for e in events:
        if e.get("ph") != "X" or e.get("name") not in ops:
            continue
        group, nbytes = ops[e["name"]]
        time[group] += e.get("dur", 0) * 1e-6
        count[group] += 1
        reads[group] += nbytes
    rows = [(g, round(count[g] / steps), time[g] / steps, reads[g] / steps) for g in time
            if count[g] >= steps]  # per-step operations only (not the encoder or the set-up)
    return sorted(rows, key=lambda r: -r[2])


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beams", default="1,5")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=249, help="encoder frames (249: 5 s of audio)")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--top", type=int, default=16, help="rows shown per table")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--tiny", action="store_true", help="a tiny config (smoke test)")
    args = ap.parse_args(argv)
    from benchmarks.bench_generate import _pin

    _pin(args.threads)
    import jax
    import jax.numpy as jnp

    from benchmarks.machine import describe
    from benchmarks.roofline import _best, model_config
    from s2t2_jax import decoding
    from s2t2_jax import model as M

    config = model_config(args.tiny)
    params = jax.jit(M.init_params, static_argnums=(0, 1, 2))(config, 0, jnp.float32)
    d = config.decoder.d_model
    enc = jnp.asarray(np.random.default_rng(1).standard_normal((args.batch, args.frames, d)), jnp.float32)
    lines = [describe()]
    print(lines[0], flush=True)
    for beams in [int(b) for b in args.beams.split(",")]:
        opts = dict(num_beams=beams, max_new_tokens=args.tokens, min_new_tokens=args.tokens)
        plan, knobs = decoding._resolve(config, opts, jnp.dtype(args.dtype))
        run = functools.partial(decoding._from_encoder_jit, config=config, plan=plan)
        run_args = (params, enc, jnp.ones(enc.shape[:2], bool), jax.random.PRNGKey(0), knobs)
        # the program `generate_from_encoder` runs
        hlo = decoding._from_encoder_jit.lower(*run_args, config=config, plan=plan).compile().as_text()
        wall = _best(run, run_args, 3) / args.tokens
        rows = profile(run, run_args, args.tokens, hlo)
        total = sum(r[2] for r in rows)
        name = "greedy" if beams == 1 else f"beam {beams}"
        start = len(lines)
        lines += ["", f"{name}, B={args.batch}, {args.frames} frames, {args.dtype}: {1e3 * wall:.2f} ms/step "
                  f"(profiled operations {1e3 * total:.2f} ms)",
                  "| operation | ops/step | ms/step | share | MB read | GB/s |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for group, n, sec, nbytes in rows[: args.top]:
            gbs = f"{nbytes / sec / 1e9:.1f}" if sec > 0 and nbytes else "-"
            lines.append(f"| {group} | {n} | {1e3 * sec:.3f} | {sec / total:.0%} | "
                         f"{nbytes / 1e6:.2f} | {gbs} |")
        rest = rows[args.top:]
        if rest:
            lines.append(f"| ({len(rest)} more groups) | {sum(r[1] for r in rest)} | "
                         f"{1e3 * sum(r[2] for r in rest):.3f} | {sum(r[2] for r in rest) / total:.0%} | | |")
        print("\n".join(lines[start:]), flush=True)
    return lines


if __name__ == "__main__":
    main()
