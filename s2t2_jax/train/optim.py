"""The optimizer: learning-rate schedule, frozen / weight-decay labels of the params, AdamW.

Frozen leaves (`decoder/embed_positions/weights` always, as the reference never trains it; the
conv feature encoder when `TrainConfig.freeze_feature_encoder`) get zero updates, no weight decay
and no Adam state; `frozen_stopped` also makes their gradients exactly zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from s2t2_jax.train.config import Params, TrainConfig

# Never trained by the reference (a requires_grad=False Parameter): no update, no weight decay.
ALWAYS_FROZEN = (("decoder", "embed_positions"),)
FEATURE_ENCODER = ("encoder", "feature_extractor")
# Leaves without weight decay (the HF Trainer's rule: biases and LayerNorm/GroupNorm weights).
NO_DECAY_LEAVES = ("bias", "scale")


def lr_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Linear warm-up from 0, then linear/cosine/constant decay (HF `get_*_schedule_with_warmup`);
    the schedule maps an update count `[]` to a learning rate `[]` f32."""

    def schedule(count: jax.Array) -> jax.Array:
        count = jnp.asarray(count, jnp.float32)
        warm = count / max(cfg.warmup_steps, 1)
        progress = jnp.clip(
            (count - cfg.warmup_steps) / max(cfg.total_steps - cfg.warmup_steps, 1), 0.0, 1.0
        )
        if cfg.decay == "linear":
            factor = 1.0 - progress
        elif cfg.decay == "cosine":
            factor = 0.5 * (1.0 + jnp.cos(math.pi * progress))
        else:
            factor = jnp.ones_like(progress)
        factor = cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * factor
        return cfg.learning_rate * jnp.where(count < cfg.warmup_steps, warm, factor)

    return schedule


def _is_frozen(path: tuple[str, ...], cfg: TrainConfig) -> bool:
    prefixes = ALWAYS_FROZEN + ((FEATURE_ENCODER,) if cfg.freeze_feature_encoder else ())
    return any(path[: len(p)] == p for p in prefixes)


def _path(keys: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(getattr(k, "key", k)) for k in keys)


def param_labels(cfg: TrainConfig, params: Params) -> Params:
    """`"frozen"` or `"train"` per leaf (same tree as `params`)."""
    return jax.tree_util.tree_map_with_path(
        lambda kp, _: "frozen" if _is_frozen(_path(kp), cfg) else "train", params
    )


def _decay_mask(tree: Params) -> Params:
    return jax.tree_util.tree_map_with_path(lambda kp, _: _path(kp)[-1] not in NO_DECAY_LEAVES, tree)


def frozen_stopped(params: Params, train_cfg: TrainConfig) -> Params:
    """`params` with a stop-gradient on frozen leaves (their grads are exactly zero)."""
    return jax.tree_util.tree_map_with_path(
        lambda kp, p: jax.lax.stop_gradient(p) if _is_frozen(_path(kp), train_cfg) else p, params
    )


def make_optimizer(cfg: TrainConfig, params: Params) -> optax.GradientTransformation:
    """AdamW with warm-up + decay and global-norm clipping of the trainable grads.

    Frozen leaves (`decoder/embed_positions/weights` always, the conv feature encoder when
    `freeze_feature_encoder`) get zero updates, no weight decay and no Adam state. With
    `grad_accum > 1` the whole thing is wrapped in `optax.MultiSteps` (mean of micro-batch grads).
    """
    inner = optax.chain(
        optax.clip_by_global_norm(cfg.clip_norm) if cfg.clip_norm else optax.identity(),
        optax.scale_by_adam(cfg.b1, cfg.b2, cfg.eps),
        optax.add_decayed_weights(cfg.weight_decay, mask=_decay_mask)
        if cfg.weight_decay else optax.identity(),
        optax.scale_by_learning_rate(lr_schedule(cfg)),
    )
    tx = optax.multi_transform(
        {"train": inner, "frozen": optax.set_to_zero()}, param_labels(cfg, params)
    )
    if cfg.grad_accum > 1:
        tx = optax.MultiSteps(tx, cfg.grad_accum)
    return tx
