"""Tests `s2t2_jax/sharding.py` and sharded training in `s2t2_jax/train/`: on 4 (forced host)
CPU devices, single-device, data-parallel and FSDP training give the same losses and params,
FSDP really splits params and optimizer state, uneven batches are padded with zero-weight rows,
checkpoints restore across layouts, and generation runs on sharded params.

The 4-device run happens in a subprocess (`XLA_FLAGS` must be set before jax starts): this file
is also its script (`python test_sharding.py OUT`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVICES = 4


# ----------------------------------------------------------------------------- layout rules (1 device)


def test_fsdp_spec_rule():
    import jax
    from jax.sharding import PartitionSpec as P

    from s2t2_jax.sharding import Layout

    # The rule only needs the device count: a layout that claims 4 devices.
    class Four(Layout):
        @property
        def num_devices(self) -> int:
            return 4

    lay = Four(Layout.create(jax.devices()[:1]).mesh, fsdp=True, fsdp_min_size=64)
    assert lay.spec((16, 16)) == P("data") == P("data",)
    assert lay.spec((8, 32)) == P(None, "data")  # biggest divisible axis
    assert lay.spec((32, 6)) == P("data")
    assert lay.spec((6, 30)) == P()  # no axis divisible by 4
    assert lay.spec((16,)) == P()  # small: replicated
    assert lay.spec(()) == P()
    assert lay.spec((4, 3, 64)) == P(None, None, "data")
    assert Four(lay.mesh, fsdp=False).spec((64, 64)) == P()
    assert lay.padded_rows(5) == 8 and lay.padded_rows(8) == 8
    batch = {"input_values": np.ones((3, 5), np.float32), "attention_mask": np.ones((3, 5), np.int32),
             "labels": np.arange(6).reshape(3, 2)}
    padded = lay.pad_batch(batch)
    assert padded["input_values"].shape == (4, 5) and padded["labels"].dtype == batch["labels"].dtype
    assert np.all(padded["labels"][3] == -100) and np.all(padded["attention_mask"][3] == 0)
    assert np.all(padded["input_values"][3] == 0) and np.array_equal(padded["labels"][:3], batch["labels"])
    with pytest.raises(ValueError):
        Layout.create([])


# ----------------------------------------------------------------------------- 4 devices


def _config():
    from reference import tiny_training_config

    return tiny_training_config(dict(intermediate_size=32),
                                dict(decoder_ffn_dim=32, decoder_layerdrop=0.3))


def _params(config):
    from reference import random_params

    return random_params(config)


def _batch(seed: int, rows: int = 4, samples: int = 2400, tokens: int = 6) -> dict:
    rng = np.random.default_rng(seed)
    labels = rng.integers(3, 16, (rows, tokens)).astype(np.int32)
    labels[-1, tokens // 2:] = -100
    mask = np.ones((rows, samples), np.int32)
    mask[-1, samples // 2:] = 0
    return {"input_values": rng.standard_normal((rows, samples)).astype(np.float32),
            "attention_mask": mask, "labels": labels}


def _worker(out: Path) -> None:
    """Runs on 4 devices; writes what the test checks to `out` (npz + json)."""
    import jax
    from flax.traverse_util import flatten_dict

    from s2t2_jax.train import Checkpoints, TrainConfig, Trainer

    assert len(jax.devices()) == DEVICES, jax.devices()
    config, params = _config(), _params(_config())
    tc = TrainConfig(learning_rate=1e-2, warmup_steps=1, total_steps=10, grad_accum=2,
                     weight_decay=0.01, eps=1e-6, fsdp_min_size=64)
    batches = [_batch(s) for s in range(6)]
    results: dict = {}
    arrays: dict = {}
    trainers = {
        "single": Trainer(config, tc, jax.devices()[:1]),
        "dp": Trainer(config, tc),
        "fsdp": Trainer(config, TrainConfig(**{**tc.to_dict(), "fsdp": True})),
    }
    states = {}
    for name, trainer in trainers.items():
        state = trainer.init_state(params)
        losses = []
        for b in batches:
            state, m = trainer.train_step(state, b)
            losses.append(float(m["loss"]))
        states[name] = state
        results[f"{name}_losses"] = losses
        results[f"{name}_eval"] = float(trainer.eval_step(state.params, _batch(9))["loss"])
        for path, x in flatten_dict(jax.device_get(state.params), sep="/").items():
            arrays[f"{name}/{path}"] = x
    fsdp = states["fsdp"]
    results["fsdp_specs"] = {
        "/".join(str(getattr(k, "key", k)) for k in kp): [str(a) for a in x.sharding.spec]
        for kp, x in jax.tree_util.tree_flatten_with_path(fsdp.params)[0]}
    opt_leaves = [x for x in jax.tree.leaves(fsdp.opt_state) if x.ndim >= 2]
    results["fsdp_opt_split"] = sum(any(a is not None for a in x.sharding.spec) for x in opt_leaves)
    results["dp_specs_replicated"] = all(
        all(a is None for a in x.sharding.spec) for x in jax.tree.leaves(states["dp"]))
    # A sharded leaf really holds a quarter per device.
    kernel = fsdp.params["decoder"]["layers_0"]["fc1"]["kernel"]
    results["fc1_shard_shapes"] = sorted({tuple(s.data.shape) for s in kernel.addressable_shards})

    # Uneven batches: 3 rows are padded to 4 with zero-weight rows (never dropped).
    odd = _batch(11, rows=3)
    results["odd_eval"] = {name: float(t.eval_step(states[name].params, odd)["loss"])
                           for name, t in trainers.items()}
    # A train step on it (padded on 4 devices) is one on the same batch padded by hand (the
    # random masks depend on the batch shape), and its loss is the loss of the 3 real rows.
    by_hand = trainers["dp"].layout.pad_batch(odd)
    assert by_hand["labels"].shape[0] == 4
    assert trainers["single"].layout.pad_batch(odd)["labels"].shape[0] == 3  # nothing to pad
    results["odd_train_loss"] = {}
    for name, b in (("single", by_hand), ("dp", odd)):
        _, m = trainers[name].train_step(trainers[name].init_state(params), b)
        results["odd_train_loss"][name] = float(m["loss"])

    # Checkpoints: FSDP state saved, restored into FSDP and data-parallel layouts.
    ckpt = Checkpoints(out.parent / "ckpt", keep=2)
    ckpt.save(5, fsdp, {"epoch": 0, "index": 3})
    restored = {}
    for name in ("fsdp", "dp"):
        t = trainers[name]
        state, position = ckpt.restore(t.abstract_state(params))
        assert position == {"epoch": 0, "index": 3}
        same = all(np.array_equal(a, b) for a, b in zip(
            jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(jax.device_get(fsdp)), strict=True))
        shardings = all(a.sharding == b for a, b in zip(
            jax.tree.leaves(state), jax.tree.leaves(t.layout.state_shardings(state)), strict=True))
        # The restored state trains (with the same compiled step as a fresh one).
        state, m = t.train_step(state, batches[0])
        restored[name] = {"same": same, "shardings": shardings, "loss": float(m["loss"])}
    ckpt.close()
    results["restored"] = restored

    # Generation (evaluation) on sharded params matches one device.
    gen = {}
    for name in ("single", "fsdp"):
        ids = trainers[name].generate(states["single"].params if name == "single" else
                                      trainers["fsdp"].layout.put_state(states["single"].params),
                                      odd, [0, 2], max_new_tokens=5)
        gen[name] = np.asarray(ids).tolist()
    results["generate"] = gen
    np.savez(out.with_suffix(".npz"), **arrays)
    out.write_text(json.dumps(results))


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory) -> tuple[dict, dict]:
    out = tmp_path_factory.mktemp("sharding") / "results.json"
    # Optimisation level 0 halves XLA:CPU compile time (all layouts are compared in this process).
    flags = f"--xla_force_host_platform_device_count={DEVICES} --xla_backend_optimization_level=0"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()}
    proc = subprocess.run([sys.executable, __file__, str(out)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    with np.load(out.with_suffix(".npz")) as f:
        arrays = dict(f)
    return json.loads(out.read_text()), arrays


def test_data_parallel_and_fsdp_match_one_device(four_devices):
    results, arrays = four_devices
    single = results["single_losses"]
    assert len(set(single)) == len(single)  # training mode: dropout etc., loss changes
    for name in ("dp", "fsdp"):
        np.testing.assert_allclose(results[f"{name}_losses"], single, rtol=0, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(results[f"{name}_eval"], results["single_eval"], rtol=0, atol=1e-5)
        for key, ref in arrays.items():
            if key.startswith("single/"):
                other = arrays[key.replace("single/", f"{name}/", 1)]
                # k_proj biases have an exactly zero gradient (softmax shift invariance) up to
                # rounding noise, which Adam's normalisation turns into visible updates.
                atol = 1e-4 if key.endswith("k_proj/bias") else 2e-6
                np.testing.assert_allclose(other, ref, rtol=0, atol=atol, err_msg=f"{name} {key}")
    # Training moved the params.
    init = _params(_config())
    fc1 = "decoder/layers_0/fc1/kernel"
    assert np.abs(arrays[f"single/{fc1}"] - init["decoder"]["layers_0"]["fc1"]["kernel"]).max() > 1e-3


def test_fsdp_really_shards(four_devices):
    results, _ = four_devices
    specs = results["fsdp_specs"]
    split = {k for k, s in specs.items() if any(a != "None" for a in s)}
    # Every big-enough leaf with a dimension divisible by 4 is split; small ones are not.
    assert specs["decoder/layers_0/fc1/kernel"] == ["None", "data"]  # [16, 32]: the 32 axis
    assert specs["decoder/embed_tokens/embedding"] == ["data"]  # [16, 16]: first on ties
    assert "decoder/layers_0/fc1/bias" not in split  # 32 elements < fsdp_min_size
    assert len(split) >= 15, specs
    assert results["fsdp_opt_split"] >= 2 * len(split)  # Adam's mu and nu follow the params
    assert results["fc1_shard_shapes"] == [[16, 8]]
    assert results["dp_specs_replicated"]


def test_uneven_batches_are_padded_not_dropped(four_devices):
    results, _ = four_devices
    ev = results["odd_eval"]
    assert ev["dp"] == pytest.approx(ev["single"], abs=1e-5)
    assert ev["fsdp"] == pytest.approx(ev["single"], abs=1e-5)
    tl = results["odd_train_loss"]
    assert tl["dp"] == pytest.approx(tl["single"], abs=1e-5)


def test_checkpoints_restore_across_layouts_and_generation_runs_sharded(four_devices):
    results, _ = four_devices
    r = results["restored"]
    assert r["fsdp"]["same"] and r["dp"]["same"]
    assert r["fsdp"]["shardings"] and r["dp"]["shardings"]
    assert r["fsdp"]["loss"] == pytest.approx(r["dp"]["loss"], abs=1e-5)
    gen = results["generate"]
    assert gen["single"] == gen["fsdp"] and len(gen["single"]) == 2


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
