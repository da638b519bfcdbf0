"""The whole speech translator (HF `SpeechEncoderDecoderModel`) and its pure functions.

Every public function here is pure: `params, config, inputs -> outputs`. `config` is a frozen
`ModelConfig` (hashable: pass it as a static argument under `jax.jit`), `params` the pytree
`{"encoder": ..., "enc_to_dec_proj": ... (if any), "decoder": ...}`.

Shape letters: see `s2t2_jax/__init__.py`.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from s2t2_jax.attention import Dense
from s2t2_jax.config import ModelConfig
from s2t2_jax.decoder import KVCache, Speech2Text2Decoder
from s2t2_jax.encoder import QUERY_BLOCK, Wav2Vec2Encoder, frame_mask, min_input_samples

Params = dict[str, Any]


class SpeechEncoderDecoder(nn.Module):
    """Encoder, optional `enc_to_dec_proj`, decoder; methods are used through `apply`."""

    config: ModelConfig
    dtype: jnp.dtype = jnp.float32
    query_block: int = QUERY_BLOCK
    padding_invariant: bool = False  # see `encoder.Wav2Vec2Encoder`

    def setup(self) -> None:
        cfg = self.config
        self.encoder = Wav2Vec2Encoder(cfg.encoder, self.dtype, self.query_block, self.padding_invariant)
        if cfg.has_enc_to_dec_proj:
            self.enc_to_dec_proj = Dense(cfg.decoder.d_model, dtype=self.dtype)
        self.decoder = Speech2Text2Decoder(cfg.decoder, self.dtype)

    def encode(
        self, input_values: jax.Array, attention_mask: jax.Array | None = None,
        deterministic: bool = True, time_mask: jax.Array | None = None,
        feature_mask: jax.Array | None = None,
    ) -> tuple[jax.Array, jax.Array]:
        """Audio `[B, L]` -> encoder states for the decoder `[B, S, D]` and frame mask `[B, S]`."""
        h = self.encoder(input_values, attention_mask, deterministic, time_mask, feature_mask)
        if self.config.has_enc_to_dec_proj:
            h = self.enc_to_dec_proj(h)
        if attention_mask is None:
            mask = jnp.ones(h.shape[:2], bool)
        else:  # adapter-aware lengths, as the reference's cross-attention mask
            mask = frame_mask(attention_mask, h.shape[1], self.config.encoder)
        return h, mask

    def init_cache(self, enc: jax.Array, enc_mask: jax.Array, max_length: int, group: int = 1) -> KVCache:
        return self.decoder.init_cache(enc, enc_mask, max_length, group)

    def decode(
        self, ids: jax.Array, enc: jax.Array | None = None, enc_mask: jax.Array | None = None,
        cache: KVCache | None = None, attention_mask: jax.Array | None = None,
        deterministic: bool = True,
    ) -> tuple[jax.Array, KVCache]:
        if cache is None:  # a teacher-forced pass: a fresh cache exactly as long as `ids`
            if enc is None:
                raise ValueError("decode needs encoder states (enc) or a cache")
            if enc_mask is None:
                enc_mask = jnp.ones(enc.shape[:2], bool)
            cache = self.decoder.init_cache(enc, enc_mask, ids.shape[1])
        return self.decoder(ids, cache, attention_mask, deterministic)

    def __call__(
        self, input_values: jax.Array, decoder_input_ids: jax.Array,
        attention_mask: jax.Array | None = None, decoder_attention_mask: jax.Array | None = None,
        deterministic: bool = True, time_mask: jax.Array | None = None,
        feature_mask: jax.Array | None = None,
    ) -> jax.Array:
        enc, mask = self.encode(input_values, attention_mask, deterministic, time_mask, feature_mask)
        return self.decode(decoder_input_ids, enc, mask, None, decoder_attention_mask, deterministic)[0]


@functools.lru_cache(maxsize=64)
def module(
    config: ModelConfig, dtype: Any = jnp.float32, query_block: int = QUERY_BLOCK,
    padding_invariant: bool = False,
) -> SpeechEncoderDecoder:
    """The (stateless) Flax module for a config; `dtype` is the computation dtype, `query_block`
    the encoder's inference attention block (0: plain attention at every length; -1: chosen by
    length, `attention.attention_blocks`),
    `padding_invariant` see `encoder.Wav2Vec2Encoder`."""
    return SpeechEncoderDecoder(config, jnp.dtype(dtype), int(query_block), bool(padding_invariant))


def init_params(config: ModelConfig, rng: jax.Array | int = 0, dtype: Any = jnp.float32) -> Params:
    """Randomly initialised params (for tests and training from scratch), stored in `dtype`."""
    if isinstance(rng, int):
        rng = jax.random.PRNGKey(rng)
    n = 2 * min_input_samples(config.encoder)
    variables = module(config).init(
        rng, jnp.zeros((1, n), jnp.float32), jnp.zeros((1, 1), jnp.int32)
    )
    return jax.tree.map(lambda x: x.astype(dtype), variables["params"])


def param_shapes(config: ModelConfig) -> Params:
    """Shapes and dtypes of the params pytree, without allocating (`jax.ShapeDtypeStruct`s)."""
    return jax.eval_shape(functools.partial(init_params, config))


def encode(
    params: Params, config: ModelConfig, input_values: jax.Array,
    attention_mask: jax.Array | None = None, dtype: Any = jnp.float32,
    query_block: int = QUERY_BLOCK, padding_invariant: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """Audio `[B, L]` (+ sample mask `[B, L]`) -> states `[B, S, D]`, frame mask `[B, S]` bool.

    States are what the decoder cross-attends: after the adapter and `enc_to_dec_proj`.
    `padding_invariant`: each row's real states are those of its unpadded input alone, whatever
    the padding (`encoder.Wav2Vec2Encoder`); off, the reference's semantics for a given mask.
    """
    return module(config, dtype, query_block, padding_invariant).apply(
        {"params": params}, input_values, attention_mask, method=SpeechEncoderDecoder.encode
    )


def init_cache(
    params: Params, config: ModelConfig, enc: jax.Array, enc_mask: jax.Array | None,
    max_length: int, group: int = 1, dtype: Any = jnp.float32,
) -> KVCache:
    """A decoder cache for `max_length` tokens of `group` rows per item (beams or samples; rows
    are item-major), with cross keys/values projected from `enc [B, S, D]` (`enc_mask [B, S]`,
    None: every frame real)."""
    if enc_mask is None:
        enc_mask = jnp.ones(jnp.shape(enc)[:2], bool)
    return module(config, dtype).apply(
        {"params": params}, enc, enc_mask, max_length, group, method=SpeechEncoderDecoder.init_cache
    )


def decode(
    params: Params, config: ModelConfig, ids: jax.Array, enc: jax.Array | None = None,
    enc_mask: jax.Array | None = None, cache: KVCache | None = None,
    attention_mask: jax.Array | None = None, dtype: Any = jnp.float32,
) -> tuple[jax.Array, KVCache]:
    """Token ids `[R, T]` -> logits `[R, T, V]` and the cache after them.

    With `cache` (from `init_cache`): `ids` continue the cached prefix (one generation step, or
    several tokens). Without: a teacher-forced pass over `ids` cross-attending `enc [B, S, D]`
    (`enc_mask [B, S]`), padding-masked by `attention_mask [R, T]` if given.
    """
    return module(config, dtype).apply(
        {"params": params}, ids, enc, enc_mask, cache, attention_mask,
        method=SpeechEncoderDecoder.decode,
    )


def shift_tokens_right(labels: jax.Array, config: ModelConfig) -> jax.Array:
    """Labels `[B, T]` -> decoder inputs: start token first, shifted right, -100 -> pad."""
    shifted = jnp.concatenate(
        [jnp.full_like(labels[:, :1], config.label_start_token_id), labels[:, :-1]], axis=1
    )
    return jnp.where(shifted == -100, config.label_pad_id, shifted)


def cross_entropy(logits: jax.Array, labels: jax.Array, label_smoothing: float = 0.0) -> jax.Array:
    """Mean token cross-entropy of `logits [B, T, V]` over `labels [B, T]` != -100 (torch
    `CrossEntropyLoss(label_smoothing=...)` semantics), except that a batch with no valid label
    gives 0, not NaN (a batch of padding rows must not poison the params in training)."""
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)  # [B, T, V]
    valid = labels != -100
    safe = jnp.where(valid, labels, 0)
    nll = -jnp.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    if label_smoothing > 0.0:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(-1)
    return jnp.sum(jnp.where(valid, nll, 0.0)) / jnp.maximum(jnp.sum(valid), 1)


def forward(
    params: Params, config: ModelConfig, input_values: jax.Array,
    decoder_input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
    labels: jax.Array | None = None, decoder_attention_mask: jax.Array | None = None,
    dtype: Any = jnp.float32,
) -> dict[str, jax.Array]:
    """Teacher-forced pass: `{"logits": [B, T, V]}` plus `"loss"` when `labels [B, T]` are given.

    Without `decoder_input_ids`, they are `labels` shifted right with the start token.
    """
    if decoder_input_ids is None:
        if labels is None:
            raise ValueError("forward needs decoder_input_ids or labels")
        decoder_input_ids = shift_tokens_right(labels, config)
    logits = module(config, dtype).apply(
        {"params": params}, input_values, decoder_input_ids, attention_mask, decoder_attention_mask
    )
    out = {"logits": logits}
    if labels is not None:
        out["loss"] = cross_entropy(logits, labels)
    return out


def cross_attentions(
    params: Params, config: ModelConfig, input_values: jax.Array, decoder_input_ids: jax.Array,
    attention_mask: jax.Array | None = None, decoder_attention_mask: jax.Array | None = None,
    dtype: Any = jnp.float32,
) -> jax.Array:
    """Teacher-forced cross-attention weights `[layers, B, heads, T, S]` (the reference's
    `output_attentions=True` `cross_attentions`, stacked): row `t` of layer `l` is how token
    `t` of `decoder_input_ids [B, T]` attends the `S` encoder frames (padded frames get 0).

    For inspection only: generation (`decoding.py`) never records attention weights.
    """
    mdl = module(config, dtype)
    variables = {"params": params}
    enc, mask = mdl.apply(variables, input_values, attention_mask, method=SpeechEncoderDecoder.encode)
    _, state = mdl.apply(
        variables, decoder_input_ids, enc, mask, None, decoder_attention_mask,
        method=SpeechEncoderDecoder.decode, mutable=["intermediates"],
    )
    layers = state["intermediates"]["decoder"]
    return jnp.stack([
        layers[f"layers_{i}"]["encoder_attn"]["attention_weights"][0]
        for i in range(config.decoder.decoder_layers)
    ])
