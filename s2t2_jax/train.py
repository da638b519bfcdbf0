"""Fine-tuning: optimizer, train/eval steps, checkpoints, and the `s2t2-jax train` entry point.

The loss is the reference's (`SpeechEncoderDecoderModel(labels=...)`): labels shifted right with the
decoder start token as decoder inputs, mean token cross-entropy over labels != -100, optionally
label-smoothed as torch's `CrossEntropyLoss(label_smoothing=...)`. In training, dropout, attention
dropout, LayerDrop and SpecAugment (time spans replaced by `masked_spec_embed`, feature channels
zeroed) are active, as in the reference's `model.train()` mode; evaluation runs deterministically.

Units: `TrainState.step` counts `train_step` calls (micro-batches); with `grad_accum = k` the
optimizer updates every k calls. `TrainConfig.warmup_steps`, `total_steps`, `save_every`,
`log_every` and `eval_every` count optimizer updates. Checkpoints are named by update.

Shape letters: B batch, L samples, T label tokens, V vocab.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig
from s2t2_jax.encoder import conv_output_lengths
from s2t2_jax.specaugment import spec_augment_masks

logger = logging.getLogger(__name__)

Batch = Mapping[str, Any]  # input_values [B, L] f32, attention_mask [B, L] int (optional), labels [B, T]
Params = dict[str, Any]

DECAYS = ("linear", "cosine", "constant")
# Never trained by the reference (a requires_grad=False Parameter): no update, no weight decay.
ALWAYS_FROZEN = (("decoder", "embed_positions"),)
FEATURE_ENCODER = ("encoder", "feature_extractor")
# Leaves without weight decay (the HF Trainer's rule: biases and LayerNorm/GroupNorm weights).
NO_DECAY_LEAVES = ("bias", "scale")


# TrainConfig fields that do not change what a train step computes.
LOOP_FIELDS = ("seed", "batch_size", "save_every", "keep_checkpoints", "log_every", "eval_every")


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

    def __post_init__(self) -> None:
        if self.decay not in DECAYS:
            raise ValueError(f"decay={self.decay!r}: expected one of {DECAYS}")
        for name in ("total_steps", "grad_accum", "batch_size", "save_every", "keep_checkpoints",
                     "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(f"warmup_steps={self.warmup_steps} must be in [0, total_steps]")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.clip_norm is not None and self.clip_norm <= 0:
            raise ValueError(f"clip_norm must be positive or None, got {self.clip_norm}")
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


@flax.struct.dataclass
class TrainState:
    """Everything that changes during training; a pytree (checkpointed as is)."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # [] int32, train_step calls so far
    rng: jax.Array  # [2] uint32, raw PRNG key for dropout/LayerDrop/SpecAugment


# ----------------------------------------------------------------------------- optimizer


