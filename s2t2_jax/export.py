"""Export our params as a Hugging Face PyTorch folder that `SpeechEncoderDecoderModel` loads.

The folder holds `model.safetensors` (float32, written with `safetensors.numpy`, no torch needed),
`config.json`, `generation_config.json` (the config's generation settings, else the source's file)
and the tokenizer / preprocessor files copied from the source. Keys
follow `save_pretrained`: modern weight-norm names, `embed_positions.weights` included, and no
`decoder.lm_head.weight` when the decoder ties it to `embed_tokens` (the params then have no
`lm_head`). Written atomically: a temporary sibling folder renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from s2t2_jax.checkpoint import atomic_folder, copy_model_files, load_model, refuse_existing
from s2t2_jax.config import ModelConfig
from s2t2_jax.generation_config import GENERATION_FILE
from s2t2_jax.pytorch import SAFETENSORS, params_to_state_dict
from s2t2_jax.train import RUN_CHECKPOINTS, RUN_MODEL_DIR, Checkpoints


def load_any(source: Any, step: int | None) -> tuple[ModelConfig, Mapping, Path | None]:
    """Config, params and the folder holding tokenizer/preprocessor files, from any source."""
    if isinstance(source, tuple):
        config, params = source
        return config, params, None
    if hasattr(source, "config") and hasattr(source, "params"):  # e.g. a SpeechTranslator
        folder = getattr(source, "folder", None)
        return source.config, source.params, None if folder is None else Path(folder)
    folder = Path(source)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    if (folder / RUN_CHECKPOINTS).is_dir():  # a training run folder
        files = folder / RUN_MODEL_DIR
        config = ModelConfig.from_json(files)
        ckpt = Checkpoints(folder / RUN_CHECKPOINTS, read_only=True)
        try:
            if ckpt.latest_step() is None:
                raise FileNotFoundError(f"{folder / RUN_CHECKPOINTS} holds no checkpoint yet")
            params = ckpt.restore_params(config, step)
        finally:
            ckpt.close()
        return config, params, files
    if step is not None:
        raise ValueError("step= only applies to a training run folder")
    config, params, folder = load_model(folder, progress=False)  # converted, or HF: re-export
    return config, params, folder


def export(
    source: Any, out: str | os.PathLike, *, step: int | None = None, force: bool = False,
    files_from: str | os.PathLike | None = None,
) -> Path:
    """Write a HF PyTorch folder at `out` from `source`; returns its path.

    Args:
      source: a training run folder (latest checkpoint, or `step`), a converted folder, a HF
        folder, an object with `.config`/`.params` (e.g. `SpeechTranslator`), or a
        `(ModelConfig, params)` pair.
      out: the output folder; an existing non-empty one is refused unless `force`.
      files_from: where to copy tokenizer/preprocessor files from (default: the source's).
    """
    refuse_existing(out, force)
    config, params, files = load_any(source, step)
    if files_from is not None:
        files = Path(files_from)
    state = params_to_state_dict(params)
    if config.decoder.tie_word_embeddings:
        state.pop("decoder.lm_head.weight", None)  # save_pretrained drops the tied copy
    with atomic_folder(out, force) as tmp:
        save_file({k: np.ascontiguousarray(v, np.float32) for k, v in state.items()},
                  str(tmp / SAFETENSORS), metadata={"format": "pt"})
        config.save(tmp)  # with generation_config.json when the config holds its settings
        if files is not None:
            skip = ("config.json",) if config.generation is None else ("config.json", GENERATION_FILE)
            copy_model_files(files, tmp, skip=skip)
    return Path(out).absolute()
