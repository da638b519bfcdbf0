"""Fine-tuning: optimizer, train/eval steps, checkpoints, and the `s2t2-jax train` entry point.

One idea per module:

- `config`: `TrainConfig`, the run's settings, and its field groups (loop-only, resumable).
- `optim`: learning-rate schedule, frozen / weight-decay labels, `make_optimizer` (AdamW).
- `loss`: `loss_fn`, the reference's loss (mean token cross-entropy over labels != -100, label
  smoothing as torch's; dropout, LayerDrop and SpecAugment in training mode), plus the optional
  auxiliary CTC loss of a training-only `ctc_head` (never exported).
- `step`: `TrainState`, the jitted `train_step` / `eval_step`, and `Trainer`, which runs them on a
  device layout (data parallel, or FSDP with `TrainConfig.fsdp`) and evaluates.
- `metrics`: BLEU and exact match of translations (`translation_scores`).
- `checkpoints`: orbax `Checkpoints` of the train state and the data position, any layout.
- `run_dir`: the run folder's layout, its preparation, and the resume check.
- `loop`: `train_loop`, steps with logging, evaluation and saving.
- `cli`: `add_train_parser` / `train_main`, the `s2t2-jax train` subcommand.

Units: `TrainState.step` counts `train_step` calls (micro-batches); with `grad_accum = k` the
optimizer updates every k calls. `TrainConfig.warmup_steps`, `total_steps`, `save_every`,
`log_every` and `eval_every` count optimizer updates. Checkpoints are named by update.

Shape letters: see `s2t2_jax/__init__.py`.
"""

from s2t2_jax.train.checkpoints import Checkpoints
from s2t2_jax.train.cli import add_train_parser, train_main
from s2t2_jax.train.config import (
    CTC_ALPHABET,
    DECAYS,
    LOOP_FIELDS,
    RESUMABLE_FIELDS,
    Batch,
    Params,
    TrainConfig,
)
from s2t2_jax.train.loop import train_loop
from s2t2_jax.train.loss import (
    CTC_HEAD,
    ctc_loss,
    ctc_transcripts,
    init_ctc_head,
    loss_fn,
    model_params,
    with_ctc_head,
)
from s2t2_jax.train.metrics import translation_scores
from s2t2_jax.train.optim import (
    ALWAYS_FROZEN,
    FEATURE_ENCODER,
    NO_DECAY_LEAVES,
    frozen_stopped,
    lr_schedule,
    make_optimizer,
    param_labels,
)
from s2t2_jax.train.run_dir import (
    RUN_CHECKPOINTS,
    RUN_LOG,
    RUN_MODEL_DIR,
    RUN_TRAIN_CONFIG,
    check_resume,
    prepare_run_dir,
)
from s2t2_jax.train.step import Trainer, TrainState, eval_step, train_step

__all__ = [
    "ALWAYS_FROZEN", "CTC_ALPHABET", "CTC_HEAD", "DECAYS", "FEATURE_ENCODER", "LOOP_FIELDS",
    "NO_DECAY_LEAVES", "RESUMABLE_FIELDS", "RUN_CHECKPOINTS", "RUN_LOG", "RUN_MODEL_DIR",
    "RUN_TRAIN_CONFIG", "Batch", "Checkpoints", "Params", "TrainConfig", "TrainState", "Trainer",
    "add_train_parser", "check_resume", "ctc_loss", "ctc_transcripts", "eval_step", "frozen_stopped",
    "init_ctc_head", "loss_fn", "lr_schedule", "make_optimizer", "model_params", "param_labels",
    "prepare_run_dir", "train_loop", "train_main", "train_step", "translation_scores",
    "with_ctc_head",
]
