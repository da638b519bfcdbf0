"""Speech2Text2 decoder (HF `Speech2Text2ForCausalLM`): one decoder pass over one static cache.

Every decoder pass - a teacher-forced forward over whole label sequences, a generation step of one
token per row, a prompt of several tokens - is the same `Speech2Text2Decoder.__call__`: new token
ids go in with a `KVCache`, logits and the updated cache come out. A teacher-forced forward is a
pass over a fresh cache exactly as long as its tokens.

The cache groups rows per item, `R = B * G` rows (G beams, or samples of one input; G = 1
otherwise), and its layouts put the contracted axis where XLA:CPU's batched matmuls want it, so a
step copies or transposes no buffer (full-size decoder, B=8, 2-core CPU):
- cross-attention keys/values are projected once per item, `[B, N, H|S, S|H]`, and all G rows of
  the item read them as G queries;
- self-attention buffers hold M positions of G slots, position-major, `[B, N, H, M*G]`, written in
  place at `index`;
- a row may attend every slot of its group, masked by the `[B, G, M]` `lineage` table (which slot
  holds the row's own token at each position), so beam search reorders that int table
  (`KVCache.reorder`) instead of gathering 2 x layers key/value buffers (beam-5: 12.6 vs 22.3
  ms/step);
- a step of several rows per item attends only the written prefix of those buffers, the smallest
  of 16, 32, 64, ... positions holding it (`step_attention`, one `lax.switch` per layer).

Names mirror the reference's `decoder.model.decoder.*` keys (`layers_3/self_attn/q_proj`), plus
`lm_head` (absent when tied to `embed_tokens`). Shape letters: see `s2t2_jax/__init__.py`.
"""

from __future__ import annotations

import math

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp

from s2t2_jax.attention import (
    ACT_FNS,
    Attention,
    Dense,
    LayerNorm,
    attention_values,
    dot_general,
    mask_bias,
    sinusoidal_table,
)
from s2t2_jax.config import DecoderConfig


@flax.struct.dataclass
class KVCache:
    """Everything a decoder pass needs besides params and token ids; passed in and returned."""

    self_k: tuple[jax.Array, ...]  # per layer [B, N, H, M*G] float32: position-major, then slot
    self_v: tuple[jax.Array, ...]  # per layer [B, N, M*G, H] float32 (see `init_cache`)
    cross_k: tuple[jax.Array, ...]  # per layer [B, N, H, S], projected once, shared by the group
    cross_v: tuple[jax.Array, ...]  # per layer [B, N, S, H]
    cross_bias: jax.Array  # [B, 1, 1, S] additive encoder frame mask
    lineage: jax.Array  # [B, G, M] int32: the slot holding row g's token at each position
    index: jax.Array  # [] int32: positions already written

    @property
    def max_length(self) -> int:
        return self.lineage.shape[2]

    @property
    def group(self) -> int:
        return self.lineage.shape[1]

    def reorder(self, parent: jax.Array) -> KVCache:
        """Row g of each item continues row `parent [B, G]`'s prefix (beam search): gathers the
        lineage table, not the key/value buffers; positions from `index` on stay each row's own."""
        lineage = jnp.take_along_axis(self.lineage, parent[..., None], 1)
        own = jnp.arange(self.group, dtype=jnp.int32)[:, None]
        return self.replace(
            lineage=jnp.where(jnp.arange(self.max_length) >= self.index, own, lineage)
        )


def prefix_lengths(max_length: int, first: int = 16) -> list[int]:
    """The cached-position counts a generation step attends: 16, 32, 64, ... then `max_length`."""
    out, p = [], first
    while p < max_length:
        out.append(p)
        p *= 2
    return out + [max_length]


