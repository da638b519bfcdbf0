"""Roofline: each encoder part and a decoder step against the machine's measured limits.

Counted from the config: each part's FLOPs (2 x the multiply-adds of its matrix multiplies and
convolutions; norms, activations and softmax are not counted) and the bytes it must read at least
(its weights; a decoder step also its caches). Measured in the same run, before and again after
each audio length's parts (the best so far counts, best of 10 calls each): the device's matmul
throughput (a jitted `[2000, 1024] @ [1024, 4096]` in the compute dtype) and memory bandwidth (a
jitted sum over a large array). A part's bound is max(FLOPs / throughput, bytes / bandwidth); the
table gives its measured time (best of --repeats, after a warm-up call) as a multiple of that
bound and as a share of the matmul throughput. Random params (no reference needed); full-size
shapes (`bench_generate.FULL_ENCODER` / `FULL_DECODER`) unless --tiny. The decoder rows time
`generate_from_encoder` over --tokens forced tokens (EOS banned), per step, the cross-attention
keys/values projected once included; below the table, each step against the time the backend
takes to read the same arrays op by op, one plain sum each (`op_by_op_read`): XLA:CPU streams
arrays of a step's sizes (1 KB to 10 MB) well below one large read's bandwidth.

    python -m benchmarks.roofline [--seconds 5,20] [--batch 8] [--dtype float32|bfloat16]
        [--tokens 64] [--beams 1,5] [--parts conv,...] [--query-block N] [--tiny]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from s2t2_jax.config import DecoderConfig, EncoderConfig, ModelConfig

ENCODER_PARTS = ("conv", "projection", "posconv", "attn_proj", "attn_core", "ffn", "layer", "encoder")
LABELS = {
    "conv": "conv feature encoder",
    "projection": "feature projection",
    "posconv": "positional conv",
    "attn_proj": "layer: attention q/k/v/out projections",
    "attn_core": "layer: attention scores + context",
    "ffn": "layer: feed-forward",
    "rest": "layer: whole minus the three parts",
    "layer": "one whole layer",
    "encoder": "whole encoder (+ enc_to_dec_proj)",
}
TINY_ENCODER = dict(
    hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
    feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
    conv_dim=(32, 32, 32), conv_kernel=(10, 3, 3), conv_stride=(5, 2, 2),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
)
TINY_DECODER = dict(vocab_size=97, d_model=32, decoder_layers=2, decoder_attention_heads=2,
                    decoder_ffn_dim=64, max_target_positions=64)


def model_config(tiny: bool = False) -> ModelConfig:
    """The full-size model's config (the real checkpoint's shapes), or a tiny one for smoke tests."""
    from benchmarks.bench_generate import FULL_DECODER, FULL_ENCODER

    enc, dec = (TINY_ENCODER, TINY_DECODER) if tiny else (FULL_ENCODER, FULL_DECODER)
    return ModelConfig(encoder=EncoderConfig.from_hf_dict(enc), decoder=DecoderConfig.from_hf_dict(dec),
                       pad_token_id=1, decoder_start_token_id=2)


# --------------------------------------------------------------------------- counting


def posconv_flops(batch: int, frames: int, k: int, d: int, groups: int) -> float:
    """The positional conv as computed (`encoder.grouped_conv_same`: overlap-save DFTs as matmuls
    over blocks of k frames, F = k + 1 frequencies): the kernel's and the blocks' transforms, the
    per-frequency channel mixing, the inverse. (The direct convolution: 2 B T k d^2 / groups.)"""
    f, c, rows = k + 1, d // groups, batch * -(-frames // k)  # rows: B x blocks
    return 2.0 * (2 * f * k * c * d + 2 * f * 2 * k * rows * d + f * groups * rows * (2 * c) ** 2
                  + k * 2 * f * rows * d)


def encoder_flops(config: ModelConfig, batch: int, samples: int) -> dict[str, float]:
    """Matmul FLOPs of each encoder part (`ENCODER_PARTS`; the `attn_*`/`ffn`/`layer` ones per
    layer) for `batch` inputs of `samples` samples."""
    cfg = config.encoder
    f, c_in, conv = samples, 1, 0.0
    for c, k, s in zip(cfg.conv_dim, cfg.conv_kernel, cfg.conv_stride, strict=True):
        f = (f - k) // s + 1
        conv += 2.0 * batch * f * c_in * k * c
        c_in = c
    d, k, g = cfg.hidden_size, cfg.num_conv_pos_embeddings, cfg.num_conv_pos_embedding_groups
    out = {
        "conv": conv,
        "projection": 2.0 * batch * f * c_in * d,
        "posconv": posconv_flops(batch, f, k, d, g),
        "attn_proj": 4 * 2.0 * batch * f * d * d,
        "attn_core": 2 * 2.0 * batch * f * f * d,  # scores q.k and context p.v over N heads
        "ffn": 2 * 2.0 * batch * f * d * cfg.intermediate_size,
    }
    out["layer"] = out["attn_proj"] + out["attn_core"] + out["ffn"]
    tail, width = 0.0, d
    if cfg.add_adapter:
        if cfg.output_hidden_size != d:
            tail += 2.0 * batch * f * d * cfg.output_hidden_size
        width = cfg.output_hidden_size
        for _ in range(cfg.num_adapter_layers):  # kernel 3, padding 1, to 2x width (then GLU)
            f = (f + 2 - cfg.adapter_kernel_size) // cfg.adapter_stride + 1
            tail += 2.0 * batch * f * cfg.adapter_kernel_size * width * 2 * width
    if config.has_enc_to_dec_proj:
        tail += 2.0 * batch * f * width * config.decoder.d_model
    out["encoder"] = (conv + out["projection"] + out["posconv"]
                      + cfg.num_hidden_layers * out["layer"] + tail)
    return out


def encoder_weights(config: ModelConfig) -> dict[str, int]:
    """Parameters each encoder part reads (per layer for the per-layer parts)."""
    cfg = config.encoder
    d, i = cfg.hidden_size, cfg.intermediate_size
    conv, c_in = 0, 1
    for j, (c, k) in enumerate(zip(cfg.conv_dim, cfg.conv_kernel, strict=True)):
        norm = 2 * c if cfg.feat_extract_norm == "layer" or j == 0 else 0
        conv += c_in * k * c + (c if cfg.conv_bias else 0) + norm
        c_in = c
    out = {
        "conv": conv, "projection": 2 * c_in + c_in * d + d,
        "posconv": (k := cfg.num_conv_pos_embeddings) * (d // cfg.num_conv_pos_embedding_groups) * d
        + k + d,  # weight-norm v, g; bias
        "attn_proj": 4 * (d * d + d), "attn_core": 0, "ffn": 2 * d * i + i + d,
    }
    out["layer"] = out["attn_proj"] + out["ffn"] + 4 * d
    out["encoder"] = sum(out[p] for p in ("conv", "projection", "posconv")) + 2 * d + (
        cfg.num_hidden_layers * out["layer"])
    if config.has_enc_to_dec_proj:
        out["encoder"] += cfg.output_size * config.decoder.d_model + config.decoder.d_model
    return out


@dataclasses.dataclass(frozen=True)
class StepCost:
    """One decoder step over `rows` rows: matmul FLOPs and the bytes it must read."""

    flops: float
    weight_bytes: float  # every weight the step uses, read once
    cache_bytes: float  # cross keys/values of every item, self keys/values of every row


def decoder_step_cost(
    config: DecoderConfig, items: int, group: int, frames: int, keys: float, itemsize: int = 4
) -> StepCost:
    """A step of one new token per row (`items * group` rows) cross-attending `frames` encoder
    states and attending `keys` cached positions of its own (a mean over steps may be fractional)."""
    d, r, n_layers = config.d_model, items * group, config.decoder_layers
    per_layer = (
        4 * 2.0 * r * d * d  # self q, k, v, out
        + 2 * 2.0 * r * d * keys  # self scores + context
        + 2 * 2.0 * r * d * d  # cross q, out (cross keys/values: projected once per item)
        + 2 * 2.0 * r * d * frames  # cross scores + context
        + 2 * 2.0 * r * d * config.decoder_ffn_dim
    )
    flops = n_layers * per_layer + 2.0 * r * d * config.vocab_size
    layer_params = 6 * (d * d + d) + 2 * d * config.decoder_ffn_dim + config.decoder_ffn_dim + d + 6 * d
    weights = (n_layers * layer_params + config.vocab_size * d) * itemsize  # + lm_head / tied table
    cache = n_layers * 2 * d * (items * frames + r * keys) * itemsize
    return StepCost(flops, weights, cache)


def cross_kv_flops(config: DecoderConfig, items: int, frames: int) -> float:
    """Projecting the cross-attention keys and values once per item (`init_cache`)."""
    return config.decoder_layers * 2 * 2.0 * items * frames * config.d_model * config.d_model


# --------------------------------------------------------------------------- measuring


def _best(fn: Callable, args: tuple, repeats: int) -> float:
    """Best wall time of `fn(*args)` (blocked until ready) over `repeats` calls after a warm-up."""
    import jax

    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_throughput(shape: tuple[int, int, int], dtype: Any, repeats: int) -> float:
    """FLOP/s of a jitted `[m, k] @ [k, n]` in `dtype`, as the model multiplies (`attention.dot_general`:
    half precision accumulated in float32)."""
    import jax

    from s2t2_jax.attention import dot_general

    m, k, n = shape
    a = jax.random.normal(jax.random.PRNGKey(0), (m, k), dtype)
    b = jax.random.normal(jax.random.PRNGKey(1), (k, n), dtype)
    matmul = jax.jit(lambda a, b: dot_general(a, b, (((1,), (0,)), ((), ()))))
    return 2.0 * m * k * n / _best(matmul, (a, b), repeats)


def memory_bandwidth(nbytes: int, repeats: int) -> float:
    """Bytes/s read by a jitted float32 sum over `nbytes` (far more than the caches hold)."""
    import jax
    import jax.numpy as jnp

    x = jnp.ones((nbytes // 4 // 1024, 1024), jnp.float32)
    return x.size * 4 / _best(jax.jit(jnp.sum), (x,), repeats)


def step_arrays(params, config: DecoderConfig, items: int, group: int, frames: int, keys: int,
                dtype: Any) -> list:
    """Arrays of the sizes a decoder step reads (`decoder_step_cost`'s bytes): the decoder's weights
    but the position table and the cross keys/values projections, each layer's cross keys and
    values `[items, frames, D]` and the rows' self keys and values `[rows, keys, D]`."""
    import jax
    import jax.numpy as jnp

    out = []
    for name, tree in params["decoder"].items():
        if name == "embed_positions":
            continue
        if name.startswith("layers_"):
            cross = {k: v for k, v in tree["encoder_attn"].items() if k not in ("k_proj", "v_proj")}
            tree = {**tree, "encoder_attn": cross}
        out += [a.astype(dtype) for a in jax.tree.leaves(tree)]
    d, rows = config.d_model, items * group
    for i in range(config.decoder_layers):  # distinct buffers, as the step's are
        out += [jnp.full(shape, i + j, dtype) for j, shape in
                enumerate([(items, frames, d)] * 2 + [(rows, keys, d)] * 2)]
    return out


def op_by_op_read(arrays: list, steps: int, repeats: int) -> float:
    """Seconds per step of a jitted loop of `steps` steps that reads `arrays` one plain float32 sum
    per array, in order (each depends on the last, as a decoder step's operations do): how fast
    this backend streams arrays of these sizes op by op, the practical floor of a step that reads
    them (on CPU well below one large read's bandwidth). 16-bit arrays (of even size) are read as
    float32 words, their bytes paired: bfloat16 arithmetic on CPU would time its conversions."""
    import jax
    import jax.numpy as jnp

    def words(a: jax.Array) -> jax.Array:
        if a.dtype.itemsize == 2 and a.size % 2 == 0:
            return jax.lax.bitcast_convert_type(a.reshape(-1, 2), jnp.float32)
        return a.astype(jnp.float32)

    def loop(arrays: list) -> jax.Array:
        def body(_, s):
            for a in arrays:
                s = jnp.sum(words(a) * s) * 1e-30 + 1.0  # depends on the last read
            return s

        return jax.lax.fori_loop(0, steps, body, jnp.float32(1.0))

    return _best(jax.jit(loop), (arrays,), repeats) / steps


def encoder_fns(config: ModelConfig, params, batch: int, samples: int, dtype: Any,
                query_block: int | None) -> dict[str, tuple[Callable, tuple]]:
    """Each encoder part as a jitted function and its arguments (params passed, not baked in)."""
    import jax
    import jax.numpy as jnp

    from s2t2_jax import encoder as E
    from s2t2_jax import model as M
    from s2t2_jax.attention import Attention, mask_bias

    cfg = config.encoder
    block = E.QUERY_BLOCK if query_block is None else query_block
    f = E.conv_output_lengths(samples, cfg, add_adapter=False)
    d, n = cfg.hidden_size, cfg.num_attention_heads
    rng = np.random.default_rng(0)
    rand = lambda *shape: jnp.asarray(rng.standard_normal(shape, np.float32), dtype)  # noqa: E731
    x = rand(batch, samples).astype(jnp.float32)
    sample_mask = jnp.ones((batch, samples), jnp.int32)
    h, bias = rand(batch, f, d), mask_bias(jnp.ones((batch, f), bool), dtype)[:, None, None, :]
    q, v = rand(batch, n, f, d // n), rand(batch, n, f, d // n)
    k = rand(batch, n, f, d // n) if E.KEYS_LAYOUT == "bnsh" else rand(batch, n, d // n, f)
    pe = params["encoder"]
    lp = jax.tree.map(lambda a: a[0], pe["encoder"]["layers"])  # layer 0 of the stack
    att = Attention(d, n, dtype=dtype, query_block=block, keys_layout=E.KEYS_LAYOUT)

    def projections(m: Attention, x: jax.Array) -> tuple[jax.Array, ...]:
        return m.queries(x), m.keys(x), m.values(x), m.out_proj(x)

    def apply(mod, p, *a, **kw):
        return jax.jit(lambda p, *a: mod.apply({"params": p}, *a, **kw)), (p, *a)

    return {
        "conv": apply(E.FeatureEncoder(cfg, dtype), pe["feature_extractor"],
                      x.astype(dtype)[:, :, None]),
        "projection": apply(E.FeatureProjection(cfg, dtype), pe["feature_projection"],
                            rand(batch, f, cfg.conv_dim[-1])),
        "posconv": apply(E.PositionalConv(cfg, dtype), pe["encoder"]["pos_conv_embed"], h),
        "attn_proj": apply(att, lp["attention"], h, method=projections),
        "attn_core": apply(att, lp["attention"], q, k, v, bias, method=Attention.context),
        "ffn": apply(E.FeedForward(cfg, dtype), lp["feed_forward"], h),
        "layer": apply(E.EncoderLayer(cfg, dtype, block), lp, h, bias),
        "encoder": (jax.jit(lambda p, x, m: M.encode(p, config, x, m, dtype, block)[0]),
                    (params, x, sample_mask)),
    }


@dataclasses.dataclass(frozen=True)
class Row:
    part: str
    count: int  # times it runs in the model
    flops: float
    bytes: float
    seconds: float


def _table(rows: list[Row], peak: float, bandwidth: float) -> list[str]:
    out = ["| part | x | GFLOP | MB read | bound ms | measured ms | measured / bound | % of matmul peak |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        bound = max(r.flops / peak, r.bytes / bandwidth)
        ratio = f"{r.seconds / bound:.2f}x" if bound > 0 else "-"
        pct = f"{100 * r.flops / r.seconds / peak:.0f}%" if r.flops else "-"
        out.append(f"| {r.part} | {r.count} | {r.flops / 1e9:.3g} | {r.bytes / 1e6:.3g} | "
                   f"{1e3 * bound:.3g} | {1e3 * r.seconds:.4g} | {ratio} | {pct} |")
    return out


def run(args: argparse.Namespace) -> list[str]:
    """Measure and return the report's lines (also printed as they come)."""
    import jax
    import jax.numpy as jnp

    from benchmarks.machine import describe
    from s2t2_jax import decoding
    from s2t2_jax import model as M
    from s2t2_jax.encoder import num_frames

    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    dtype = jnp.dtype(args.dtype)
    config = model_config(args.tiny)
    parts = args.parts.split(",")
    shape = tuple(int(v) for v in args.matmul.split(","))

    def limits(when: str) -> tuple[float, float]:
        # Best of 10+ calls, measured again after each length's parts; the tables use the best
        # so far: a shared machine's momentary dip must not lower the bounds.
        calls = max(10, args.repeats)
        p = matmul_throughput(shape, dtype, calls)
        bw = memory_bandwidth(int(args.bandwidth_mb * 2**20), calls)
        say(f"{args.dtype}; {when}: matmul {'x'.join(map(str, shape))}: {p / 1e9:.1f} GFLOP/s; "
            f"memory read: {bw / 1e9:.1f} GB/s ({args.bandwidth_mb:g} MB float32 sum)")
        return p, bw

    say(describe())
    peak, bandwidth = limits("before")
    params = jax.jit(M.init_params, static_argnums=(0, 1, 2))(config, 0, dtype)
    itemsize = dtype.itemsize
    weights = encoder_weights(config)
    for seconds in [float(s) for s in args.seconds.split(",")]:
        samples = int(seconds * 16000)
        flops = encoder_flops(config, args.batch, samples)
        fns = encoder_fns(config, params, args.batch, samples, dtype, args.query_block)
        rows, times = [], {}
        for part in ENCODER_PARTS:
            if part not in parts:
                continue
            fn, fn_args = fns[part]
            times[part] = _best(fn, fn_args, args.repeats)
            count = config.encoder.num_hidden_layers if part.startswith(("attn", "ffn", "layer")) else 1
            rows.append(Row(LABELS[part], count, flops[part], weights[part] * itemsize, times[part]))
            if part == "layer" and {"attn_proj", "attn_core", "ffn"} <= set(times):
                rest = times["layer"] - times["attn_proj"] - times["attn_core"] - times["ffn"]
                rows.insert(-1, Row(LABELS["rest"], count, 0.0, 0.0, rest))
        frames = num_frames(samples, config.encoder)
        enc = np.random.default_rng(1).standard_normal((args.batch, frames, config.decoder.d_model))
        enc = jnp.asarray(enc, dtype)
        notes = []
        for beams in [int(g) for g in args.beams.split(",") if g]:
            keys = (args.tokens + 1) / 2  # cached positions attended, mean over the steps
            cost = decoder_step_cost(config.decoder, args.batch, beams, frames, keys, itemsize)
            init = cross_kv_flops(config.decoder, args.batch, frames) / args.tokens
            go = lambda p, e, g=beams: decoding.generate_from_encoder(  # noqa: E731
                p, config, e, num_beams=g, max_new_tokens=args.tokens, min_new_tokens=args.tokens,
                dtype=dtype)
            step = _best(go, (params, enc), args.repeats) / args.tokens
            name = "greedy" if beams == 1 else f"beam {beams}"
            rows.append(Row(f"decoder step, {name} ({args.tokens} tokens)", args.tokens,
                            cost.flops + init, cost.weight_bytes + cost.cache_bytes, step))
            arrays = step_arrays(params, config.decoder, args.batch, beams, frames, round(keys), dtype)
            read = op_by_op_read(arrays, args.tokens, args.repeats)
            nbytes = sum(a.nbytes for a in arrays)
            notes.append(f"decoder step, {name}: its {len(arrays)} arrays ({nbytes / 1e6:.3g} MB: weights, "
                         f"cross and self caches) read op by op, one sum each, take {1e3 * read:.3g} ms "
                         f"per step ({nbytes / read / 1e9:.1f} GB/s); the step takes {step / read:.2f}x that")
        again = limits(f"after {seconds:g} s")
        peak, bandwidth = max(peak, again[0]), max(bandwidth, again[1])
        say()
        say(f"B={args.batch} x {seconds:g} s audio ({frames} frames), {args.dtype}, "
            f"query_block={'default' if args.query_block is None else args.query_block}; bounds "
            f"from the best so far: {peak / 1e9:.1f} GFLOP/s, {bandwidth / 1e9:.1f} GB/s")
        for line in _table(rows, peak, bandwidth):
            say(line)
        for line in notes:
            say(line)
    return lines


def main(argv: list[str] | None = None) -> list[str]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", default="5", help="audio lengths, comma separated")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--tokens", type=int, default=64, help="decoder steps timed")
    ap.add_argument("--beams", default="1,5", help="decoder rows: beam counts ('' for none)")
    ap.add_argument("--parts", default=",".join(ENCODER_PARTS))
    ap.add_argument("--query-block", type=int, default=None,
                    help="encoder attention query block (default: the encoder's; 0: plain)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--matmul", default=None, help="m,k,n of the peak matmul (default 2000,1024,4096)")
    ap.add_argument("--bandwidth-mb", type=float, default=None, help="array read (default 512)")
    ap.add_argument("--tiny", action="store_true", help="a tiny config and sizes (smoke test)")
    args = ap.parse_args(argv)
    args.matmul = args.matmul or ("128,64,256" if args.tiny else "2000,1024,4096")
    args.bandwidth_mb = args.bandwidth_mb or (4 if args.tiny else 512)
    from benchmarks.bench_generate import _pin

    _pin(args.threads)
    return run(args)


if __name__ == "__main__":
    main()
