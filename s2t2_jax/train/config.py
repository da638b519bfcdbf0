"""`TrainConfig`: the optimisation, loss, loop and device settings of a training run.

Units: `TrainConfig.warmup_steps`, `total_steps`, `save_every`, `log_every` and `eval_every`
count optimizer updates; with `grad_accum = k` an update takes k `train_step` calls (micro-batches).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from s2t2_jax.sharding import FSDP_MIN_SIZE

Batch = Mapping[str, Any]  # input_values [B, L] f32, attention_mask [B, L] int (optional), labels [B, T]
Params = dict[str, Any]

DECAYS = ("linear", "cosine", "constant")
# Default CTC alphabet: English letters, apostrophe and space (index i + 1; 0 is the blank).
CTC_ALPHABET = " abcdefghijklmnopqrstuvwxyz'"

# TrainConfig fields that do not change what a train step computes.
LOOP_FIELDS = ("seed", "batch_size", "save_every", "keep_checkpoints", "log_every", "eval_every",
               "eval_num_beams", "eval_max_new_tokens", "fsdp", "fsdp_min_size")
# Fields a resumed run may change: they do not change the trained params (up to float rounding).
RESUMABLE_FIELDS = ("log_every", "eval_every", "eval_num_beams", "eval_max_new_tokens", "fsdp",
                    "fsdp_min_size")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation and loop settings (steps count optimizer updates, see the module docstring)."""

    learning_rate: float = 1e-4
    warmup_steps: int = 0
    total_steps: int = 1000
    decay: str = "linear"  # after warm-up, to min_lr_ratio * learning_rate at total_steps
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.0  # AdamW, decoupled; not on biases, norms or frozen params
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    clip_norm: float | None = 1.0  # global norm over trainable grads; None = no clipping
    grad_accum: int = 1
    label_smoothing: float = 0.0
    ctc_weight: float = 0.0  # > 0: add this times the auxiliary CTC loss (source transcripts)
    ctc_alphabet: str = CTC_ALPHABET
    freeze_feature_encoder: bool = True
    spec_augment: bool = True  # and the model config's apply_spec_augment / mask_*_prob
    dtype: str = "float32"  # computation dtype; params and optimizer state stay float32
    seed: int = 0
    # Loop.
    batch_size: int = 8
    save_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 50
    eval_every: int = 0  # 0: evaluate only at the end (when an eval set is given)
    eval_num_beams: int = 1  # 1: greedy
    eval_max_new_tokens: int | None = None  # None: the eval set's largest label bucket
    # Devices: params and optimizer state sharded (FSDP) instead of replicated.
    fsdp: bool = False
    fsdp_min_size: int = FSDP_MIN_SIZE  # leaves with fewer elements stay replicated

    def __post_init__(self) -> None:
        if self.decay not in DECAYS:
            raise ValueError(f"decay={self.decay!r}: expected one of {DECAYS}")
        for name in ("total_steps", "grad_accum", "batch_size", "save_every", "keep_checkpoints",
                     "log_every", "eval_num_beams", "fsdp_min_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} must be in [0, total_steps]")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.ctc_weight < 0:
            raise ValueError(f"ctc_weight must be >= 0, got {self.ctc_weight}")
        if len(set(self.ctc_alphabet)) != len(self.ctc_alphabet) or not self.ctc_alphabet:
            raise ValueError(f"ctc_alphabet must be non-empty with no repeated character: "
                             f"{self.ctc_alphabet!r}")
        if self.clip_norm is not None and self.clip_norm <= 0:
            raise ValueError(f"clip_norm must be positive or None, got {self.clip_norm}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.eval_max_new_tokens is not None and self.eval_max_new_tokens < 1:
            raise ValueError(f"eval_max_new_tokens must be >= 1 or None, got {self.eval_max_new_tokens}")
        if self.dtype not in ("float32", "bfloat16"):
            raise ValueError(f"dtype={self.dtype!r}: expected 'float32' or 'bfloat16'")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def step_config(self) -> TrainConfig:
        """This config with the loop-only fields at their defaults: the static argument of
        `train_step`, so that loop settings never cause a recompilation."""
        return dataclasses.replace(self, **{k: getattr(TrainConfig, k) for k in LOOP_FIELDS})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys: {unknown}")
        return cls(**d)
