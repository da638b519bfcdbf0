"""The reference's PyTorch state dict <-> our params pytree: the name and layout table, reading.

A torch key becomes a params path by four rules, in order:

1. prefixes: `decoder.model.decoder.` -> `decoder.`, `decoder.lm_head.` stays;
   the weight-norm pair `pos_conv_embed.conv.{weight_g, parametrizations.weight.original0}` ->
   `pos_conv_embed.weight_g` (and `weight_v`/`original1` -> `weight_v`, `conv.bias` -> `bias`);
2. a numeric component joins its parent: `layers.3` -> `layers_3`;
3. the leaf `weight` is `kernel` (Linear, Conv1d), `scale` (LayerNorm, GroupNorm) or `embedding`
   (Embedding), whichever the target has;
4. the encoder's transformer layers `encoder/encoder/layers_i/...` are stacked into one
   `encoder/encoder/layers/...` subtree with a leading layer axis (`stack_layers`), the layout the
   encoder scans.

Values: Linear `[out, in]` -> `[in, out]`; Conv1d and weight-norm `v` `[out, in/g, K]` -> `[K, in/g,
out]`; weight-norm `g` `[1, 1, K]` -> `[K]`; everything else as is.

`model.safetensors` is read without torch; `pytorch_model.bin` only with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import jax
import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict
from safetensors import safe_open
from tqdm.auto import tqdm

from s2t2_jax.config import ModelConfig
from s2t2_jax.model import init_params

SAFETENSORS = "model.safetensors"
TORCH_BIN = "pytorch_model.bin"


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names each offending key or file."""


KeyPath = tuple[str, ...]

_WEIGHT_NORM = {
    "conv.weight_g": "weight_g",
    "conv.parametrizations.weight.original0": "weight_g",
    "conv.weight_v": "weight_v",
    "conv.parametrizations.weight.original1": "weight_v",
    "conv.bias": "bias",
}
_LEAF_WEIGHT = ("kernel", "scale", "embedding")


def torch_key_to_path(key: str, targets: set[KeyPath]) -> KeyPath | None:
    """The params path a torch key fills, or None if it has no place in `targets`."""
    if key.startswith("decoder.model.decoder."):
        key = "decoder." + key[len("decoder.model.decoder."):]
    for src, dst in _WEIGHT_NORM.items():
        if key.endswith("pos_conv_embed." + src):
            key = key[: -len(src)] + dst
    key = re.sub(r"\.(\d+)(?=\.|$)", r"_\1", key)
    path = tuple(key.split("."))
    if path[-1] == "weight":
        for leaf in _LEAF_WEIGHT:
            if path[:-1] + (leaf,) in targets:
                return path[:-1] + (leaf,)
        return None
    return path if path in targets else None


def path_to_torch_key(path: KeyPath) -> str:
    """The torch key (modern weight-norm names) for a params path: the inverse of the rules."""
    parts = list(path)
    if parts[0] == "decoder" and parts[1] != "lm_head":
        parts = ["decoder", "model", "decoder", *parts[1:]]
    if parts[-1] in ("kernel", "scale", "embedding"):
        parts[-1] = "weight"
    key = ".".join(parts)
    key = re.sub(r"_(\d+)(?=\.|$)", r".\1", key)
    if "pos_conv_embed." in key:
        key = key.replace("pos_conv_embed.weight_g", "pos_conv_embed.conv.parametrizations.weight.original0")
        key = key.replace("pos_conv_embed.weight_v", "pos_conv_embed.conv.parametrizations.weight.original1")
        key = key.replace("pos_conv_embed.bias", "pos_conv_embed.conv.bias")
    return key


def _swap_kernel(path: KeyPath, value: np.ndarray) -> np.ndarray:
    """Linear `[out, in]` <-> `[in, out]`, Conv1d / weight-norm v `[out, in/g, K]` <-> `[K, in/g,
    out]` (all axes reversed: its own inverse); other leaves as they are."""
    return value.T if path[-1] in ("kernel", "weight_v") and value.ndim in (2, 3) else value


def to_params_layout(path: KeyPath, value: np.ndarray) -> np.ndarray:
    """A torch tensor (as numpy) in our layout for `path`."""
    return value.reshape(-1) if path[-1] == "weight_g" else _swap_kernel(path, value)


def to_torch_layout(path: KeyPath, value: np.ndarray) -> np.ndarray:
    """Our param at `path` in the reference's layout (inverse of `to_params_layout`)."""
    return value.reshape(1, 1, -1) if path[-1] == "weight_g" else _swap_kernel(path, value)


def stack_layers(params: Mapping, config: ModelConfig) -> dict:
    """Params with `encoder/encoder/layers_0..n-1` stacked into one `layers` subtree
    (leaves `[n, ...]`); a tree already stacked is returned as is."""
    inner = dict(params["encoder"]["encoder"])
    if "layers" in inner:
        return dict(params)
    layers = [inner.pop(f"layers_{i}") for i in range(config.encoder.num_hidden_layers)]
    inner["layers"] = _tree_stack(layers)
    return {**params, "encoder": {**params["encoder"], "encoder": inner}}


def unstack_layers(params: Mapping) -> dict:
    """The inverse of `stack_layers`: one `layers_i` subtree per encoder layer."""
    inner = dict(params["encoder"]["encoder"])
    stacked = flatten_dict(inner.pop("layers"))
    n = next(iter(stacked.values())).shape[0]
    for i in range(n):
        inner[f"layers_{i}"] = unflatten_dict({k: v[i] for k, v in stacked.items()})
    return {**params, "encoder": {**params["encoder"], "encoder": inner}}


def _tree_stack(trees: list[Mapping]) -> dict:
    flat = [flatten_dict(t) for t in trees]
    return unflatten_dict({k: np.stack([np.asarray(f[k]) for f in flat]) for k in flat[0]})


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
    """Map a reference state dict onto our (stacked) params pytree, strictly.

    Every source tensor must be used and every param filled with the right shape; otherwise a
    `ConversionError` lists each missing, unexpected and misshapen key. `dtype` (e.g. "bfloat16")
    casts floating params; None keeps float32.
    """
    shapes = flatten_dict(jax.eval_shape(lambda: unstack_layers(init_params(config))))
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
    return stack_layers(unflatten_dict({
        p: np.asarray(v, target_dtype if np.issubdtype(v.dtype, np.floating) or
                      v.dtype.name == "bfloat16" else v.dtype)
        for p, v in params.items()
    }), config)



def params_to_state_dict(params: Mapping) -> dict[str, np.ndarray]:
    """Our params as a reference state dict (float32, modern weight-norm names)."""
    out = {}
    for path, value in flatten_dict(unstack_layers(params)).items():
        out[path_to_torch_key(path)] = np.ascontiguousarray(
            to_torch_layout(path, np.asarray(value, np.float32))
        )
    return out


def read_hf_folder(
    folder: str | os.PathLike, dtype: str | None = None, progress: bool = True
) -> tuple[ModelConfig, dict]:
    """Config and params from a HF PyTorch folder (converted in memory)."""
    folder = Path(folder)
    config = ModelConfig.from_json(folder)
    return config, state_dict_to_params(read_state_dict(folder, progress), config, dtype)
