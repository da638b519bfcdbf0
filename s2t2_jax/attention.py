"""Multi-head attention shared by the encoder and decoder, plus small layer helpers.

One softmax attention serves every caller (`attention_probs` then a weighted sum of values; where
no caller needs the weights, `attention_values`, normalised after the sum): queries `[B, N, T, H]`,
values `[B, N, S, H]`, keys `[B, N, H, S]` (contracted axis last, as the decoder step's batched
matrix-vector products want it) or `[B, N, S, H]` (the encoder's, as projected; `KEY_LAYOUTS`).
`blockwise_attention` runs it over blocks of queries and heads. Parameter names (`q_proj`,
`k_proj`, `v_proj`, `out_proj`) mirror the reference's state dict. Shape letters: see
`s2t2_jax/__init__.py`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

# Rows from which a layer norm takes its means as matrix-vector products (on CPU): XLA:CPU's
# matrix-vector kernel reads faster than its reductions (see `layer_norm`).
DOT_MEAN_ROWS = 4096


def layer_norm(x: jax.Array, scale: jax.Array, bias: jax.Array, eps: float,
               dtype: jnp.dtype | None = None, shift: jax.Array | None = None) -> jax.Array:
    """LayerNorm of `x + shift` (`shift [D]`, e.g. a conv's bias; None: 0) over the last axis as
    the reference computes it: exact two-pass variance `mean((x - mean)^2)` (not E[x^2] - E[x]^2,
    which drifts), in float32, `* scale + bias`.

    On CPU, for many rows, both means are products with a `[D, 1]` column of 1/D and `shift`
    enters through its own mean, so `x + shift` is never written out: XLA:CPU then normalises and
    applies the activation after it in one pass, where its reduction kernels take two (conv
    layer norm + GELU over `[8, 15999, 512]`: 105-118 against 149-164 ms on the 2-core Intel Xeon,
    family 6 model 167, AVX-512 + AMX; `benchmarks/machine.py`)."""
    x32 = x.astype(jnp.float32)
    d = x.shape[-1]
    if jax.default_backend() == "cpu" and x.size // d >= DOT_MEAN_ROWS:
        column = jnp.full((d, 1), 1.0 / d, jnp.float32)
        mean = jnp.dot(x32, column, precision=jax.lax.Precision.HIGHEST)
        centred = x32 - mean
        if shift is not None:
            centred = centred + (shift - shift.mean())
        var = jnp.dot(centred * centred, column, precision=jax.lax.Precision.HIGHEST)
    else:
        if shift is not None:
            x32 = x32 + shift
        mean = x32.mean(-1, keepdims=True)
        centred = x32 - mean
        var = jnp.mean(centred * centred, -1, keepdims=True)
    y = centred * (jax.lax.rsqrt(var + eps) * scale) + bias
    return y.astype(dtype or x.dtype)


class LayerNorm(nn.Module):
    """`layer_norm` over the last axis with params `scale` and `bias` (flax's `nn.LayerNorm`
    names, so checkpoints and the converter see the same tree)."""

    epsilon: float = 1e-6
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, x: jax.Array, shift: jax.Array | None = None) -> jax.Array:
        d = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (d,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (d,), jnp.float32)
        return layer_norm(x, scale, bias, self.epsilon, self.dtype, shift)


def _widened(op: Callable) -> Callable:
    """`op` (`lax.dot_general` or `lax.conv_general_dilated`) whose bfloat16/float16 products
    accumulate and come out in float32, then round to the inputs' dtype (or
    `preferred_element_type`); float32 as `op`."""

    @functools.wraps(op)
    def run(lhs: jax.Array, rhs: jax.Array, *args, preferred_element_type=None, **kwargs) -> jax.Array:
        out_dtype = preferred_element_type or jnp.result_type(lhs, rhs)
        wide = jnp.float32 if jnp.dtype(out_dtype).itemsize < 4 else out_dtype
        return op(lhs, rhs, *args, preferred_element_type=wide, **kwargs).astype(out_dtype)

    return run


# Every matmul and conv of the model goes through these (`Dense`, `einsum`, the convs). Half-
# precision products already sum in float32 on CPU, GPU and TPU, so the values are the same or
# closer, but XLA:CPU runs the float32-result form on AMX bfloat16 kernels: `[2000, 1024] @
# [1024, 4096]` 1,607 GFLOP/s against 224 with a bfloat16 result (float32: 292), on the 2-core
# Intel Xeon (family 6 model 167, AMX), 2026-12-05.
dot_general = _widened(jax.lax.dot_general)
conv_general_dilated = _widened(jax.lax.conv_general_dilated)
Dense = functools.partial(nn.Dense, dot_general=dot_general)


def einsum(spec: str, a: jax.Array, b: jax.Array, dtype: jnp.dtype | None = None) -> jax.Array:
    """`jnp.einsum` of two operands, accumulated as `dot_general` does, result in `dtype` (None:
    the operands')."""
    return _widened(functools.partial(jnp.einsum, spec))(a, b, preferred_element_type=dtype)


def gelu_erf(x: jax.Array) -> jax.Array:
    """The exact GELU as the reference computes it, `x/2 * (1 + erf(x/sqrt(2)))` (`jax.nn.gelu`
    uses `erfc`, which XLA:CPU evaluates ~3x slower)."""
    return 0.5 * x * (1.0 + jax.lax.erf(x * math.sqrt(0.5)))


def _gelu_tanh(x: jax.Array) -> jax.Array:
    return jax.nn.gelu(x, approximate=True)


ACT_FNS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_fast": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "quick_gelu": lambda x: x * jax.nn.sigmoid(1.702 * x),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "linear": lambda x: x,
}


