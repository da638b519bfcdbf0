"""Import Hugging Face PyTorch checkpoints of this family into our params; write converted folders.

A converted folder holds `config.json`, `preprocessor_config.json` and the tokenizer files copied
as they are, plus `params/` saved with orbax-checkpoint. It is written atomically: built in a
temporary sibling folder and renamed into place, so a failed or interrupted conversion leaves no
half-written output.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict
from tqdm.auto import tqdm

from convert.mapping import path_to_torch_key, to_params_layout, to_torch_layout, torch_key_to_path
from s2t2_jax.config import ModelConfig

SAFETENSORS = "model.safetensors"
TORCH_BIN = "pytorch_model.bin"
# Files copied as they are from a source folder into a converted one (those that exist).
COPIED_FILES = (
    "config.json", "generation_config.json", "preprocessor_config.json", "vocab.json",
    "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
)
PARAMS_DIR = "params"


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names each offending key or file."""


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


def _weight_files(folder: Path) -> list[Path]:
    for name in (SAFETENSORS, TORCH_BIN):
        if (folder / name).is_file():
            return [folder / name]
        index = folder / f"{name}.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            return [folder / f for f in sorted(set(weight_map.values()))]
    raise ConversionError(f"{folder} has no {SAFETENSORS} or {TORCH_BIN} (nor a sharded index)")


def _read_file(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    """(key, array) pairs of one weight file: safetensors without torch, .bin weights-only."""
    if not path.is_file():
        raise ConversionError(f"missing weight file {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="flax") as f:  # flax: bfloat16 is readable
                for key in f.keys():
                    yield key, np.asarray(f.get_tensor(key))
        else:
            import torch  # only to read .bin files; never a full unpickle

            state = torch.load(path, map_location="cpu", weights_only=True)
            for key, t in state.items():
                t = t.detach()
                yield key, (t.float().numpy().astype("bfloat16") if t.dtype == torch.bfloat16
                            else t.numpy())
    except ConversionError:
        raise
    except Exception as e:
        raise ConversionError(f"cannot read {path}: {type(e).__name__}: {e}") from e


def read_state_dict(folder: str | os.PathLike, progress: bool = True) -> dict[str, np.ndarray]:
    """All tensors of a HF checkpoint folder as numpy arrays, by torch key."""
    files = _weight_files(Path(folder))
    out: dict[str, np.ndarray] = {}
    total = sum(f.stat().st_size for f in files if f.exists())
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="reading weights",
               disable=not progress or total < 200e6)
    for f in files:
        for key, value in _read_file(f):
            out[key] = value
            bar.update(value.nbytes)
    bar.close()
    return out


def state_dict_to_params(
    state: Mapping[str, np.ndarray], config: ModelConfig, dtype: str | None = None
) -> dict:
    """Map a reference state dict onto our params pytree, strictly.

    Every source tensor must be used and every param filled with the right shape; otherwise a
    `ConversionError` lists each missing, unexpected and misshapen key. `dtype` (e.g. "bfloat16")
    casts floating params; None keeps float32.
    """
    from s2t2_jax.model import param_shapes

    shapes = flatten_dict(param_shapes(config))
    targets = set(shapes)
    state = dict(state)
    tied = config.decoder.tie_word_embeddings
    lm_key, embed_key = "decoder.lm_head.weight", "decoder.model.decoder.embed_tokens.weight"
    if tied and lm_key in state:
        # The reference ties lm_head to embed_tokens; loading a checkpoint holding both fills
        # both with the lm_head tensor (it is loaded last), so that is what we keep.
        state[embed_key] = state.pop(lm_key)

    params, unexpected, misshapen, seen = {}, [], [], set()
    for key, value in state.items():
        path = torch_key_to_path(key, targets)
        if path is None:
            unexpected.append(key)
            continue
        seen.add(path)
        value = to_params_layout(path, value)
        if tuple(value.shape) != tuple(shapes[path].shape):
            expected = to_torch_layout(path, np.empty(shapes[path].shape, np.float32)).shape
            misshapen.append(f"{key}: expected {tuple(expected)}, got {tuple(state[key].shape)}")
            continue
        params[path] = value
    missing = [path_to_torch_key(p) for p in sorted(targets - seen)]
    problems = []
    for title, items in (("missing", missing), ("unexpected", unexpected),
                         ("misshapen", misshapen)):
        if items:
            problems.append(f"{len(items)} {title}: " + "; ".join(items))
    if problems:
        raise ConversionError("checkpoint does not match the config: " + " | ".join(problems))
    target_dtype = np.dtype(dtype or "float32")
    return unflatten_dict({
        p: np.asarray(v, target_dtype if np.issubdtype(v.dtype, np.floating) or
                      v.dtype.name == "bfloat16" else v.dtype)
        for p, v in params.items()
    })


def params_to_state_dict(params: Mapping, config: ModelConfig) -> dict[str, np.ndarray]:
    """Our params as a reference state dict (float32, modern weight-norm names)."""
    out = {}
    for path, value in flatten_dict(params).items():
        out[path_to_torch_key(path)] = np.ascontiguousarray(
            to_torch_layout(path, np.asarray(value, np.float32))
        )
    return out


def load_hf_folder(
    folder: str | os.PathLike, dtype: str | None = None, progress: bool = True
) -> tuple[ModelConfig, dict]:
    """Config and params from a HF PyTorch folder (converted in memory)."""
    folder = Path(folder)
    config = ModelConfig.from_json(folder)
    return config, state_dict_to_params(read_state_dict(folder, progress), config, dtype)


def save_params(params: Mapping, directory: str | os.PathLike) -> None:
    """Save a params pytree with orbax-checkpoint into `directory` (which must not exist)."""
    import orbax.checkpoint as ocp

    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(os.path.abspath(directory), params)
        ckpt.wait_until_finished()


def load_params(directory: str | os.PathLike, config: ModelConfig | None = None) -> dict:
    """Restore params saved by `save_params` (as numpy-backed jax arrays on the default device)."""
    import orbax.checkpoint as ocp

    with ocp.StandardCheckpointer() as ckpt:
        return ckpt.restore(os.path.abspath(directory))


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


def copy_model_files(source: Path, dest: Path, skip: tuple[str, ...] = ()) -> None:
    """Copy the config, tokenizer and preprocessor files that exist in `source` as they are."""
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


def convert(
    src: str | os.PathLike, out: str | os.PathLike, dtype: str | None = None,
    force: bool = False, progress: bool = True,
) -> Path:
    """Convert a HF PyTorch folder or hub id into a converted folder at `out`."""
    out_path = refuse_existing(out, force)  # before any download or reading
    folder = resolve_source(src)
    config, params = load_hf_folder(folder, dtype, progress)
    return write_converted(out_path, params, folder, force=force)
