"""The training loop: `train_loop` runs train steps to the configured number of updates, logging,
evaluating and saving checkpoints on the way."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np
from tqdm.auto import tqdm

from s2t2_jax.train.checkpoints import Checkpoints
from s2t2_jax.train.config import Params
from s2t2_jax.train.step import Trainer, TrainState

logger = logging.getLogger(__name__)


def train_loop(
    trainer: Trainer, state: TrainState, loader: Any, checkpoints: Checkpoints | None = None,
    evaluate: Callable[[Params], Mapping[str, Any]] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None, stop_at: int | None = None,
    progress: bool = False,
) -> TrainState:
    """Run `train_step` until `total_steps` updates, saving, logging and evaluating on the way.

    `loader` yields batches and has `state()` (its JSON-able position) - see `s2t2_jax.data`.
    `evaluate(params)` -> eval metrics, run every `eval_every` updates and after the last one.
    `stop_at`: stop after this many updates (a checkpoint is saved there), e.g. to split a run.
    `progress`: a tqdm bar on stderr. Logged records: `{"step", "loss", "grad_norm", ("ce_loss",
    "ctc_loss",) "lr", "steps_per_s"}` (`step` counts updates; losses and norm averaged over the
    micro-batches since the last record; updates per second, evaluation and saving excluded) and `{"step",
    **evaluate(params)}`.
    """
    cfg = trainer.train_cfg
    k = cfg.grad_accum
    last = min(cfg.total_steps, cfg.total_steps if stop_at is None else stop_at) * k
    log = log or (lambda rec: logger.info("%s", rec))
    step = int(state.step)
    it = iter(loader)
    window: list[dict[str, jax.Array]] = []
    evaluated = None
    bar = tqdm(total=last // k, initial=min(step, last) // k, desc="training", unit="step",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        while step < last:
            state, metrics = trainer.train_step(state, next(it))
            step += 1
            window.append(metrics)
            if step % k:
                continue
            update = step // k
            bar.update(1)
            if update % cfg.log_every == 0 or step == last:
                m = jax.device_get(window)
                seconds = max(time.perf_counter() - t0, 1e-9)
                rec = {"step": update, **{key: float(np.mean([x[key] for x in m]))
                                          for key in m[0] if key != "lr"},
                       "lr": float(m[-1]["lr"]), "steps_per_s": len(m) / k / seconds}
                log(rec)
                bar.set_postfix(loss=f"{rec['loss']:.4g}", refresh=False)
                window, t0 = [], time.perf_counter()
            paused = time.perf_counter()
            if evaluate is not None and cfg.eval_every and update % cfg.eval_every == 0:
                log({"step": update, **evaluate(state.params)})
                evaluated = update
            if checkpoints is not None and (update % cfg.save_every == 0 or step == last):
                checkpoints.save(update, state, loader.state())
            t0 += time.perf_counter() - paused
    finally:
        bar.close()
    if evaluate is not None and last == cfg.total_steps * k and evaluated != cfg.total_steps:
        log({"step": cfg.total_steps, **evaluate(state.params)})
    return state
