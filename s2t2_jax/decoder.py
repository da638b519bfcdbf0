"""Speech2Text2 decoder (HF `Speech2Text2ForCausalLM`) with an explicit static-shape KV cache.

Shape letters: B batch, T new tokens, M cache length (max tokens), S encoder frames, N heads,
H head dim, D d_model, V vocab. Names mirror the reference's `decoder.model.decoder.*` keys
(`layers_3/self_attn/q_proj`), plus `lm_head` (absent when tied to `embed_tokens`).
"""

from __future__ import annotations

import math

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from s2t2_jax.attention import ACT_FNS, Attention, LayerNorm, mask_bias, sinusoidal_table
from s2t2_jax.config import DecoderConfig


@flax.struct.dataclass
class KVCache:
    """Everything a decode step needs besides params and tokens; passed in and returned.

    Self-attention buffers are preallocated to `M` positions and written in place at `index`;
    cross-attention keys/values are projected once from the encoder states.
    """

    self_k: tuple[jax.Array, ...]  # per layer [B, M, N, H]
    self_v: tuple[jax.Array, ...]  # per layer [B, M, N, H]
    cross_k: tuple[jax.Array, ...]  # per layer [B, S, N, H]
    cross_v: tuple[jax.Array, ...]  # per layer [B, S, N, H]
    cross_mask: jax.Array  # [B, S] bool, True = real encoder frame
    index: jax.Array  # [] int32, number of positions already written

    @property
    def max_length(self) -> int:
        return self.self_k[0].shape[1]


class PositionTable(nn.Module):
    """`embed_positions.weights`: the sinusoidal table, a checkpoint param (never trained)."""

    config: DecoderConfig

    @nn.compact
    def __call__(self, positions: jax.Array) -> jax.Array:
        cfg = self.config
        table = self.param(
            "weights",
            lambda _: sinusoidal_table(cfg.num_positions, cfg.d_model, cfg.pad_token_id),
        )
        return jnp.take(jax.lax.stop_gradient(table), positions, axis=0)


