"""Profile: where the time goes per audio length, ours vs the reference, component by component.

Full-size random model (`bench_generate.build`), batch B of audio padded to each length; each
component is timed alone (best of `--repeats`, after a compile / warm-up call), on the same inputs
for both sides:

- conv: the 7-layer conv feature extractor, samples -> frames [B, F, 512]
- posconv: the grouped positional convolution (+ GELU) on [B, F, 1024]
- attn: one encoder layer's LayerNorm + self-attention (frame mask as an additive bias; ours in
  query blocks over long inputs, `attention.attention_blocks`)
- ffn: one encoder layer's LayerNorm + feed-forward
- layer: one whole encoder layer (x 24 in the model)
- encoder: the whole encoder + `enc_to_dec_proj`, audio -> states (ours as the translate pipeline
  runs it, with scanned layers; also its compile time, and its largest difference to the reference)

    python -m benchmarks.profile_encoder [--seconds 5,10,15,21] [--batch 8] [--parts conv,attn]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def _best(fn: Callable, args: tuple, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", default="5,10,15,21")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--parts", default="conv,posconv,attn,ffn,layer,encoder")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--query-block", type=int, default=None,
                    help="encoder attention query block (default encoder.QUERY_BLOCK; 0: full attention)")
    args = ap.parse_args(argv)

    from benchmarks.bench_generate import _pin, build
    from benchmarks.machine import describe

    _pin(args.threads)
    import jax
    import jax.numpy as jnp
    import torch

    from s2t2_jax import encoder as E
    from s2t2_jax import model as M
    from s2t2_jax.attention import Attention, LayerNorm, mask_bias

    torch.set_num_threads(args.threads)
    block = E.QUERY_BLOCK if args.query_block is None else args.query_block
    ref, config, params = build()
    params = jax.device_put(params)
    cfg = config.encoder
    pe = params["encoder"]
    tl = ref.encoder.encoder.layers[0]
    parts = args.parts.split(",")

    def ours_fn(part: str) -> tuple[Callable, object]:
        """A jitted `(params, a, b) -> out` and its params (passed as arguments, not constants)."""
        lp = jax.tree.map(lambda a: a[0], pe["encoder"]["layers"])  # layer 0 of the stack
        if part == "conv":
            mod = E.FeatureEncoder(cfg)
            return jax.jit(lambda p, x, m: mod.apply({"params": p}, x[:, :, None])), pe["feature_extractor"]
        if part == "posconv":
            mod = E.PositionalConv(cfg)
            return jax.jit(lambda p, h, b: mod.apply({"params": p}, h)), pe["encoder"]["pos_conv_embed"]
        if part == "layer":
            mod = E.EncoderLayer(cfg, query_block=block)
            return jax.jit(lambda p, h, b: mod.apply({"params": p}, h, b)[0]), lp
        ln = LayerNorm(epsilon=cfg.layer_norm_eps)
        if part == "attn":
            att = Attention(cfg.hidden_size, cfg.num_attention_heads, query_block=block,
                            keys_layout=E.KEYS_LAYOUT)
            return jax.jit(lambda p, h, b: att.apply(
                {"params": p["attention"]}, ln.apply({"params": p["layer_norm"]}, h), b)), lp
        if part == "ffn":
            ff = E.FeedForward(cfg)
            return jax.jit(lambda p, h, b: ff.apply(
                {"params": p["feed_forward"]}, ln.apply({"params": p["final_layer_norm"]}, h))), lp
        if part == "encoder":  # as the translate pipeline runs it: scanned layers
            return jax.jit(lambda p, x, m: M.encode(p, config, x, m, query_block=block)[0]), params
        raise ValueError(part)

    def ref_fn(part: str) -> Callable:
        enc = ref.encoder
        if part == "conv":
            return lambda x, m: enc.feature_extractor(x)
        if part == "posconv":
            return lambda h, b: enc.encoder.pos_conv_embed(h)
        if part == "attn":
            return lambda h, b: tl.attention(tl.layer_norm(h), attention_mask=b)[0]
        if part == "ffn":
            return lambda h, b: tl.feed_forward(tl.final_layer_norm(h))
        if part == "layer":
            return lambda h, b: tl(h, attention_mask=b)[0]
        if part == "encoder":
            return lambda x, m: ref.enc_to_dec_proj(ref.encoder(x, attention_mask=m).last_hidden_state)
        raise ValueError(part)

    print(describe())
    print(f"B={args.batch}, {args.threads} threads; seconds per call (x24 for per-layer parts)")
    print(f"{'part':<10}{'audio s':>8}{'frames':>8}{'ours':>10}{'ref':>10}{'ref/ours':>10}{'compile':>10}")
    rng = np.random.default_rng(0)
    fns = {p: ours_fn(p) for p in parts}
    for seconds in [float(s) for s in args.seconds.split(",")]:
        n = int(seconds * 16000)
        x = rng.standard_normal((args.batch, n)).astype(np.float32)
        m = np.ones_like(x, dtype=np.int32)
        m[-1, n // 2:] = 0  # one padded row, as in a real batch
        frames = E.num_frames(n, cfg)
        h = rng.standard_normal((args.batch, frames, cfg.hidden_size)).astype(np.float32)
        fmask = np.asarray(E.frame_mask(jnp.asarray(m), frames, cfg))
        bias = np.asarray(mask_bias(jnp.asarray(fmask))[:, None, None, :])
        tbias = torch.tensor(np.broadcast_to(bias, (args.batch, 1, frames, frames)).copy())
        for part in parts:
            audio_in = part in ("conv", "encoder")
            a, b = (x, m) if audio_in else (h, bias)
            f, p = fns[part]
            run = lambda *args, f=f: jax.block_until_ready(f(*args))  # noqa: E731
            t = time.perf_counter()
            run(p, a, b)
            first = time.perf_counter() - t
            ours = _best(run, (p, a, b), args.repeats)
            refs, diff = float("nan"), ""
            if not args.no_reference:
                g = ref_fn(part)
                ta, tb = torch.tensor(a), torch.tensor(b) if audio_in else tbias
                with torch.no_grad():
                    out = g(ta, tb)
                    refs = _best(g, (ta, tb), args.repeats)
                if part == "encoder":  # real frames only: padded ones are don't-cares
                    err = np.abs(np.asarray(f(p, a, b)) - out.numpy())[fmask]
                    diff = f"  max |ours - ref| {err.max():.2e}"
            print(f"{part:<10}{seconds:>8g}{frames:>8}{ours:>10.3f}{refs:>10.3f}{refs / ours:>10.2f}"
                  f"{first - ours:>10.1f}{diff}", flush=True)


if __name__ == "__main__":
    main()
