"""Model folders on disk: orbax params, atomic folder writes, the files a model folder carries.

A converted folder holds `config.json`, `generation_config.json`, `preprocessor_config.json` and
the tokenizer files copied as they are, plus `params/` saved with orbax-checkpoint. Folders are
written atomically: built in a temporary sibling folder and renamed into place, so a failed or
interrupted write leaves no half-written output. `load_model` reads a converted folder, a Hugging
Face PyTorch folder (converted in memory by `s2t2_jax.pytorch`) or a hub id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from s2t2_jax.config import ModelConfig
from s2t2_jax.pytorch import ConversionError, read_hf_folder, stack_layers

# Files copied as they are from a source folder into a converted one (those that exist).
COPIED_FILES = (
    "config.json", "generation_config.json", "preprocessor_config.json", "vocab.json",
    "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
)
PARAMS_DIR = "params"


def resolve_source(src: str | os.PathLike) -> Path:
    """A local folder as is; otherwise a hub id, downloaded with huggingface_hub (needs network)."""
    path = Path(src)
    if path.is_dir():
        return path
    if path.exists():
        raise ConversionError(f"{src} is a file; expected a model folder or a hub id")
    if str(src).count("/") > 1 or str(src).startswith((".", "/")):
        raise ConversionError(f"no such model folder: {src}")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(
            str(src), allow_patterns=["*.json", "*.txt", "*.safetensors", "*.bin"]
        ))
    except Exception as e:  # offline, unknown repo, no permission, ...
        raise ConversionError(
            f"{src} is not a local folder and could not be downloaded from the hub "
            f"({type(e).__name__}: {e}); download it elsewhere and pass the folder"
        ) from e


def save_params(params: Mapping, directory: str | os.PathLike) -> None:
    """Save a params pytree with orbax-checkpoint into `directory` (which must not exist)."""
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(os.path.abspath(directory), params)
        ckpt.wait_until_finished()


def load_params(directory: str | os.PathLike, config: ModelConfig) -> dict:
    """Restore params saved by `save_params`, in the stacked-encoder layout (folders written
    before the encoder layers were stacked are stacked on load)."""
    with ocp.StandardCheckpointer() as ckpt:
        return stack_layers(ckpt.restore(os.path.abspath(directory)), config)


def refuse_existing(out: str | os.PathLike, force: bool) -> Path:
    """`out` as an absolute path; FileExistsError if it is a non-empty folder (or a file)."""
    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise FileExistsError(f"{out} exists and is not empty; pass --force to replace it")
    return out


@contextlib.contextmanager
def atomic_folder(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `out` to fill; on success it replaces `out` in one rename.

    An existing non-empty `out` is refused unless `force`, and then only replaced once the new
    folder is complete. On any error (or interrupt) the temporary folder is removed and `out`
    is left as it was.
    """
    out = refuse_existing(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def copy_model_files(source: str | os.PathLike, dest: Path, skip: tuple[str, ...] = ()) -> None:
    """Copy the config, tokenizer and preprocessor files that exist in `source` as they are."""
    source = Path(source)
    for name in COPIED_FILES:
        if name not in skip and (source / name).is_file():
            shutil.copy2(source / name, dest / name)


def write_converted(
    out: str | os.PathLike, params: Mapping, source: Path | None, force: bool = False,
    config: ModelConfig | None = None,
) -> Path:
    """Write a converted folder atomically (see `atomic_folder`): files from `source`, params."""
    with atomic_folder(out, force) as tmp:
        if source is not None:
            copy_model_files(source, tmp)
        if not (tmp / "config.json").exists():
            if config is None:
                raise ConversionError("no config.json to write")
            config.save(tmp)
        save_params(params, tmp / PARAMS_DIR)
    return Path(out).absolute()


def is_converted(folder: str | os.PathLike) -> bool:
    """Whether `folder` is a converted folder (orbax `params/`), not a PyTorch one."""
    return (Path(folder) / PARAMS_DIR).is_dir()


def load_model(
    path: str | os.PathLike, dtype: str | None = None, progress: bool = True
) -> tuple[ModelConfig, Any, Path]:
    """Config, params (device arrays) and folder of a converted folder, a HF PyTorch folder or
    a hub id. `dtype` ("float32", "bfloat16") casts floating params; None keeps them as stored
    (float32 for a PyTorch folder)."""
    folder = Path(path) if Path(path).is_dir() else resolve_source(path)
    if is_converted(folder):
        config = ModelConfig.from_json(folder)
        params = load_params(folder / PARAMS_DIR, config)
    else:
        config, params = read_hf_folder(folder, None, progress)
    if dtype is not None:
        params = jax.tree.map(
            lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
    return config, jax.tree.map(jnp.asarray, params), folder


def convert(
    src: str | os.PathLike, out: str | os.PathLike, dtype: str | None = None,
    force: bool = False, progress: bool = True,
) -> Path:
    """Convert a HF PyTorch folder or hub id into a converted folder at `out`."""
    out_path = refuse_existing(out, force)  # before any download or reading
    folder = resolve_source(src)
    config, params = read_hf_folder(folder, dtype, progress)
    return write_converted(out_path, params, folder, force=force)