class DecoderLayer(nn.Module):
    """Post-LN layer: self-attention (cached), cross-attention, FFN."""

    config: DecoderConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self) -> None:
        cfg = self.config
        d, n = cfg.d_model, cfg.decoder_attention_heads
        self.self_attn = Attention(d, n, cfg.attention_dropout, self.dtype)
        self.encoder_attn = Attention(d, n, cfg.attention_dropout, self.dtype)
        ln = dict(epsilon=cfg.layer_norm_eps, dtype=self.dtype)
        self.self_attn_layer_norm = LayerNorm(**ln)
        self.encoder_attn_layer_norm = LayerNorm(**ln)
        self.final_layer_norm = LayerNorm(**ln)
        self.fc1 = nn.Dense(cfg.decoder_ffn_dim, dtype=self.dtype)
        self.fc2 = nn.Dense(d, dtype=self.dtype)
        self.drop = nn.Dropout(cfg.dropout)
        self.act_drop = nn.Dropout(cfg.activation_dropout)

    def cross_kv(self, enc: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Cross-attention keys/values `[B, S, N, H]` from encoder states `[B, S, D]`."""
        return self.encoder_attn.project_kv(enc)

    def __call__(
        self, h: jax.Array, self_bias: jax.Array, cross: tuple[jax.Array, jax.Array] | None,
        cross_bias: jax.Array | None, kv_buffers: tuple[jax.Array, jax.Array] | None = None,
        index: jax.Array | None = None, deterministic: bool = True,
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array] | None]:
        """`h [B, T, D]` -> `[B, T, D]` and the updated self-attention buffers (if given)."""
        q = self.self_attn.project_q(h)
        k, v = self.self_attn.project_kv(h)
        if kv_buffers is not None:
            start = (0, index, 0, 0)
            k = jax.lax.dynamic_update_slice(kv_buffers[0], k.astype(kv_buffers[0].dtype), start)
            v = jax.lax.dynamic_update_slice(kv_buffers[1], v.astype(kv_buffers[1].dtype), start)
            kv_buffers = (k, v)
        a = self.self_attn.attend(q, k.astype(q.dtype), v.astype(q.dtype), self_bias, deterministic)
        h = self.self_attn_layer_norm(h + self.drop(a, deterministic))
        if cross is not None:
            q = self.encoder_attn.project_q(h)
            a = self.encoder_attn.attend(q, cross[0], cross[1], cross_bias, deterministic)
            h = self.encoder_attn_layer_norm(h + self.drop(a, deterministic))
        f = self.act_drop(ACT_FNS[self.config.activation_function](self.fc1(h)), deterministic)
        h = self.final_layer_norm(h + self.drop(self.fc2(f), deterministic))
        return h, kv_buffers


class Speech2Text2Decoder(nn.Module):
    """Token ids `[B, T]` + encoder states (or a cache) -> logits `[B, T, V]`."""

    config: DecoderConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self) -> None:
        cfg = self.config
        self.embed_tokens = nn.Embed(cfg.vocab_size, cfg.d_model, dtype=self.dtype)
        self.embed_positions = PositionTable(cfg)
        self.layers = [DecoderLayer(cfg, self.dtype) for _ in range(cfg.decoder_layers)]
        if not cfg.tie_word_embeddings:
            self.lm_head = nn.Dense(cfg.vocab_size, use_bias=False, dtype=self.dtype)
        self.drop = nn.Dropout(cfg.dropout)

    def init_cache(
        self, enc: jax.Array, enc_mask: jax.Array, max_length: int,
        cache_dtype: jnp.dtype | None = None,
    ) -> KVCache:
        """Empty self-attention buffers of `max_length` and cross keys/values from `enc [B,S,D]`."""
        cfg = self.config
        cross = [layer.cross_kv(enc) for layer in self.layers]
        b, n = enc.shape[0], cfg.decoder_attention_heads
        dtype = cache_dtype or cross[0][0].dtype
        zeros = jnp.zeros((b, max_length, n, cfg.d_model // n), dtype)
        return KVCache(
            self_k=(zeros,) * len(cross), self_v=(zeros,) * len(cross),
            cross_k=tuple(k for k, _ in cross), cross_v=tuple(v for _, v in cross),
            cross_mask=enc_mask.astype(bool), index=jnp.zeros((), jnp.int32),
        )

    def __call__(
        self, ids: jax.Array, enc: jax.Array | None = None, enc_mask: jax.Array | None = None,
        cache: KVCache | None = None, attention_mask: jax.Array | None = None,
        deterministic: bool = True,
    ) -> tuple[jax.Array, KVCache | None]:
        """Logits for `ids [B, T]`.

        Without `cache`: a full causal pass over `ids` (cross-attending `enc`, masked by
        `enc_mask`, and padding-masked by `attention_mask [B, T]` if given). With `cache`:
        `ids` continue the cached prefix at `cache.index`; `enc`/`enc_mask` are not needed.
        """
        cfg = self.config
        t = ids.shape[1]
        past = jnp.zeros((), jnp.int32) if cache is None else cache.index
        # [B, T] the reference's positions: pad ids get row `pad` (zeros), others count from pad+1.
        not_pad = (ids != cfg.pad_token_id).astype(jnp.int32)
        positions = (jnp.cumsum(not_pad, axis=1) + past) * not_pad + cfg.pad_token_id
        scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        h = self.embed_tokens(ids) * scale + self.embed_positions(positions).astype(self.dtype)
        h = self.drop(h, deterministic)

        q_pos = past + jnp.arange(t)  # [T] absolute query positions
        if cache is None:
            keep = q_pos[None, :] <= q_pos[:, None]  # [T, T] causal
            keep = keep[None, None]
            if attention_mask is not None:
                keep = keep & attention_mask.astype(bool)[:, None, None, :]
            crosses = [None] * len(self.layers) if enc is None else [
                layer.cross_kv(enc.astype(self.dtype)) for layer in self.layers
            ]
            cross_mask = enc_mask
        else:
            keep = jnp.arange(cache.max_length)[None, :] <= q_pos[:, None]  # [T, M]
            keep = keep[None, None]
            crosses = list(zip(cache.cross_k, cache.cross_v, strict=True))
            cross_mask = cache.cross_mask
        self_bias = mask_bias(keep, self.dtype)
        cross_bias = None if cross_mask is None else mask_bias(cross_mask, self.dtype)[:, None, None]

        new_k, new_v = [], []
        for i, layer in enumerate(self.layers):
            bufs = None if cache is None else (cache.self_k[i], cache.self_v[i])
            if cache is None and cfg.decoder_layerdrop > 0.0 and not deterministic:
                # LayerDrop (training only): the whole batch skips the layer with probability
                # decoder_layerdrop, drawn per step from the dropout key (not at trace time).
                skip = jax.random.uniform(self.make_rng("dropout")) < cfg.decoder_layerdrop
                out, _ = layer(h, self_bias, crosses[i], cross_bias, None, past, deterministic)
                h = jnp.where(skip, h, out)
                continue
            h, bufs = layer(h, self_bias, crosses[i], cross_bias, bufs, past, deterministic)
            if bufs is not None:
                new_k.append(bufs[0])
                new_v.append(bufs[1])

        if cfg.tie_word_embeddings:
            logits = self.embed_tokens.attend(h)
        else:
            logits = self.lm_head(h)
        if cache is not None:
            cache = cache.replace(self_k=tuple(new_k), self_v=tuple(new_v), index=past + t)
        return logits, cache