def lr_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Linear warm-up from 0, then linear/cosine/constant decay (HF `get_*_schedule_with_warmup`)."""

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


def _path(keys) -> tuple[str, ...]:
    return tuple(str(getattr(k, "key", k)) for k in keys)


def param_labels(cfg: TrainConfig, params: Params) -> Params:
    """`"frozen"` or `"train"` per leaf (same tree as `params`)."""
    return jax.tree_util.tree_map_with_path(
        lambda kp, _: "frozen" if _is_frozen(_path(kp), cfg) else "train", params
    )


def _decay_mask(tree: Params) -> Params:
    return jax.tree_util.tree_map_with_path(lambda kp, _: _path(kp)[-1] not in NO_DECAY_LEAVES, tree)


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


# ----------------------------------------------------------------------------- loss and steps


def loss_fn(
    params: Params, config: ModelConfig, batch: Batch, rng: jax.Array | None = None,
    label_smoothing: float = 0.0, spec_augment: bool = True, dtype: Any = jnp.float32,
) -> jax.Array:
    """Mean token cross-entropy of `batch`; training mode (dropout, SpecAugment) iff `rng` is given.

    `batch`: `input_values [B, L]`, optional `attention_mask [B, L]`, `labels [B, T]` (-100 =
    ignored). Decoder inputs are the labels shifted right with the start token (-100 -> pad).
    """
    x, mask, labels = batch["input_values"], batch.get("attention_mask"), batch["labels"]
    ids = M.shift_tokens_right(labels, config)
    net = M.module(config, dtype)
    if rng is None:
        logits = net.apply({"params": params}, x, ids, mask)
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
        logits = net.apply(
            {"params": params}, x, ids, mask, None, deterministic=False, time_mask=time_mask,
            feature_mask=feature_mask, rngs={"dropout": k_drop},
        )
    return token_cross_entropy(logits, labels, label_smoothing)


def token_cross_entropy(logits: jax.Array, labels: jax.Array, label_smoothing: float = 0.0) -> jax.Array:
    """`M.cross_entropy` (torch semantics), except that a batch with no label != -100 gives 0, not
    NaN (a batch of padding rows must not poison the params)."""
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)  # [B, T, V]
    valid = labels != -100
    nll = -jnp.take_along_axis(logp, jnp.where(valid, labels, 0)[..., None], axis=-1)[..., 0]
    if label_smoothing > 0.0:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(-1)
    return jnp.sum(jnp.where(valid, nll, 0.0)) / jnp.maximum(jnp.sum(valid), 1)


def _frozen_stopped(params: Params, train_cfg: TrainConfig) -> Params:
    """`params` with a stop-gradient on frozen leaves (their grads are exactly zero)."""
    return jax.tree_util.tree_map_with_path(
        lambda kp, p: jax.lax.stop_gradient(p) if _is_frozen(_path(kp), train_cfg) else p, params
    )


@functools.partial(jax.jit, static_argnames=("config", "train_cfg"), donate_argnames=("state",))
def train_step(
    state: TrainState, batch: Batch, config: ModelConfig, train_cfg: TrainConfig
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One micro-batch: loss, grads, optimizer update. Metrics: loss, lr, grad_norm (pre-clip).

    `state` is donated. The optimizer is `make_optimizer(train_cfg, params)`, rebuilt at trace
    time (it is pure), so the compiled step only depends on the static configs and shapes.
    """
    tx = make_optimizer(train_cfg, state.params)
    rng, step_rng = jax.random.split(state.rng)

    def loss_of(params):
        return loss_fn(_frozen_stopped(params, train_cfg), config, batch, step_rng,
                       train_cfg.label_smoothing, train_cfg.spec_augment, train_cfg.dtype)

    loss, grads = jax.value_and_grad(loss_of)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {
        "loss": loss,
        "lr": lr_schedule(train_cfg)(state.step // train_cfg.grad_accum),
        "grad_norm": optax.tree.norm(grads),  # frozen grads are exactly zero
    }
    return TrainState(params, opt_state, state.step + 1, rng), metrics


@functools.partial(jax.jit, static_argnames=("config", "dtype"))
def eval_step(params: Params, batch: Batch, config: ModelConfig, dtype: str = "float32") -> dict:
    """Deterministic loss (no dropout, SpecAugment or label smoothing) and its token count."""
    loss = loss_fn(params, config, batch, None, 0.0, False, dtype)
    return {"loss": loss, "tokens": jnp.sum(batch["labels"] != -100)}


class Trainer:
    """A model config + train config: state creation, `train_step`, `eval_step`, `evaluate`."""

    def __init__(self, config: ModelConfig, train_cfg: TrainConfig):
        self.config = config
        self.train_cfg = train_cfg
        if config.decoder.decoder_layerdrop > 0.0:
            logger.warning("decoder.decoder_layerdrop=%s is not implemented; the decoder runs "
                           "every layer in training", config.decoder.decoder_layerdrop)

    def init_state(self, params: Params, seed: int | None = None) -> TrainState:
        """A fresh state: float32 copies of `params`, optimizer state, step 0, key from `seed`."""
        seed = self.train_cfg.seed if seed is None else seed
        params = jax.tree.map(lambda p: jnp.array(p, jnp.float32), params)
        state = TrainState(
            params=params, opt_state=make_optimizer(self.train_cfg, params).init(params),
            step=jnp.zeros((), jnp.int32), rng=jax.random.PRNGKey(seed),
        )
        # Committed to one device, like the step's outputs and restored checkpoints, so that a
        # fresh and a restored state share one compiled step.
        return jax.device_put(state, jax.devices()[0])

    def train_step(self, state: TrainState, batch: Batch) -> tuple[TrainState, dict[str, jax.Array]]:
        """`train_step` with this trainer's configs (`state` is donated)."""
        return train_step(state, batch, self.config, self.train_cfg.step_config())

    def eval_step(self, params: Params, batch: Batch) -> dict[str, jax.Array]:
        return eval_step(params, batch, self.config, self.train_cfg.dtype)

    def evaluate(self, params: Params, batches: Iterable[Batch]) -> dict[str, float]:
        """Token-weighted mean eval loss over `batches`."""
        total, tokens = 0.0, 0
        for batch in batches:
            m = jax.device_get(self.eval_step(params, dict(batch)))
            n = int(m["tokens"])
            if n:
                total += float(m["loss"]) * n
                tokens += n
        return {"eval_loss": total / max(tokens, 1), "eval_tokens": tokens}


# ----------------------------------------------------------------------------- checkpoints


class Checkpoints:
    """Orbax `CheckpointManager` over `directory`: params, the rest of the state, data position.

    Each step folder holds three items: `params` (the params pytree, restorable alone, e.g. for
    export), `train` (`opt_state`, `step`, `rng`) and `data` (JSON, e.g. `{"epoch", "index"}`).
    Orbax writes each step into a temporary folder and renames it when complete, so an
    interrupted save never replaces the latest good checkpoint; stale temporary folders are
    removed when a manager is opened.
    """

    def __init__(self, directory: str | os.PathLike, keep: int | None = 3, read_only: bool = False):
        import orbax.checkpoint as ocp

        self._ocp = ocp
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=not read_only, read_only=read_only,
            cleanup_tmp_directories=not read_only, enable_async_checkpointing=False,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, step: int, state: TrainState, data_state: Mapping[str, Any] | None = None) -> None:
        ocp = self._ocp
        train = {"opt_state": state.opt_state, "step": state.step, "rng": state.rng}
        self.manager.save(step, args=ocp.args.Composite(
            params=ocp.args.StandardSave(state.params),
            train=ocp.args.StandardSave(train),
            data=ocp.args.JsonSave(dict(data_state or {})),
        ), force=True)
        self.manager.wait_until_finished()

    def restore(self, template: TrainState, step: int | None = None) -> tuple[TrainState, dict]:
        """The state at `step` (default: latest) shaped like `template`, and the data position."""
        ocp = self._ocp
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        out = self.manager.restore(step, args=ocp.args.Composite(
            params=ocp.args.StandardRestore(abstract.params),
            train=ocp.args.StandardRestore(
                {"opt_state": abstract.opt_state, "step": abstract.step, "rng": abstract.rng}
            ),
            data=ocp.args.JsonRestore(),
        ))
        t = out["train"]
        state = TrainState(out["params"], t["opt_state"], t["step"], t["rng"])
        return state, dict(out["data"] or {})

    def restore_params(self, config: ModelConfig, step: int | None = None) -> Params:
        """Only the params (float32) at `step` (default: latest)."""
        ocp = self._ocp
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        abstract = M.param_shapes(config)
        out = self.manager.restore(step, args=ocp.args.Composite(
            params=ocp.args.StandardRestore(abstract)
        ))
        return out["params"]

    def close(self) -> None:
        self.manager.close()


