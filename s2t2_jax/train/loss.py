"""The training loss: the reference's token cross-entropy, plus an optional auxiliary CTC loss.

The loss is the reference's (`SpeechEncoderDecoderModel(labels=...)`): labels shifted right with the
decoder start token as decoder inputs, mean token cross-entropy over labels != -100
(`s2t2_jax.model.cross_entropy`), optionally label-smoothed as torch's
`CrossEntropyLoss(label_smoothing=...)`. In training, dropout, attention dropout, LayerDrop and
SpecAugment (time spans replaced by `masked_spec_embed`, feature channels zeroed) are active, as
in the reference's `model.train()` mode; evaluation runs deterministically.

Auxiliary CTC (`TrainConfig.ctc_weight > 0`, a training aid, not part of the reference model): a
linear head `ctc_head` over the states the decoder attends to predicts the characters of each
utterance's source transcript (`s2t2_jax.data.encode_ctc`); the loss adds `ctc_weight` times the
CTC loss (torch's `CTCLoss(reduction="mean")`: per-utterance loss over its target length, averaged).
It teaches a from-scratch encoder a monotonic, phonetic alignment quickly. The head lives in the
training state only: checkpoints keep it beside the optimizer state, never in the params item,
so exported and packaged models are plain models of the family.

Shape letters: see `s2t2_jax/__init__.py` (Y: CTC target characters).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import optax

from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig
from s2t2_jax.data import decode_ctc
from s2t2_jax.encoder import conv_output_lengths
from s2t2_jax.specaugment import spec_augment_masks
from s2t2_jax.train.config import Batch, Params, TrainConfig

CTC_HEAD = "ctc_head"  # the auxiliary CTC head's key in the training params


def model_params(params: Params) -> Params:
    """The model's params: `params` without the training-only `ctc_head`."""
    return {k: v for k, v in params.items() if k != CTC_HEAD}


def init_ctc_head(config: ModelConfig, num_symbols: int, rng: jax.Array) -> Params:
    """A linear head `[D, num_symbols + 1]` (+ blank) over the decoder-facing encoder states."""
    d = config.decoder.d_model if config.has_enc_to_dec_proj else config.encoder.hidden_size
    kernel = jax.random.normal(rng, (d, num_symbols + 1), jnp.float32) / math.sqrt(d)
    return {"kernel": kernel, "bias": jnp.zeros((num_symbols + 1,), jnp.float32)}


def with_ctc_head(params: Params, config: ModelConfig, cfg: TrainConfig) -> Params:
    """`params` plus a fresh CTC head when `cfg.ctc_weight > 0` and it has none (seeded by
    `cfg.seed`)."""
    if cfg.ctc_weight <= 0 or CTC_HEAD in params:
        return params
    rng = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), 1)
    return {**params, CTC_HEAD: init_ctc_head(config, len(cfg.ctc_alphabet), rng)}


def ctc_logits(head: Params, enc: jax.Array) -> jax.Array:
    """The head's float32 logits `[B, S, K]` (K: the alphabet + blank) over `enc [B, S, D]`."""
    return enc.astype(jnp.float32) @ head["kernel"] + head["bias"]


def ctc_loss(head: Params, enc: jax.Array, enc_mask: jax.Array, ctc_labels: jax.Array) -> jax.Array:
    """torch `CTCLoss(reduction="mean", blank=0)` of the head's predictions from `enc [B, S, D]`
    (frames where `enc_mask [B, S]`) for `ctc_labels [B, Y]` (0 = padding); rows with no frame
    (padding rows) weigh nothing; a row with frames and no label (non-speech) learns all blanks
    (divided by length 1, as torch clamps it)."""
    logits = ctc_logits(head, enc)
    per_row = optax.ctc_loss(logits, 1.0 - enc_mask.astype(jnp.float32), ctc_labels,
                             (ctc_labels == 0).astype(jnp.float32), blank_id=0)
    lengths = jnp.sum(ctc_labels != 0, axis=-1)
    valid = jnp.any(enc_mask, axis=-1)  # an empty target on real frames (non-speech) counts
    per_row = jnp.where(valid, per_row, 0.0) / jnp.maximum(lengths, 1)
    return jnp.sum(per_row) / jnp.maximum(jnp.sum(valid), 1)


def ctc_transcripts(head: Params, enc: jax.Array, enc_mask: jax.Array, alphabet: str) -> list[str]:
    """The head's greedy transcript of each row of `enc [B, S, D]` over its frames (`enc_mask
    [B, S]`): the best symbol per frame, `decode_ctc`. A diagnostic of what the encoder hears."""
    best = jnp.argmax(ctc_logits(head, enc), axis=-1)
    best, mask = jax.device_get((best, enc_mask))
    return [decode_ctc(row[m.astype(bool)], alphabet) for row, m in zip(best, mask, strict=True)]


def _encode_decode(net, x, ids, mask, deterministic, time_mask=None, feature_mask=None):
    """`SpeechEncoderDecoder.__call__` that also returns the encoder states and frame mask."""
    enc, enc_mask = net.encode(x, mask, deterministic, time_mask, feature_mask)
    logits, _ = net.decode(ids, enc, enc_mask, None, None, deterministic)
    return logits, enc, enc_mask


def loss_fn(
    params: Params, config: ModelConfig, batch: Batch, rng: jax.Array | None = None,
    label_smoothing: float = 0.0, spec_augment: bool = True, dtype: Any = jnp.float32,
    ctc_weight: float = 0.0,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    """Mean token cross-entropy `[]` of `batch`; training mode (dropout, SpecAugment) iff `rng` is
    given.

    `batch`: `input_values [B, L]`, optional `attention_mask [B, L]`, `labels [B, T]` (-100 =
    ignored). Decoder inputs are the labels shifted right with the start token (-100 -> pad).
    A batch with no label != -100 gives 0, not NaN (a batch of padding rows must not poison the
    params). `ctc_weight > 0` (needs `params["ctc_head"]` and `batch["ctc_labels"] [B, Y]`):
    returns `(cross-entropy + ctc_weight * CTC, {"ce_loss", "ctc_loss"})` instead.
    """
    x, mask, labels = batch["input_values"], batch.get("attention_mask"), batch["labels"]
    ids = M.shift_tokens_right(labels, config)
    net = M.module(config, dtype)
    variables = {"params": model_params(params)}
    if rng is None:
        logits, enc, enc_mask = net.apply(variables, x, ids, mask, True, method=_encode_decode)
    else:
        k_spec, k_drop = jax.random.split(rng)
        time_mask = feature_mask = None
        if spec_augment:
            ecfg = config.encoder
            frames = int(conv_output_lengths(x.shape[1], ecfg, add_adapter=False))
            lengths = None if mask is None else conv_output_lengths(
                mask.astype(jnp.int32).sum(-1), ecfg, add_adapter=False
            )
            time_mask, feature_mask = spec_augment_masks(k_spec, ecfg, x.shape[0], frames, lengths)
        logits, enc, enc_mask = net.apply(
            variables, x, ids, mask, False, time_mask, feature_mask, rngs={"dropout": k_drop},
            method=_encode_decode,
        )
    ce = M.cross_entropy(logits, labels, label_smoothing)
    if ctc_weight <= 0:
        return ce
    ctc = ctc_loss(params[CTC_HEAD], enc, enc_mask, batch["ctc_labels"])
    return ce + ctc_weight * ctc, {"ce_loss": ce, "ctc_loss": ctc}
