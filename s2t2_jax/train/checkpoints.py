"""Orbax checkpoints of the train state: `Checkpoints` saves and restores a `TrainState` (params
restorable alone, e.g. for export) with the data loader's position, in any device layout."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax

from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig
from s2t2_jax.train.config import Params
from s2t2_jax.train.loss import CTC_HEAD, model_params
from s2t2_jax.train.step import TrainState


class Checkpoints:
    """Orbax `CheckpointManager` over `directory`: params, the rest of the state, data position.

    Each step folder holds three items: `params` (the params pytree, restorable alone, e.g. for
    export), `train` (`opt_state`, `step`, `rng`, and the CTC head if any) and `data` (JSON, e.g.
    `{"epoch", "index"}`).
    Orbax writes each step into a temporary folder and renames it when complete, so an
    interrupted save never replaces the latest good checkpoint; stale temporary folders are
    removed when a manager is opened.
    """

    def __init__(self, directory: str | os.PathLike, keep: int | None = 3, read_only: bool = False):
        import orbax.checkpoint as ocp  # a slow import: only where checkpoints are used

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

    def _step(self, step: int | None) -> int:
        """`step`, or the latest one (FileNotFoundError if there is none)."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        return step

    def save(self, step: int, state: TrainState, data_state: Mapping[str, Any] | None = None) -> None:
        ocp = self._ocp
        train = {"opt_state": state.opt_state, "step": state.step, "rng": state.rng}
        if CTC_HEAD in state.params:
            train[CTC_HEAD] = state.params[CTC_HEAD]
        self.manager.save(step, args=ocp.args.Composite(
            params=ocp.args.StandardSave(model_params(state.params)),
            train=ocp.args.StandardSave(train),
            data=ocp.args.JsonSave(dict(data_state or {})),
        ), force=True)
        self.manager.wait_until_finished()

    def restore(self, template: TrainState, step: int | None = None) -> tuple[TrainState, dict]:
        """The state at `step` (default: latest) shaped and sharded like `template` (a state, e.g.
        `Trainer.init_state`, or `Trainer.abstract_state`), and the data position. A state saved
        in one layout (devices, FSDP or not) restores into any other."""
        ocp = self._ocp
        step = self._step(step)
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        train = {"opt_state": abstract.opt_state, "step": abstract.step, "rng": abstract.rng}
        if CTC_HEAD in abstract.params:
            train[CTC_HEAD] = abstract.params[CTC_HEAD]
        out = self.manager.restore(step, args=ocp.args.Composite(
            params=ocp.args.StandardRestore(model_params(abstract.params)),
            train=ocp.args.StandardRestore(train),
            data=ocp.args.JsonRestore(),
        ))
        t = out["train"]
        params = {**out["params"], CTC_HEAD: t[CTC_HEAD]} if CTC_HEAD in t else out["params"]
        state = TrainState(params, t["opt_state"], t["step"], t["rng"])
        return state, dict(out["data"] or {})

    def restore_params(self, config: ModelConfig, step: int | None = None) -> Params:
        """Only the params (float32) at `step` (default: latest), on the default device."""
        ocp = self._ocp
        step = self._step(step)
        one = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=one),
                                M.param_shapes(config))
        out = self.manager.restore(step, args=ocp.args.Composite(
            params=ocp.args.StandardRestore(abstract)
        ))
        return out["params"]

    def restore_ctc_head(self, step: int | None = None) -> Params | None:
        """The training-only CTC head at `step` (default: latest), or None if the run had none."""
        ocp = self._ocp
        step = self._step(step)
        train = self.manager.restore(step, args=ocp.args.Composite(train=ocp.args.StandardRestore()))
        return train["train"].get(CTC_HEAD)

    def close(self) -> None:
        self.manager.close()
