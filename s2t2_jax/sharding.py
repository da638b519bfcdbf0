"""Device layout for training and batched translation: data parallel over a 1-D `"data"`
mesh, optionally FSDP (training). Translation uses a layout over the local devices
(`Layout.create(jax.local_devices())`): params replicated (`put_state`), batches split
(`put_batch`).

Batches are split along their first axis over the `"data"` axis (every device gets
`rows / devices` rows; batches are padded with rows of weight zero to a multiple of the device
count). Params and optimizer state are either replicated on every device (data parallel) or,
with `fsdp=True`, sharded FSDP-style: each leaf of at least `fsdp_min_size` elements is split
along its biggest axis divisible by the device count (the first such axis on ties); smaller
leaves and leaves with no divisible axis stay replicated. The rule depends only on a leaf's
shape, so Adam's moments (and `MultiSteps`' accumulators) are laid out as their params.

A `Layout` is hashable: it is a static argument of the jitted train step, which constrains its
outputs to the layout's shardings (so every step reads and writes the same layout, donation
works, and a restored state shares the compiled step). Single-process only (`jax.devices()`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA = "data"
FSDP_MIN_SIZE = 2**16  # elements: smaller leaves (biases, norms) are replicated under FSDP
# Padding-row values per batch key (others: zeros): no audio, no frames, no label tokens.
PAD_VALUES = {"labels": -100}


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where params, optimizer state and batches live: a 1-D device mesh and the FSDP switch."""

    mesh: Mesh
    fsdp: bool = False
    fsdp_min_size: int = FSDP_MIN_SIZE

    @classmethod
    def create(
        cls, devices: Sequence[jax.Device] | None = None, fsdp: bool = False,
        fsdp_min_size: int = FSDP_MIN_SIZE,
    ) -> Layout:
        """A layout over `devices` (default: all devices)."""
        devices = list(jax.devices() if devices is None else devices)
        if not devices:
            raise ValueError("no devices")
        if fsdp_min_size < 1:
            raise ValueError(f"fsdp_min_size must be >= 1, got {fsdp_min_size}")
        return cls(Mesh(np.array(devices), (DATA,)), fsdp, fsdp_min_size)

    @property
    def num_devices(self) -> int:
        return self.mesh.size

    # -- shardings

    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec())

    def batch_sharding(self) -> NamedSharding:
        """First axis over the devices, the rest whole."""
        return NamedSharding(self.mesh, PartitionSpec(DATA))

    def spec(self, shape: Sequence[int]) -> PartitionSpec:
        """The partition of a param or optimizer-state leaf of `shape` (see the module docstring)."""
        n = self.num_devices
        if not self.fsdp or n == 1 or not shape or int(np.prod(shape)) < self.fsdp_min_size:
            return PartitionSpec()
        axes = [a for a, d in enumerate(shape) if d % n == 0]
        if not axes:
            return PartitionSpec()
        axis = max(axes, key=lambda a: (shape[a], -a))
        return PartitionSpec(*([None] * axis), DATA)

    def state_shardings(self, tree: Any) -> Any:
        """A `NamedSharding` per leaf of `tree` (arrays or `ShapeDtypeStruct`s)."""
        return jax.tree.map(lambda x: NamedSharding(self.mesh, self.spec(np.shape(x))), tree)

    # -- placement

    def put_state(self, tree: Any) -> Any:
        """`tree` (params, optimizer state, a whole train state) placed by this layout."""
        return jax.device_put(tree, self.state_shardings(tree))

    def constrain_state(self, tree: Any) -> Any:
        """Inside jit: pin `tree`'s leaves to this layout's shardings."""
        return jax.lax.with_sharding_constraint(tree, self.state_shardings(tree))

    def padded_rows(self, rows: int) -> int:
        n = self.num_devices
        return -(-rows // n) * n

    def pad_batch(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """`batch` with rows appended up to a multiple of the device count: zero audio and
        mask, labels -100, so they weigh nothing in the loss (host arrays; no-op if none needed)."""
        out = {}
        for key, x in batch.items():
            x = np.asarray(x)
            extra = self.padded_rows(x.shape[0]) - x.shape[0]
            if extra:
                fill = np.full((extra, *x.shape[1:]), PAD_VALUES.get(key, 0), x.dtype)
                x = np.concatenate([x, fill])
            out[key] = x
        return out

    def put_batch(self, batch: Mapping[str, Any]) -> dict[str, jax.Array]:
        """`batch` padded (`pad_batch`) and split over the devices along its first axis."""
        return jax.device_put(self.pad_batch(batch), self.batch_sharding())