# ----------------------------------------------------------------------------- run folder and loop

RUN_MODEL_DIR = "model"  # config.json + tokenizer + preprocessor files of the trained model
RUN_CHECKPOINTS = "checkpoints"
RUN_TRAIN_CONFIG = "train_config.json"
RUN_LOG = "log.jsonl"


def load_initial(model: str | os.PathLike) -> tuple[ModelConfig, Params, Path]:
    """Config, params and folder of a converted folder or a HF PyTorch folder."""
    from s2t2_jax.translator import SpeechTranslator

    tr = SpeechTranslator.from_pretrained(model, progress=False)
    return tr.config, tr.params, Path(tr.folder)


def prepare_run_dir(run_dir: Path, source: Path, config: ModelConfig, train_cfg: TrainConfig) -> None:
    """Write `model/` (config + copied tokenizer/preprocessor files) and `train_config.json`."""
    from convert.checkpoint import COPIED_FILES

    model_dir = run_dir / RUN_MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        if name != "config.json" and (source / name).is_file():
            (model_dir / name).write_bytes((source / name).read_bytes())
    config.save(model_dir)
    (run_dir / RUN_TRAIN_CONFIG).write_text(json.dumps(train_cfg.to_dict(), indent=2) + "\n")


def train_loop(
    trainer: Trainer, state: TrainState, loader: Any, checkpoints: Checkpoints | None = None,
    eval_batches: Callable[[], Iterable[Batch]] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None, stop_at: int | None = None,
) -> TrainState:
    """Run `train_step` until `total_steps` updates, saving, logging and evaluating on the way.

    `loader` yields batches and has `state()` (its JSON-able position) - see `s2t2_jax.data`.
    `stop_at`: stop after this many updates (a checkpoint is saved there), e.g. to split a run.
    Logged records: `{"update", "loss", "lr", "grad_norm", "sec_per_update"}` (loss and norm
    averaged over the micro-batches since the last record) and `{"update", "eval_loss", ...}`.
    """
    cfg = trainer.train_cfg
    k = cfg.grad_accum
    last = min(cfg.total_steps, cfg.total_steps if stop_at is None else stop_at) * k
    log = log or (lambda rec: logger.info("%s", rec))
    step = int(state.step)
    it = iter(loader)
    window: list[dict[str, jax.Array]] = []
    t0 = time.perf_counter()
    while step < last:
        state, metrics = trainer.train_step(state, next(it))
        step += 1
        window.append(metrics)
        if step % k:
            continue
        update = step // k
        if update % cfg.log_every == 0 or step == last:
            m = jax.device_get(window)
            rec = {"update": update, "loss": float(np.mean([x["loss"] for x in m])),
                   "lr": float(m[-1]["lr"]), "grad_norm": float(np.mean([x["grad_norm"] for x in m])),
                   "sec_per_update": (time.perf_counter() - t0) * k / len(m)}
            log(rec)
            window, t0 = [], time.perf_counter()
        if eval_batches is not None and cfg.eval_every and update % cfg.eval_every == 0:
            log({"update": update, **trainer.evaluate(state.params, eval_batches())})
        if checkpoints is not None and (update % cfg.save_every == 0 or step == last):
            checkpoints.save(update, state, loader.state())
    if eval_batches is not None and last == cfg.total_steps * k:
        log({"update": last // k, **trainer.evaluate(state.params, eval_batches())})
    return state


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `train` subcommand (calls `train_main`)."""
    d = TrainConfig()
    p = subparsers.add_parser(
        "train", help="fine-tune a model on a manifest of (audio, text) pairs",
        description="Fine-tune from a converted or HF PyTorch folder. The run folder gets model/ "
        "(config + tokenizer), checkpoints/ (orbax), train_config.json and log.jsonl; rerunning "
        "with the same run folder resumes from its latest checkpoint.",
    )
    p.add_argument("--model", required=True, help="initial model folder (converted or HF PyTorch)")
    p.add_argument("--train", required=True, dest="train_manifest",
                   help=".tsv (audio<TAB>text) or .jsonl ({audio, text})")
    p.add_argument("--output", required=True, dest="run_dir", help="output run folder")
    p.add_argument("--eval", dest="eval_manifest", help="evaluation manifest")
    p.add_argument("--steps", type=int, default=d.total_steps, help="optimizer updates")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.learning_rate)
    p.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    p.add_argument("--decay", choices=DECAYS, default=d.decay)
    p.add_argument("--min-lr-ratio", type=float, default=d.min_lr_ratio)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--clip-norm", type=float, default=d.clip_norm, help="0: no clipping")
    p.add_argument("--grad-accum", type=int, default=d.grad_accum)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--train-feature-encoder", action="store_true",
                   help="also train the conv feature encoder (frozen by default)")
    p.add_argument("--no-spec-augment", action="store_true")
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default=d.dtype,
                   help="computation dtype (params stay float32)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--save-every", type=int, default=d.save_every)
    p.add_argument("--keep", type=int, default=d.keep_checkpoints, help="checkpoints kept")
    p.add_argument("--log-every", type=int, default=d.log_every)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--audio-buckets", type=int, nargs="+", help="padded audio lengths (samples)")
    p.add_argument("--label-buckets", type=int, nargs="+", help="padded label lengths (tokens)")
    p.add_argument("--num-buckets", type=int, default=6, help="buckets when not given")
    p.add_argument("--on-bad-line", choices=["skip", "error"], default="error",
                   help="bad manifest lines: skip them (counted and reported) or stop")
    p.set_defaults(func=train_main)
    return p


def _train_cfg_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        learning_rate=args.lr, warmup_steps=args.warmup_steps, total_steps=args.steps,
        decay=args.decay, min_lr_ratio=args.min_lr_ratio, weight_decay=args.weight_decay,
        clip_norm=args.clip_norm or None, grad_accum=args.grad_accum,
        label_smoothing=args.label_smoothing, freeze_feature_encoder=not args.train_feature_encoder,
        spec_augment=not args.no_spec_augment, dtype=args.dtype, seed=args.seed,
        batch_size=args.batch_size, save_every=args.save_every, keep_checkpoints=args.keep,
        log_every=args.log_every, eval_every=args.eval_every,
    )


def train_main(args: argparse.Namespace) -> int:
    """`s2t2-jax train`: fine-tune, resuming from the run folder's latest checkpoint if any."""
    from s2t2_jax.data import BatchLoader, load_examples
    from s2t2_jax.features import FeatureExtractor
    from s2t2_jax.tokenizer import Tokenizer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train_cfg = _train_cfg_from_args(args)
    run_dir = Path(args.run_dir).absolute()
    ckpt_dir = run_dir / RUN_CHECKPOINTS
    resuming = ckpt_dir.is_dir() and any(p.name.isdigit() for p in ckpt_dir.iterdir())
    if resuming:  # the same settings, or the resumed run would not be the same run
        saved = TrainConfig.from_dict(json.loads((run_dir / RUN_TRAIN_CONFIG).read_text()))
        if saved != train_cfg:
            diff = {k: (v, getattr(train_cfg, k)) for k, v in saved.to_dict().items()
                    if getattr(train_cfg, k) != v}
            raise ValueError(f"{run_dir} was started with other settings {diff} (saved, given); "
                             "use a new run folder or the same settings")
    config, params, source = load_initial(args.model)
    if not resuming:
        prepare_run_dir(run_dir, source, config, train_cfg)
    model_dir = run_dir / RUN_MODEL_DIR
    tokenizer = Tokenizer.from_pretrained(model_dir)
    fe_file = model_dir / "preprocessor_config.json"
    features = FeatureExtractor.from_pretrained(model_dir) if fe_file.is_file() else \
        FeatureExtractor(return_attention_mask=True)
    on_error = "raise" if args.on_bad_line == "error" else "skip"
    data_kw = dict(sampling_rate=features.sampling_rate, on_error=on_error,
                   max_samples=max(args.audio_buckets) if args.audio_buckets else None)
    examples = load_examples(args.train_manifest, tokenizer, config, **data_kw)
    loader = BatchLoader(
        examples, train_cfg.batch_size, features, seed=train_cfg.seed,
        audio_buckets=args.audio_buckets, label_buckets=args.label_buckets,
        num_buckets=args.num_buckets, on_error=on_error,
    )
    eval_batches = None
    if args.eval_manifest:
        eval_examples = load_examples(args.eval_manifest, tokenizer, config, **data_kw)
        eval_loader = BatchLoader(
            eval_examples, train_cfg.batch_size, features, seed=0, shuffle=False,
            audio_buckets=args.audio_buckets, label_buckets=args.label_buckets,
            num_buckets=args.num_buckets, on_error=on_error,
        )
        eval_batches = eval_loader.one_epoch

    trainer = Trainer(config, train_cfg)
    state = trainer.init_state(params)
    checkpoints = Checkpoints(ckpt_dir, keep=train_cfg.keep_checkpoints)
    if resuming:
        state, position = checkpoints.restore(state)
        loader.restore(position)
        logger.info("resumed from update %d (%s)", int(state.step) // train_cfg.grad_accum, position)
    log_file = open(run_dir / RUN_LOG, "a", encoding="utf-8")  # noqa: SIM115

    def log(rec: dict[str, Any]) -> None:
        print(json.dumps(rec), file=log_file, flush=True)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in rec.items()), file=sys.stderr)

    try:
        train_loop(trainer, state, loader, checkpoints, eval_batches, log)
    finally:
        loader.close()
        checkpoints.close()
        log_file.close()
    if loader.bad_lines:
        print(f"skipped {len(loader.bad_lines)} unreadable utterance(s) while training",
              file=sys.stderr)
    print(f"done: {run_dir}", file=sys.stderr)
    return 0