def step_attention(q: jax.Array, k: jax.Array, v: jax.Array, bias: jax.Array, index: jax.Array,
                   group: int) -> jax.Array:
    """`attention_values` of a step's queries `[B, N, G, H]` over only the first P positions of the
    self buffers (`k [B, N, H, M*G]`, `v [B, N, M*G, H]`, `bias [B, 1, G, M*G]`), P the smallest of
    `prefix_lengths(M)` holding positions 0..index: the later ones are all masked, so the values
    are the full buffers' while a short output no longer reads all M positions at every step."""
    sizes = prefix_lengths(k.shape[-1] // group)

    def branch(p: int):
        n = p * group
        return lambda q, k, v, bias: attention_values(
            q, k[..., :n].astype(q.dtype), v[..., :n, :].astype(q.dtype), bias[..., :n])

    which = jnp.sum(jnp.asarray(sizes[:-1]) <= index)  # first P >= index + 1 (one compare, no loop)
    return jax.lax.switch(which, [branch(p) for p in sizes], q, k, v, bias)


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
    """Post-LN layer: self-attention over the cache, cross-attention, FFN."""

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
        self.fc1 = Dense(cfg.decoder_ffn_dim, dtype=self.dtype)
        self.fc2 = Dense(d, dtype=self.dtype)
        self.drop = nn.Dropout(cfg.dropout)
        self.act_drop = nn.Dropout(cfg.activation_dropout)

    def cross_kv(self, enc: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Cross-attention keys `[B, N, H, S]` and values `[B, N, S, H]` from `enc [B, S, D]`."""
        return self.encoder_attn.keys(enc), self.encoder_attn.values(enc)

    def __call__(
        self, h: jax.Array, group: int, cache: KVCache, i: int, self_bias: jax.Array,
        deterministic: bool = True,
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`h [B, G*T, D]` (row-major) -> `[B, G*T, D]` and layer `i`'s updated self buffers."""
        b, gt, _ = h.shape
        t = gt // group
        # New keys/values in the buffers' position-major order (no reshape after the update, or
        # XLA copies the buffer).
        k = self.self_attn.keys(h)  # [B, N, H, G*T]
        k = k.reshape(*k.shape[:3], group, t).swapaxes(-2, -1).reshape(k.shape)
        v = self.self_attn.values(h)  # [B, N, G*T, H]
        v = v.reshape(b, v.shape[1], group, t, -1).swapaxes(2, 3).reshape(v.shape)
        at = cache.index * group
        ck = jax.lax.dynamic_update_slice(cache.self_k[i], k.astype(cache.self_k[i].dtype), (0, 0, 0, at))
        cv = jax.lax.dynamic_update_slice(cache.self_v[i], v.astype(cache.self_v[i].dtype), (0, 0, at, 0))
        q = self.self_attn.queries(h)
        # A step of several rows per item (beams, samples) reads G x M slots per row: only the
        # prefix written so far (beam 5, B=8: -15% per step at 200 tokens, ~0 at 64; greedy: no gain).
        if t == 1 and group > 1 and deterministic and not self.is_mutable_collection("intermediates"):
            a = self.self_attn.project_out(step_attention(q, ck, cv, self_bias, cache.index, group))
        else:
            a = self.self_attn.attend(q, ck.astype(q.dtype), cv.astype(q.dtype), self_bias, deterministic)
        h = self.self_attn_layer_norm(h + self.drop(a, deterministic))
        q = self.encoder_attn.queries(h)
        a = self.encoder_attn.attend(q, cache.cross_k[i], cache.cross_v[i], cache.cross_bias,
                                     deterministic)
        h = self.encoder_attn_layer_norm(h + self.drop(a, deterministic))
        f = self.act_drop(ACT_FNS[self.config.activation_function](self.fc1(h)), deterministic)
        return self.final_layer_norm(h + self.drop(self.fc2(f), deterministic)), ck, cv


class Speech2Text2Decoder(nn.Module):
    """Token ids `[R, T]` + a `KVCache` -> logits `[R, T, V]` and the updated cache."""

    config: DecoderConfig
    dtype: jnp.dtype = jnp.float32

    def setup(self) -> None:
        cfg = self.config
        self.embed_tokens = nn.Embed(cfg.vocab_size, cfg.d_model, dtype=self.dtype)
        self.embed_positions = PositionTable(cfg)
        self.layers = [DecoderLayer(cfg, self.dtype) for _ in range(cfg.decoder_layers)]
        if not cfg.tie_word_embeddings:
            self.lm_head = Dense(cfg.vocab_size, use_bias=False, dtype=self.dtype)
        self.drop = nn.Dropout(cfg.dropout)

    def init_cache(self, enc: jax.Array, enc_mask: jax.Array, max_length: int, group: int = 1) -> KVCache:
        """Empty self buffers for `max_length` positions of `group` rows per item, and cross
        keys/values projected from `enc [B, S, D]` (frames where `enc_mask [B, S]`)."""
        cfg = self.config
        enc = enc.astype(self.dtype)
        cross = [layer.cross_kv(enc) for layer in self.layers]
        b, n = enc.shape[0], cfg.decoder_attention_heads
        h = cfg.d_model // n
        # The self buffers stay float32 in every compute dtype: XLA:CPU writes a step into a
        # 16-bit float buffer through a float32 copy of the whole buffer (bfloat16 step, B=8, 249
        # frames: greedy 6.1-7.1 -> 5.1-5.5 ms, beam 5 14.7-17.0 -> 11.9-14.2 ms with float32
        # buffers, on the 2-core Intel Xeon, family 6 model 167, AMX, 2026-12-05).
        zeros_k = jnp.zeros((b, n, h, max_length * group), jnp.float32)
        zeros_v = jnp.zeros((b, n, max_length * group, h), jnp.float32)
        lineage = jnp.arange(group, dtype=jnp.int32)[None, :, None]
        return KVCache(
            self_k=(zeros_k,) * len(cross), self_v=(zeros_v,) * len(cross),
            cross_k=tuple(k for k, _ in cross), cross_v=tuple(v for _, v in cross),
            cross_bias=mask_bias(enc_mask.astype(bool), self.dtype)[:, None, None, :],
            lineage=jnp.broadcast_to(lineage, (b, group, max_length)),
            index=jnp.zeros((), jnp.int32),
        )

    def __call__(
        self, ids: jax.Array, cache: KVCache, attention_mask: jax.Array | None = None,
        deterministic: bool = True,
    ) -> tuple[jax.Array, KVCache]:
        """Logits `[R, T, V]` for `ids [R, T]` continuing the cached prefix at `cache.index`.

        Rows are item-major (`R = B * G`). `attention_mask [R, T]` (0 = padding) hides padded
        new tokens as keys, as the reference's decoder attention mask does in a full pass.
        """
        cfg = self.config
        b, g, m = cache.lineage.shape
        t = ids.shape[1]
        ids = ids.reshape(b, g, t)
        # The reference's positions: pad ids get row `pad` (zeros), others count from pad+1.
        not_pad = (ids != cfg.pad_token_id).astype(jnp.int32)
        positions = (jnp.cumsum(not_pad, axis=-1) + cache.index) * not_pad + cfg.pad_token_id
        scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        h = self.embed_tokens(ids) * scale + self.embed_positions(positions).astype(self.dtype)
        h = self.drop(h.reshape(b, g * t, -1), deterministic)  # [B, G*T, D]

        # Row g's query at position index + t sees position p of slot j iff its own prefix is
        # there (lineage) and p <= index + t (causal).
        q_pos = cache.index + jnp.arange(t)
        causal = jnp.arange(m)[None, :] <= q_pos[:, None]  # [T, M]
        own = cache.lineage[..., None] == jnp.arange(g)  # [B, G, M, G]
        if attention_mask is not None:
            valid = jax.lax.dynamic_update_slice(
                jnp.ones((b, g, m), bool), attention_mask.reshape(b, g, t).astype(bool),
                (0, 0, cache.index))
            own = own & valid[..., None]
        keep = own[:, :, None] & causal[None, None, :, :, None]  # [B, G, T, M, G]
        self_bias = mask_bias(keep.reshape(b, 1, g * t, m * g), self.dtype)

        self_k, self_v = [], []
        for i, layer in enumerate(self.layers):
            out, k, v = layer(h, g, cache, i, self_bias, deterministic)
            if cfg.decoder_layerdrop > 0.0 and not deterministic:
                # LayerDrop (training only): the whole batch skips the layer with probability
                # decoder_layerdrop, drawn per step from the dropout key (not at trace time).
                out = jnp.where(jax.random.uniform(self.make_rng("dropout")) < cfg.decoder_layerdrop,
                                h, out)
            h = out
            self_k.append(k)
            self_v.append(v)
        if cfg.tie_word_embeddings:  # `embed_tokens.attend`, accumulated as every other product
            table = self.embed_tokens.embedding.astype(self.dtype)
            with jax.named_scope("embed_tokens.attend"):  # the op's name in profiles
                logits = dot_general(h.astype(self.dtype), table, (((2,), (1,)), ((), ())))
        else:
            logits = self.lm_head(h)
        cache = cache.replace(self_k=tuple(self_k), self_v=tuple(self_v), index=cache.index + t)
        return logits.reshape(b * g, t, -1), cache
