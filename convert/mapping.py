"""The name and layout table between the reference's PyTorch state dict and our params pytree.

A torch key becomes a params path by three rules, in order:

1. prefixes: `decoder.model.decoder.` -> `decoder.`, `decoder.lm_head.` stays;
   the weight-norm pair `pos_conv_embed.conv.{weight_g, parametrizations.weight.original0}` ->
   `pos_conv_embed.weight_g` (and `weight_v`/`original1` -> `weight_v`, `conv.bias` -> `bias`);
2. a numeric component joins its parent: `layers.3` -> `layers_3`;
3. the leaf `weight` is `kernel` (Linear, Conv1d), `scale` (LayerNorm, GroupNorm) or `embedding`
   (Embedding), whichever the target has.

Values: Linear `[out, in]` -> `[in, out]`; Conv1d and weight-norm `v` `[out, in/g, K]` -> `[K, in/g,
out]`; weight-norm `g` `[1, 1, K]` -> `[K]`; everything else as is.
"""

from __future__ import annotations

import re

import numpy as np

Path = tuple[str, ...]

_WEIGHT_NORM = {
    "conv.weight_g": "weight_g",
    "conv.parametrizations.weight.original0": "weight_g",
    "conv.weight_v": "weight_v",
    "conv.parametrizations.weight.original1": "weight_v",
    "conv.bias": "bias",
}
_LEAF_WEIGHT = ("kernel", "scale", "embedding")


def torch_key_to_path(key: str, targets: set[Path]) -> Path | None:
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


def path_to_torch_key(path: Path) -> str:
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


def to_params_layout(path: Path, value: np.ndarray) -> np.ndarray:
    """A torch tensor (as numpy) in our layout for `path`."""
    leaf = path[-1]
    if leaf == "weight_g":
        return value.reshape(-1)
    if leaf in ("kernel", "weight_v"):
        if value.ndim == 2:
            return value.T
        if value.ndim == 3:
            return value.transpose(2, 1, 0)
    return value


def to_torch_layout(path: Path, value: np.ndarray) -> np.ndarray:
    """Our param at `path` in the reference's layout (inverse of `to_params_layout`)."""
    leaf = path[-1]
    if leaf == "weight_g":
        return value.reshape(1, 1, -1)
    if leaf in ("kernel", "weight_v"):
        if value.ndim == 2:
            return value.T
        if value.ndim == 3:
            return value.transpose(2, 1, 0)
    return value
