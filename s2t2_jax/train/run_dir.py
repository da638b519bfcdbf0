"""The run folder of `s2t2-jax train`: its layout, its preparation, and the check that a rerun
resumes the same run.

    model/              config.json + tokenizer + preprocessor files of the trained model
    checkpoints/        orbax checkpoints (`s2t2_jax.train.checkpoints.Checkpoints`), by update
    train_config.json   the run's `TrainConfig`
    log.jsonl           one JSON record per log line (training and evaluation metrics)
"""

from __future__ import annotations

import json
from pathlib import Path

from s2t2_jax.checkpoint import copy_model_files
from s2t2_jax.config import ModelConfig
from s2t2_jax.train.config import RESUMABLE_FIELDS, TrainConfig

RUN_MODEL_DIR = "model"  # config.json + tokenizer + preprocessor files of the trained model
RUN_CHECKPOINTS = "checkpoints"
RUN_TRAIN_CONFIG = "train_config.json"
RUN_LOG = "log.jsonl"


def prepare_run_dir(run_dir: Path, source: Path, config: ModelConfig, train_cfg: TrainConfig) -> None:
    """Write `model/` (config + copied tokenizer/preprocessor files) and `train_config.json`."""
    model_dir = run_dir / RUN_MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)
    copy_model_files(source, model_dir, skip=("config.json",))
    config.save(model_dir)
    (run_dir / RUN_TRAIN_CONFIG).write_text(json.dumps(train_cfg.to_dict(), indent=2) + "\n")


def check_resume(run_dir: Path, train_cfg: TrainConfig) -> bool:
    """Whether `run_dir` holds a checkpoint to resume from; if so, `train_cfg` must equal its saved
    settings up to `RESUMABLE_FIELDS`, or the resumed run would not be the same run (ValueError)."""
    ckpt_dir = run_dir / RUN_CHECKPOINTS
    resuming = ckpt_dir.is_dir() and any(p.name.isdigit() for p in ckpt_dir.iterdir())
    if resuming:
        saved = TrainConfig.from_dict(json.loads((run_dir / RUN_TRAIN_CONFIG).read_text()))
        diff = {k: (v, getattr(train_cfg, k)) for k, v in saved.to_dict().items()
                if getattr(train_cfg, k) != v and k not in RESUMABLE_FIELDS}
        if diff:
            raise ValueError(f"{run_dir} was started with other settings {diff} (saved, given); "
                             "use a new run folder or the same settings")
    return resuming
