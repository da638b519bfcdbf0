"""The train state and its steps: `TrainState`, the jitted `train_step` / `eval_step`, and
`Trainer`, which runs them on a device layout and evaluates (loss, BLEU of translations).

Devices (`s2t2_jax.sharding.Layout`): batches are split over all devices (data parallel; rows of
weight zero pad a batch to a multiple of the device count), params and optimizer state are
replicated, or sharded FSDP-style with `TrainConfig.fsdp`. The jitted step pins its outputs to
the layout, so one program serves every step; checkpoints restore into any layout.

Units: `TrainState.step` counts `train_step` calls (micro-batches); with `grad_accum = k` the
optimizer updates every k calls.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from s2t2_jax import decoding
from s2t2_jax.config import ModelConfig
from s2t2_jax.sharding import Layout
from s2t2_jax.train.config import Batch, Params, TrainConfig
from s2t2_jax.train.loss import loss_fn, model_params, with_ctc_head
from s2t2_jax.train.metrics import translation_scores
from s2t2_jax.train.optim import frozen_stopped, lr_schedule, make_optimizer


@flax.struct.dataclass
class TrainState:
    """Everything that changes during training; a pytree (checkpointed as is)."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # [] int32, train_step calls so far
    rng: jax.Array  # [2] uint32, raw PRNG key for dropout/LayerDrop/SpecAugment