def mask_bias(mask: jax.Array, dtype: jnp.dtype = jnp.float32) -> jax.Array:
    """Boolean `[..., S]` keep-mask -> additive bias (0 or `finfo.min`), as the reference builds it."""
    return jnp.where(mask, 0.0, jnp.finfo(dtype).min).astype(dtype)


# Keys' layouts: "bnhs" `[B, N, H, S]`, the contracted axis last (the decoder's: its step's batched
# matrix-vector products want it, beam 5 cross-attention 1.74 against 2.68 ms per step), and "bnsh"
# `[B, N, S, H]` (the encoder's self-attention: the projection's heads without the transpose that
# took 28 ms of a layer's ~1 s at B=8 x 20 s, whole encoder 27.1-27.6 -> 26.6-27.2 s; the score
# products run as fast either way, and at 5 s nothing changes). Measured on the 2-core Intel Xeon
# (family 6 model 167, AVX-512 + AMX), 2026-12-05.
KEY_LAYOUTS = ("bnhs", "bnsh")


def _scores(q: jax.Array, k: jax.Array, bias: jax.Array | None, keys: str = "bnhs") -> jax.Array:
    """float32 scores `[B, N, T, S]` of scaled queries `q [B, N, T, H]` over keys `k` in layout
    `keys` (`KEY_LAYOUTS`) plus an additive `bias` broadcastable to `[B, N, T, S]`."""
    scores = einsum(f"bnth,{keys}->bnts", q, k, jnp.float32)
    if bias is not None:
        scores = scores + bias.astype(jnp.float32)
    return scores


def attention_probs(q: jax.Array, k: jax.Array, bias: jax.Array | None, keys: str = "bnhs") -> jax.Array:
    """Softmax weights `[B, N, T, S]` of `_scores(q, k, bias, keys)`; the softmax runs in float32."""
    return jax.nn.softmax(_scores(q, k, bias, keys), axis=-1).astype(q.dtype)


# `query_block` < 0 (the encoder's default, `encoder.QUERY_BLOCK`) picks by size: plain attention
# over at most PLAIN_MAX_QUERIES queries; above, one batch row's group of heads at a time, all its
# queries, as many heads as keep the block's scores within SCORE_BLOCK elements (queries split only
# past twice that for one head). Attention core alone, B=8, 16 heads of 64, ms, on the 2-core AMD
# EPYC (Zen 4, AVX-512; `benchmarks/machine.py`), plain / blocks of 128 queries x all heads:
# 249 frames 12.9 / 21.8, 499 frames 135 / 91, 999 frames 542 / 332. On the 2-core Intel Xeon
# (family 6 model 167, AVX-512 + AMX), 2026-12-05, `blockwise_attention` with 128 queries x 16
# heads / this rule's blocks: 311 frames 44.9 / 43.1 (16 heads), 499 frames 94.9 / 64.8 (8),
# 999 frames 340 / 239 (2), 1499 frames 726 / 607 (1); same floats. (Plain there: 249 frames
# 12.6, 311 frames 79.8; a sweep of 1-16 heads per block found no better count at these lengths
# except 2 heads at 1499 frames, 479 ms, over the budget.)
PLAIN_MAX_QUERIES = 256
SCORE_BLOCK = 2**21


