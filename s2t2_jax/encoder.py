"""Wav2Vec2 speech encoder (HF `Wav2Vec2Model`), every variant its config can express.

Shape letters: see `s2t2_jax/__init__.py`.
Submodule names mirror the reference's state dict (`feature_extractor.conv_layers.0.conv` is
`feature_extractor/conv_layers_0/conv`), so the converter's table stays a rename.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from s2t2_jax.attention import (
    ACT_FNS,
    Attention,
    Dense,
    LayerNorm,
    conv_general_dilated,
    dot_general,
    mask_bias,
)
from s2t2_jax.config import EncoderConfig

# The default of every `query_block` argument (static): inference self-attention over many frames
# runs one batch row's block of queries and heads at a time (`attention.blockwise_attention`);
# -1 picks plain or blockwise attention and the blocks by frame count (`attention.attention_blocks`),
# N > 0 uses blocks of N queries over more than N frames, 0 never.
QUERY_BLOCK = -1
# The self-attention keys' layout (`attention.KEY_LAYOUTS`): `[B, N, S, H]`, as projected.
KEYS_LAYOUT = "bnsh"


def conv_output_lengths(lengths, config: EncoderConfig, add_adapter: bool | None = None):
    """Frames after the conv stack (and the adapter, by the reference's formula) for sample counts.

    Works on Python ints, numpy and jax integer arrays alike.
    """
    add_adapter = config.add_adapter if add_adapter is None else add_adapter
    for k, s in zip(config.conv_kernel, config.conv_stride, strict=True):
        lengths = (lengths - k) // s + 1
    if add_adapter:
        for _ in range(config.num_adapter_layers):
            lengths = (lengths - 1) // config.adapter_stride + 1
    return lengths


def min_input_samples(config: EncoderConfig) -> int:
    """Fewest samples that give one frame out of the conv stack."""
    n = 1
    for k, s in reversed(list(zip(config.conv_kernel, config.conv_stride, strict=True))):
        n = (n - 1) * s + k
    return n


def frame_mask(
    sample_mask: jax.Array, num_frames: int, config: EncoderConfig, add_adapter: bool | None = None
) -> jax.Array:
    """Sample mask `[B, L]` (right padded) -> boolean frame mask `[B, num_frames]`."""
    lengths = conv_output_lengths(sample_mask.astype(jnp.int32).sum(-1), config, add_adapter)
    return jnp.arange(num_frames)[None, :] < lengths[:, None]


# Half-precision convs of at least this many input channels run as matmuls (`strided_conv`).
MATMUL_CONV_CHANNELS = 64


def strided_conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """VALID conv `x [B, L, C]` * `kernel [K, C, O]` with `stride` -> `[B, F, O]` as matmuls:
    `x` regrouped (a reshape) into `[B, L/stride, stride*C]` rows, each output frame the sum over
    the ceil(K/stride) rows from its own on of `row @ taps`, accumulated as `dot_general` does.
    Each product's rows (and a partial last group's columns) are a slice of those, which XLA
    copies (~16 ms of conv layer 1 at B=8 x 5 s); products over all rows with shifted results
    measured slower."""
    b, length, c = x.shape
    k, _, o = kernel.shape
    f = (length - k) // stride + 1
    rows = f + -(-k // stride) - 1
    x = x[:, : rows * stride] if length >= rows * stride else jnp.pad(
        x, ((0, 0), (0, rows * stride - length), (0, 0)))
    x = x.reshape(b, rows, stride * c)
    out = None
    for j in range(0, k, stride):
        width = min(stride, k - j) * c
        w = kernel[j: j + stride].reshape(-1, o)
        y = dot_general(x[:, j // stride: j // stride + f, :width], w.astype(x.dtype),
                        (((2,), (0,)), ((), ())), preferred_element_type=jnp.float32)
        out = y if out is None else out + y
    return out


class Conv1d(nn.Module):
    """`nn.Conv`'s params (`kernel [K, C_in, C_out]`, `bias [C_out]`, same initialisers) for a
    VALID strided conv, `[B, L, C_in]` -> `[B, F, C_out]` without the bias, returned beside it
    (None without one): a layer norm after the conv takes it in without an extra pass."""

    features: int
    kernel_size: int
    stride: int
    use_bias: bool
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        shape = (self.kernel_size, x.shape[-1], self.features)
        kernel = self.param("kernel", nn.linear.default_kernel_init, shape, jnp.float32)
        bias = None
        if self.use_bias:
            bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
        if jnp.dtype(self.dtype).itemsize < 4 and x.shape[-1] >= MATMUL_CONV_CHANNELS:
            return strided_conv(x, kernel, self.stride).astype(self.dtype), bias
        y = conv_general_dilated(x, kernel, (self.stride,), "VALID", dimension_numbers=("NWC", "WIO", "NWC"))
        return y, bias


class ConvLayer(nn.Module):
    """Conv1d -> optional norm (`layer`: LayerNorm over channels; `group`: per-channel GroupNorm).

    `mask [B, F]` (this layer's real output frames; group norm only): the group norm's statistics
    come from those frames alone, as for the unpadded input. None: over every frame (the reference).
    """

    config: EncoderConfig
    layer_id: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        cfg, i = self.config, self.layer_id
        x, bias = Conv1d(cfg.conv_dim[i], cfg.conv_kernel[i], cfg.conv_stride[i], cfg.conv_bias,
                         self.dtype, name="conv")(x)
        if cfg.feat_extract_norm == "layer":
            return ACT_FNS[cfg.feat_extract_activation](
                LayerNorm(epsilon=1e-5, dtype=self.dtype, name="layer_norm")(x, shift=bias))
        if bias is not None:
            x = x + bias.astype(x.dtype)
        if i == 0 and cfg.feat_extract_norm == "group":  # each channel normalised over time
            x = nn.GroupNorm(
                num_groups=cfg.conv_dim[0], epsilon=1e-5, use_fast_variance=False,
                dtype=self.dtype, name="layer_norm",
            )(x, mask=None if mask is None else jnp.broadcast_to(mask[:, :, None], x.shape))
        return ACT_FNS[cfg.feat_extract_activation](x)


def grouped_conv_same(x: jax.Array, kernel: jax.Array, groups: int) -> jax.Array:
    """The reference's grouped `Conv1d` with "same" padding K // 2 (an even K's extra last frame
    dropped), `x [B, T, D]`, `kernel [K, D/G, D]` -> `[B, T, D]`, computed in float32 by
    overlap-save discrete Fourier transforms as matmuls.

    Blocks of K outputs each read the 2K inputs from their start; a block's real DFT over 2K
    points is one `[2F, 2K]` matmul (F = K + 1 frequencies, real and imaginary parts stacked), the
    kernel's too, and per frequency and group the channel mixing is one real `[2M, 2C] @ [2C, C]`
    product over the batch's M blocks (X times conj(W)); an inverse `[K, 2F]` matmul gives the
    block's K outputs. Circular wrap never reaches them (t + k < 2K). For the positional conv
    (K=128, 16 groups) this is ~4x fewer FLOPs than the direct convolution, which XLA:CPU runs at
    ~50% of its matmul peak.
    """
    b, t, d = x.shape
    k, c, _ = kernel.shape
    n, f, nb = 2 * k, k + 1, -(-t // k)
    ang = 2 * np.pi * (np.outer(np.arange(f), np.arange(n)) % n) / n
    weight = np.full((f, 1), 2.0)
    weight[0] = weight[-1] = 1.0  # the zero and Nyquist frequencies count once
    fwd = np.concatenate([np.cos(ang), -np.sin(ang)]).astype(np.float32)  # [2F, 2K]
    inv = (np.concatenate([weight * np.cos(ang), -weight * np.sin(ang)])[:, :k].T / n).astype(np.float32)
    hi = jax.lax.Precision.HIGHEST  # float32 passes on TPU too

    kt = kernel.astype(jnp.float32).reshape(k, c, groups, c).transpose(0, 2, 1, 3)  # [K, G, C, C]
    wf = jnp.dot(fwd[:, :k], kt.reshape(k, -1), precision=hi).reshape(2, f, groups, c, c)
    w = wf.transpose(1, 2, 0, 3, 4).reshape(f, groups, 2 * c, c)  # [F, G, (Wr; Wi), C_out]
    xp = jnp.pad(x.astype(jnp.float32), ((0, 0), (k // 2, (nb + 1) * k - t - k // 2), (0, 0)))
    xb = xp.reshape(b, nb + 1, k, d)
    frames = jnp.concatenate([xb[:, :-1], xb[:, 1:]], 2)  # [B, nb, 2K, D]
    xf = jnp.einsum("fn,bjnd->fbjd", fwd, frames, precision=hi)  # [2F, B, nb, D]
    xf = xf.reshape(2, f, b * nb, groups, c).transpose(1, 3, 2, 0, 4)  # [F, G, B*nb, 2, C]
    xr, xi = xf[..., 0, :], xf[..., 1, :]
    # X conj(W): real part [Xr, Xi] @ (Wr; Wi), imaginary part [Xi, -Xr] @ (Wr; Wi): one product.
    lhs = jnp.concatenate([jnp.concatenate([xr, xi], -1), jnp.concatenate([xi, -xr], -1)], 2)
    z = jnp.einsum("fgmc,fgco->fgmo", lhs, w, precision=hi)  # [F, G, 2 B nb, C]
    z = z.reshape(f, groups, 2, b * nb, c).transpose(2, 0, 3, 1, 4).reshape(2 * f, b * nb * d)
    y = jnp.dot(inv, z, precision=hi).reshape(k, b, nb, d).transpose(1, 2, 0, 3)
    return y.reshape(b, nb * k, d)[:, :t].astype(x.dtype)


class PositionalConv(nn.Module):
    """Grouped Conv1d with weight norm over the kernel axis (`dim=2`), "same" padding, then act.

    Params mirror the reference's weight-norm pair: `weight_g [K]` and `weight_v [K, D/G, D]`;
    the kernel is `g[k] * v[k] / ||v[k]||`.
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cfg = self.config
        k, g, d = cfg.num_conv_pos_embeddings, cfg.num_conv_pos_embedding_groups, cfg.hidden_size
        v = self.param("weight_v", nn.initializers.normal(0.02), (k, d // g, d))
        gain = self.param("weight_g", nn.initializers.ones, (k,))
        bias = self.param("bias", nn.initializers.zeros, (d,))
        kernel = gain[:, None, None] * v / jnp.sqrt(jnp.sum(v * v, axis=(1, 2), keepdims=True))
        y = grouped_conv_same(x, kernel, g) + bias.astype(x.dtype)
        return ACT_FNS[cfg.feat_extract_activation](y)


class FeedForward(nn.Module):
    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        cfg = self.config
        x = Dense(cfg.intermediate_size, dtype=self.dtype, name="intermediate_dense")(x)
        x = nn.Dropout(cfg.activation_dropout)(ACT_FNS[cfg.hidden_act](x), deterministic)
        x = Dense(cfg.hidden_size, dtype=self.dtype, name="output_dense")(x)
        return nn.Dropout(cfg.hidden_dropout)(x, deterministic)


class EncoderLayer(nn.Module):
    """A transformer layer: pre-LN when `do_stable_layer_norm`, else post-LN.

    Scanned over the layer stack (`TransformerEncoder`): `(h, bias) -> (h, None)`.
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32
    query_block: int = 0
    deterministic: bool = True

    @nn.compact
    def __call__(self, h: jax.Array, bias: jax.Array | None) -> tuple[jax.Array, None]:
        cfg, det = self.config, self.deterministic
        attn = Attention(
            cfg.hidden_size, cfg.num_attention_heads, cfg.attention_dropout, self.dtype,
            query_block=self.query_block, keys_layout=KEYS_LAYOUT, name="attention",
        )
        ln1 = LayerNorm(epsilon=cfg.layer_norm_eps, dtype=self.dtype, name="layer_norm")
        ln2 = LayerNorm(epsilon=cfg.layer_norm_eps, dtype=self.dtype, name="final_layer_norm")
        ff = FeedForward(cfg, self.dtype, name="feed_forward")
        drop = nn.Dropout(cfg.hidden_dropout)
        if cfg.do_stable_layer_norm:
            out = h + drop(attn(ln1(h), bias, det), det)
            out = out + ff(ln2(out), det)
        else:
            out = ln1(h + drop(attn(h, bias, det), det))
            out = ln2(out + ff(out, det))
        if cfg.layerdrop > 0.0 and not det:
            # LayerDrop with a jax key (drawn per step and layer, not at trace time).
            out = jnp.where(jax.random.uniform(self.make_rng("dropout")) < cfg.layerdrop, h, out)
        return out, None


class TransformerEncoder(nn.Module):
    """`encoder.encoder`: positional conv, the layer stack and the (pre or post) layer norm.

    The layers are one `nn.scan` over stacked params: one `layers` subtree whose leaves have a
    leading layer axis (the reference's `layers.0` .. `layers.{n-1}` stacked by the converter), so
    XLA compiles one layer body instead of n, in training and inference alike.
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32
    query_block: int = 0

    @nn.compact
    def __call__(self, h: jax.Array, mask: jax.Array | None, deterministic: bool = True):
        cfg = self.config
        bias = None
        if mask is not None:
            h = h * mask[:, :, None].astype(h.dtype)  # padded frames are zero before the pos conv
            bias = mask_bias(mask, h.dtype)[:, None, None, :]  # [B, 1, 1, F]
        h = h + PositionalConv(cfg, self.dtype, name="pos_conv_embed")(h)
        norm = LayerNorm(epsilon=cfg.layer_norm_eps, dtype=self.dtype, name="layer_norm")
        if not cfg.do_stable_layer_norm:
            h = norm(h)
        h = nn.Dropout(cfg.hidden_dropout)(h, deterministic)
        layers = nn.scan(
            EncoderLayer, variable_axes={"params": 0}, split_rngs={"params": True, "dropout": True},
            in_axes=nn.broadcast, length=cfg.num_hidden_layers,
        )(cfg, self.dtype, self.query_block, deterministic, name="layers")
        h, _ = layers(h, bias)
        return norm(h) if cfg.do_stable_layer_norm else h


class FeatureEncoder(nn.Module):
    """`feature_extractor`: the conv stack, `[B, L, 1]` -> `[B, F, C]`.

    `sample_mask [B, L]` (right padded): the group norm sees each row's real frames only (see
    `ConvLayer`); real frames never depend on padding otherwise (valid convs). None: the reference.
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, h: jax.Array, sample_mask: jax.Array | None = None) -> jax.Array:
        cfg = self.config
        lengths = None if sample_mask is None else sample_mask.astype(jnp.int32).sum(-1)
        for i in range(cfg.num_feat_extract_layers):
            mask = None
            if lengths is not None and cfg.feat_extract_norm == "group" and i == 0:
                frames = (h.shape[1] - cfg.conv_kernel[0]) // cfg.conv_stride[0] + 1
                real = (lengths - cfg.conv_kernel[0]) // cfg.conv_stride[0] + 1
                mask = jnp.arange(frames)[None, :] < real[:, None]
            h = ConvLayer(cfg, i, self.dtype, name=f"conv_layers_{i}")(h, mask)
        return h


class FeatureProjection(nn.Module):
    """`feature_projection`: LayerNorm -> Linear(C -> D) -> dropout."""

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, h: jax.Array, deterministic: bool = True) -> jax.Array:
        cfg = self.config
        h = LayerNorm(epsilon=cfg.layer_norm_eps, dtype=self.dtype, name="layer_norm")(h)
        h = Dense(cfg.hidden_size, dtype=self.dtype, name="projection")(h)
        return nn.Dropout(cfg.feat_proj_dropout)(h, deterministic)


class AdapterLayer(nn.Module):
    """Strided Conv1d (padding 1) to 2x width, then GLU over channels."""

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        cfg = self.config
        h = nn.Conv(
            2 * cfg.output_hidden_size, (cfg.adapter_kernel_size,), strides=(cfg.adapter_stride,),
            padding=[(1, 1)], dtype=self.dtype, conv_general_dilated=conv_general_dilated, name="conv",
        )(h)
        return nn.glu(h, axis=-1)


class Adapter(nn.Module):
    """Optional adapter: projection + LayerNorm if widths differ, then the conv + GLU layers.

    `lengths [B]` (real frames of each row): frames past them are zeroed before every conv, as
    the unpadded input's zero padding. None: padded frames take part (the reference).
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, h: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
        cfg = self.config
        if cfg.output_hidden_size != cfg.hidden_size:
            h = Dense(cfg.output_hidden_size, dtype=self.dtype, name="proj")(h)
            h = LayerNorm(epsilon=1e-5, dtype=self.dtype, name="proj_layer_norm")(h)
        for i in range(cfg.num_adapter_layers):
            if lengths is not None:
                real = jnp.arange(h.shape[1])[None, :] < lengths[:, None]
                h = jnp.where(real[:, :, None], h, jnp.zeros((), h.dtype))
                lengths = (lengths - 1) // cfg.adapter_stride + 1
            h = AdapterLayer(cfg, self.dtype, name=f"layers_{i}")(h)
        return h


class Wav2Vec2Encoder(nn.Module):
    """Audio `[B, L]` (+ sample mask) -> encoder states `[B, S, D_out]` (adapter applied).

    `query_block`: inference self-attention over more frames than this runs in query blocks.
    `padding_invariant`: with a sample mask, every row's real states are those of its unpadded
    input run alone (the group norm's statistics over real frames, adapter convs zero past a
    row's frames), whatever it is padded and batched with. Off: the reference's semantics for
    a given mask (group norm and adapter see the padding too; no difference for layer-norm
    models without an adapter).
    """

    config: EncoderConfig
    dtype: jnp.dtype = jnp.float32
    query_block: int = QUERY_BLOCK
    padding_invariant: bool = False

    @nn.compact
    def __call__(
        self, input_values: jax.Array, sample_mask: jax.Array | None = None,
        deterministic: bool = True, time_mask: jax.Array | None = None,
        feature_mask: jax.Array | None = None,
    ) -> jax.Array:
        """SpecAugment (training): `time_mask [B, F]` frames are replaced by the learned
        `masked_spec_embed`, then `feature_mask [B, D]` channels are zeroed (as the reference)."""
        cfg = self.config
        alone = self.padding_invariant and sample_mask is not None
        h = FeatureEncoder(cfg, self.dtype, name="feature_extractor")(
            input_values.astype(self.dtype)[:, :, None], sample_mask if alone else None
        )
        mask = None
        if sample_mask is not None:
            mask = frame_mask(sample_mask, h.shape[1], cfg, add_adapter=False)
        h = FeatureProjection(cfg, self.dtype, name="feature_projection")(h, deterministic)
        if cfg.mask_time_prob > 0.0 or cfg.mask_feature_prob > 0.0:
            spec = self.param(
                "masked_spec_embed", nn.initializers.uniform(1.0), (cfg.hidden_size,)
            )
            if time_mask is not None:
                h = jnp.where(time_mask[:, :, None], spec.astype(h.dtype), h)
        if feature_mask is not None:
            h = jnp.where(feature_mask[:, None, :], jnp.zeros((), h.dtype), h)
        h = TransformerEncoder(cfg, self.dtype, self.query_block, name="encoder")(h, mask, deterministic)
        if cfg.add_adapter:
            h = Adapter(cfg, self.dtype, name="adapter")(h, mask.sum(-1) if alone else None)
        return h


def num_frames(num_samples: int, config: EncoderConfig) -> int:
    """Encoder output frames (adapter included) for an unpadded input of `num_samples`."""
    return int(conv_output_lengths(np.int64(num_samples), config))