@functools.partial(jax.jit, static_argnames=("config", "train_cfg", "layout"), donate_argnames=("state",))
def train_step(
    state: TrainState, batch: Batch, config: ModelConfig, train_cfg: TrainConfig,
    layout: Layout | None = None,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One micro-batch: loss, grads, optimizer update. Metrics (each `[]`): loss, lr, grad_norm
    (pre-clip); with CTC also ce_loss and ctc_loss.

    `state` is donated. The optimizer is `make_optimizer(train_cfg, params)`, rebuilt at trace
    time (it is pure), so the compiled step only depends on the static configs and shapes.
    `layout`: the grads (reduced straight into the params' layout under FSDP) and the new state
    are pinned to its shardings, the metrics replicated; None: wherever XLA puts them.
    """
    tx = make_optimizer(train_cfg, state.params)
    rng, step_rng = jax.random.split(state.rng)

    def loss_of(params):
        out = loss_fn(frozen_stopped(params, train_cfg), config, batch, step_rng,
                      train_cfg.label_smoothing, train_cfg.spec_augment, train_cfg.dtype,
                      train_cfg.ctc_weight)
        return out if train_cfg.ctc_weight > 0 else (out, {})

    (loss, parts), grads = jax.value_and_grad(loss_of, has_aux=True)(state.params)
    if layout is not None:
        grads = layout.constrain_state(grads)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {
        "loss": loss,
        "lr": lr_schedule(train_cfg)(state.step // train_cfg.grad_accum),
        "grad_norm": optax.tree.norm(grads),  # frozen grads are exactly zero
        **parts,
    }
    new = TrainState(params, opt_state, state.step + 1, rng)
    if layout is not None:
        new = layout.constrain_state(new)
        metrics = jax.lax.with_sharding_constraint(metrics, layout.replicated())
    return new, metrics


@functools.partial(jax.jit, static_argnames=("config", "dtype"))
def eval_step(params: Params, batch: Batch, config: ModelConfig, dtype: str = "float32") -> dict:
    """Deterministic loss `[]` (no dropout, SpecAugment or label smoothing) and its token count
    `[]`."""
    loss = loss_fn(model_params(params), config, batch, None, 0.0, False, dtype)
    return {"loss": loss, "tokens": jnp.sum(batch["labels"] != -100)}


class Trainer:
    """A model config + train config on a device layout: state creation, `train_step`,
    `eval_step`, `evaluate` (loss, and BLEU of generated translations).

    `devices`: the devices to train on (default: all); params and optimizer state are replicated
    over them, or sharded FSDP-style when `train_cfg.fsdp` (see `s2t2_jax.sharding`).
    """

    def __init__(self, config: ModelConfig, train_cfg: TrainConfig,
                 devices: Sequence[jax.Device] | None = None):
        self.config = config
        self.train_cfg = train_cfg
        self.layout = Layout.create(devices, train_cfg.fsdp, train_cfg.fsdp_min_size)

    def init_state(self, params: Params, seed: int | None = None) -> TrainState:
        """A fresh state: float32 copies of `params`, optimizer state, step 0, key from `seed`,
        placed by the layout (as the step's outputs and restored checkpoints are, so that a fresh
        and a restored state share one compiled step)."""
        seed = self.train_cfg.seed if seed is None else seed
        params = with_ctc_head(params, self.config, self.train_cfg)
        shardings = self.layout.state_shardings(params)

        def place(p, sharding):  # a copy: the caller's arrays must survive the donating step
            if isinstance(p, jax.Array):
                return jax.device_put(p.astype(jnp.float32), sharding, may_alias=False)
            return jax.device_put(np.asarray(p, np.float32), sharding)

        params = jax.tree.map(place, params, shardings)
        state = TrainState(
            params=params, opt_state=make_optimizer(self.train_cfg, params).init(params),
            step=jnp.zeros((), jnp.int32), rng=jax.random.PRNGKey(seed),
        )
        return self.layout.put_state(state)

    def abstract_state(self, params: Params) -> TrainState:
        """Shapes, dtypes and shardings of `init_state(params)` (a restore target; allocates
        nothing)."""
        cfg = self.train_cfg

        def make(p):
            p = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), with_ctc_head(p, self.config, cfg))
            return TrainState(p, make_optimizer(cfg, p).init(p), jnp.zeros((), jnp.int32),
                              jax.random.PRNGKey(0))

        shapes = jax.eval_shape(make, params)
        return jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
                            shapes, self.layout.state_shardings(shapes))

    def train_step(self, state: TrainState, batch: Batch) -> tuple[TrainState, dict[str, jax.Array]]:
        """`train_step` with this trainer's configs and layout (`state` is donated); `batch`
        (host arrays) is padded to a multiple of the device count and split over the devices."""
        return train_step(state, self.layout.put_batch(batch), self.config,
                          self.train_cfg.step_config(), self.layout)

    def eval_step(self, params: Params, batch: Batch) -> dict[str, jax.Array]:
        return eval_step(params, self.layout.put_batch(batch), self.config, self.train_cfg.dtype)

    def generate(self, params: Params, batch: Batch, rows: Sequence[int], *, num_beams: int = 1,
                 max_new_tokens: int | None = None) -> np.ndarray:
        """Greedy (or beam search) token ids `[len(rows), T]` for `rows` of `batch`, one row each,
        in order.

        The program's input always has the batch's padded row count (other rows are copies of
        `rows[0]`), so generation compiles once per audio length, not per number of rows.
        """
        x = np.asarray(batch["input_values"])
        rows = list(rows)
        take = np.array(rows + [rows[0]] * (self.layout.padded_rows(len(x)) - len(rows)))
        put = functools.partial(jax.device_put, device=self.layout.batch_sharding())
        mask = batch.get("attention_mask")
        ids = decoding.generate(
            model_params(params), self.config, put(x[take]),
            None if mask is None else put(np.asarray(mask)[take]),
            max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False,
            num_return_sequences=1, dtype=self.train_cfg.dtype,
        )
        return ids[:len(rows)]

    def evaluate(
        self, params: Params, batches: Iterable[Batch], tokenizer: Any | None = None, *,
        num_beams: int | None = None, max_new_tokens: int | None = None,
    ) -> dict[str, float]:
        """Token-weighted mean loss over `batches` (`eval_loss`, `eval_tokens`).

        With a `tokenizer` and batches that carry their references (`"texts"`: one string per
        row, None for padding rows; `BatchLoader.one_epoch(texts=True)`), also generates
        translations (`num_beams`, `max_new_tokens`: default `eval_num_beams` and
        `eval_max_new_tokens`; None there: the model's generation defaults), decodes them with
        `skip_special_tokens=True` and scores them: `bleu` (sacrebleu corpus BLEU, 0-100),
        `exact_match` (fraction equal to their reference, whitespace-normalised), `eval_sentences`.
        """
        cfg = self.train_cfg
        num_beams = cfg.eval_num_beams if num_beams is None else num_beams
        max_new_tokens = cfg.eval_max_new_tokens if max_new_tokens is None else max_new_tokens
        t0 = time.perf_counter()
        total, tokens = 0.0, 0
        hyps: list[str] = []
        refs: list[str] = []
        for batch in batches:
            batch = dict(batch)
            texts = batch.pop("texts", None)
            m = jax.device_get(self.eval_step(params, batch))
            n = int(m["tokens"])
            if n:
                total += float(m["loss"]) * n
                tokens += n
            if tokenizer is not None and texts is not None:
                rows = [i for i, t in enumerate(texts) if t is not None]
                if rows:
                    ids = self.generate(params, batch, rows, num_beams=num_beams,
                                        max_new_tokens=max_new_tokens)
                    hyps += tokenizer.batch_decode(ids, skip_special_tokens=True)
                    refs += [texts[i] for i in rows]
        out: dict[str, float] = {"eval_loss": total / max(tokens, 1), "eval_tokens": tokens}
        if tokenizer is not None:
            out.update(translation_scores(hyps, refs))
        out["eval_seconds"] = round(time.perf_counter() - t0, 3)
        return out