def attention_blocks(queries: int, keys: int, heads: int, query_block: int) -> tuple[int, int]:
    """`(query block, heads per block)` for attention of `queries` over `keys` keys in `heads`
    heads; `(0, 0)`: plain attention. `query_block` > 0: blocks of that many queries (all heads)
    when there are more queries, 0: never blocks, < 0: the measured rule above."""
    if query_block >= 0:
        return (query_block, heads) if 0 < query_block < queries else (0, 0)
    if queries <= PLAIN_MAX_QUERIES:
        return 0, 0
    split = -(-queries * keys // (2 * SCORE_BLOCK))  # query blocks for one head
    block = -(-queries // split)
    per_head = block * keys
    group = 1
    while group < heads and heads % (2 * group) == 0 and 2 * group * per_head <= SCORE_BLOCK:
        group *= 2
    return block, group


def attention_values(q: jax.Array, k: jax.Array, v: jax.Array, bias: jax.Array | None,
                     keys: str = "bnhs") -> jax.Array:
    """`attention_probs` times values `v [B, N, S, H]` -> `[B, N, T, H]`, normalised after the
    weighted sum: the softmax's division runs over `[..., T, H]`, not over the `[..., T, S]`
    scores (one pass fewer over them; inference only, where no caller needs the weights). The
    exponentials are written once, in `q`'s dtype, and both the product and the row sum read
    those (bfloat16 attention core at B=8 x 20 s: 170-176 against 200-206 ms with float32 ones
    summed, 2-core Intel Xeon, family 6 model 167, AMX, 2026-12-05; float32 unchanged)."""
    scores = _scores(q, k, bias, keys)
    e = jnp.exp(scores - scores.max(-1, keepdims=True)).astype(q.dtype)
    out = einsum("bnts,bnsh->bnth", e, v, jnp.float32)
    return (out / e.sum(-1, keepdims=True, dtype=jnp.float32)).astype(q.dtype)


def blockwise_attention(
    q: jax.Array, k: jax.Array, v: jax.Array, bias: jax.Array | None, block: int, heads: int = 0,
    keys: str = "bnhs",
) -> jax.Array:
    """`attention_values`, `block` queries of `heads` heads (0: all) of one batch row at a time ->
    `[B, N, T, H]`.

    `q [B, N, T, H]`, `k` in layout `keys`, `v [B, N, S, H]`, key bias `[B|1, 1|N, 1, S]`. Each query
    still sees every key, so the result is the full attention's (up to float rounding), but only
    `[heads, block, S]` scores exist at a time instead of `[B, N, T, S]`: they stay in cache.
    """
    b, n, t, h = q.shape
    s = v.shape[2]
    hb = heads or n
    g, nb = n // hb, -(-t // block)
    q = jnp.pad(q, ((0, 0), (0, 0), (0, nb * block - t), (0, 0)))
    q = q.reshape(b, g, hb, nb, block, h).transpose(0, 1, 3, 2, 4, 5).reshape(b * g * nb, hb, block, h)
    k, v = k.reshape(b * g, hb, *k.shape[2:]), v.reshape(b * g, hb, s, h)
    bias = jnp.zeros((1, 1, 1, s), q.dtype) if bias is None else bias.astype(q.dtype)
    bias = jnp.broadcast_to(bias, (b, n, 1, s)).reshape(b * g, hb, 1, s)
    groups = jnp.repeat(jnp.arange(b * g), nb)  # the (row, head group) of each block

    def one(args: tuple[jax.Array, jax.Array]) -> jax.Array:
        qb, i = args  # [hb, block, H], (row, head group)
        return attention_values(qb[None], k[i][None], v[i][None], bias[i][None], keys)[0]

    out = jax.lax.map(one, (q, groups))  # [B * g * nb, hb, block, H]
    out = out.reshape(b, g, nb, hb, block, h).transpose(0, 1, 3, 2, 4, 5)
    return out.reshape(b, n, nb * block, h)[:, :, :t]


class Attention(nn.Module):
    """Multi-head attention with biased q/k/v/out projections and `q * head_dim**-0.5`.

    Inputs are `[B, X, D]`; heads come out in the module's layout (see the module docstring).
    """

    embed_dim: int
    num_heads: int
    dropout: float = 0.0
    dtype: jnp.dtype = jnp.float32
    # Inference over more queries than this runs in query blocks of this size (0: never; < 0:
    # `attention_blocks`' rule).
    query_block: int = 0
    keys_layout: str = "bnhs"  # see `KEY_LAYOUTS`

    def setup(self) -> None:
        dense = functools.partial(Dense, self.embed_dim, dtype=self.dtype)
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            dense(name=n) for n in ("q_proj", "k_proj", "v_proj", "out_proj")
        )
        self.attn_dropout = nn.Dropout(self.dropout)
        if self.keys_layout not in KEY_LAYOUTS:
            raise ValueError(f"keys_layout {self.keys_layout!r}: expected one of {KEY_LAYOUTS}")

    def _heads(self, x: jax.Array) -> jax.Array:
        """`[B, X, D]` -> `[B, N, X, H]`."""
        h = self.embed_dim // self.num_heads
        return x.reshape(*x.shape[:-1], self.num_heads, h).swapaxes(-3, -2)

    def queries(self, x: jax.Array) -> jax.Array:
        """Scaled queries `[B, N, X, H]`."""
        return self._heads(self.q_proj(x) * ((self.embed_dim // self.num_heads) ** -0.5))

    def keys(self, x: jax.Array) -> jax.Array:
        """Keys `[B, N, H, X]` (layout "bnhs") or `[B, N, X, H]` ("bnsh")."""
        k = self._heads(self.k_proj(x))
        return k if self.keys_layout == "bnsh" else k.swapaxes(-2, -1)

    def values(self, x: jax.Array) -> jax.Array:
        """Values `[B, N, X, H]`."""
        return self._heads(self.v_proj(x))

    def context(
        self, q: jax.Array, k: jax.Array, v: jax.Array, bias: jax.Array | None,
        deterministic: bool = True,
    ) -> jax.Array:
        """`q [B,N,T,H]` over keys `k` (`keys()`' layout), `v [B,N,S,H]` + `bias` -> values
        `[B, N, T, H]`."""
        layout = self.keys_layout
        block, heads = attention_blocks(q.shape[2], v.shape[2], q.shape[1], self.query_block)
        if deterministic and not self.is_mutable_collection("intermediates"):  # no weights needed
            if block and (bias is None or bias.shape[-2] == 1):
                return blockwise_attention(q, k, v, bias, block, heads, layout)
            return attention_values(q, k, v, bias, layout)
        probs = attention_probs(q, k, bias, layout)
        # `[B, N, T, S]` for inspection (`model.cross_attentions`); a no-op unless the
        # "intermediates" collection is mutable in `apply`.
        self.sow("intermediates", "attention_weights", probs)
        if self.dropout > 0.0 and not deterministic:
            probs = self.attn_dropout(probs, deterministic=False)
        return einsum("bnts,bnsh->bnth", probs, v)

    def attend(
        self, q: jax.Array, k: jax.Array, v: jax.Array, bias: jax.Array | None,
        deterministic: bool = True,
    ) -> jax.Array:
        """`context`, out-projected -> `[B, T, D]`."""
        return self.project_out(self.context(q, k, v, bias, deterministic))

    def project_out(self, values: jax.Array) -> jax.Array:
        """Attention values `[B, N, T, H]` -> `out_proj` of the heads joined, `[B, T, D]`."""
        b, n, t, h = values.shape
        return self.out_proj(values.swapaxes(1, 2).reshape(b, t, n * h))

    def __call__(
        self, x: jax.Array, bias: jax.Array | None = None, deterministic: bool = True
    ) -> jax.Array:
        """Self-attention over `x [B, T, D]` -> `[B, T, D]`."""
        return self.attend(self.queries(x), self.keys(x), self.values(x), bias, deterministic)


def sinusoidal_table(rows: int, dim: int, padding_idx: int | None) -> jax.Array:
    """The reference's sinusoidal position table `[rows, dim]`: all sines, then all cosines."""
    half = dim // 2
    freq = jnp.exp(jnp.arange(half, dtype=jnp.float32) * -(math.log(10000) / (half - 1)))
    ang = jnp.arange(rows, dtype=jnp.float32)[:, None] * freq[None, :]
    table = jnp.concatenate([jnp.sin(ang), jnp.cos(ang)], axis=1)
    if padding_idx is not None:
        table = table.at[padding_idx].set(0.0)
    return table
