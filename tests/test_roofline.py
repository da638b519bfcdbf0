"""The roofline benchmark's counts against the programs it times (tiny config), and one smoke run.

FLOPs counted from the config must equal the matmul/convolution FLOPs of the traced program
(summed over its jaxpr, loops multiplied out) and sit just under XLA's own cost analysis (which
adds the elementwise work); weights counted must equal the params the part holds.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import roofline as R
from s2t2_jax import model as M


def _matmul_flops(jaxpr) -> float:
    """2 x multiply-adds of every dot_general and conv_general_dilated, sub-jaxprs included."""
    total = 0.0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        out = eqn.outvars[0].aval.shape
        if name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2.0 * math.prod(out) * math.prod(lhs[i] for i in contract)
        elif name == "conv_general_dilated":
            rhs, spec = eqn.invars[1].aval.shape, eqn.params["dimension_numbers"].rhs_spec
            total += 2.0 * math.prod(out) * math.prod(rhs[i] for i in spec[1:])  # in x spatial
        times = eqn.params.get("length", 1) if name == "scan" else 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple) else (value,):
                if isinstance(sub, jax.extend.core.ClosedJaxpr):
                    total += times * _matmul_flops(sub.jaxpr)
                elif isinstance(sub, jax.extend.core.Jaxpr):
                    total += times * _matmul_flops(sub)
    return total


def _size(tree) -> int:
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))


@pytest.fixture(scope="module")
def tiny():
    config = R.model_config(tiny=True)
    return config, jax.jit(M.init_params, static_argnums=0)(config)


def test_encoder_counts_match_the_traced_parts(tiny):
    config, params = tiny
    batch, samples = 2, 4000
    counted = R.encoder_flops(config, batch, samples)
    # query_block=0: plain attention (the blockwise one also multiplies padded query blocks)
    for part, (fn, args) in R.encoder_fns(config, params, batch, samples, jnp.float32, 0).items():
        traced = _matmul_flops(jax.make_jaxpr(fn)(*args).jaxpr)
        assert traced == pytest.approx(counted[part], rel=1e-12), part
        if part != "encoder":  # XLA's cost analysis counts a scanned layer stack's body once
            xla = fn.lower(*args).cost_analysis()["flops"]
            assert counted[part] <= xla < 2 * counted[part], (part, xla / counted[part])
    weights = R.encoder_weights(config)
    enc, layers = params["encoder"], params["encoder"]["encoder"]["layers"]
    assert weights["layer"] * config.encoder.num_hidden_layers == _size(layers)
    unused = _size(enc.get("masked_spec_embed", []))  # SpecAugment's embedding: training only
    assert weights["encoder"] == _size(enc) - unused + _size(params.get("enc_to_dec_proj", {}))
    for part, tree in [("conv", enc["feature_extractor"]), ("projection", enc["feature_projection"]),
                       ("posconv", enc["encoder"]["pos_conv_embed"])]:
        assert weights[part] == _size(tree), part


@pytest.mark.parametrize("group", [1, 3])
def test_decoder_step_counts_match_the_traced_step(tiny, group):
    config, params = tiny
    dec, items, frames, length = config.decoder, 2, 7, 5
    enc = jnp.ones((items, frames, dec.d_model))
    init = jax.jit(lambda p, e: M.init_cache(p, config, e, None, length, group))
    assert _matmul_flops(jax.make_jaxpr(init)(params, enc).jaxpr) == R.cross_kv_flops(dec, items, frames)
    cache = init(params, enc)
    ids = jnp.full((items * group, 1), 5)
    step = jax.make_jaxpr(lambda p, i, c: M.decode(p, config, i, cache=c))(params, ids, cache)
    # Our step attends every slot of the item's group at every position: length * group keys.
    cost = R.decoder_step_cost(dec, items, group, frames, length * group)
    assert _matmul_flops(step.jaxpr) == pytest.approx(cost.flops, rel=1e-12)
    layers = [params["decoder"][f"layers_{i}"] for i in range(dec.decoder_layers)]
    cross_kv = sum(_size(lp["encoder_attn"]["k_proj"]) + _size(lp["encoder_attn"]["v_proj"])
                   for lp in layers)
    step_params = _size(params["decoder"]) - _size(params["decoder"]["embed_positions"]) - cross_kv
    assert cost.weight_bytes == 4 * step_params
    # Each row's own `length` positions and its item's frames: the bytes of every cache buffer.
    buffers = (*cache.self_k, *cache.self_v, *cache.cross_k, *cache.cross_v)
    own = R.decoder_step_cost(dec, items, group, frames, length)
    assert own.cache_bytes == sum(a.size * 4 for a in buffers)
    # The op-by-op read probe reads exactly the bytes the step's bound counts.
    arrays = R.step_arrays(params, dec, items, group, frames, length, jnp.float32)
    assert sum(a.nbytes for a in arrays) == own.weight_bytes + own.cache_bytes
    assert len({id(a) for a in arrays}) == len(arrays)
    assert R.op_by_op_read(arrays, 2, 1) > 0


def test_roofline_runs_on_a_tiny_config(capsys):
    lines = R.main(["--tiny", "--seconds", "0.25", "--batch", "2", "--tokens", "4", "--beams", "1",
                    "--repeats", "1"])
    assert lines[0].startswith(("CPU: ", "GPU: ", "TPU: "))
    assert "GFLOP/s" in lines[1] and "GB/s" in lines[1]
    rows = [line.split(" | ") for line in lines if line.startswith("| ") and "---" not in line]
    names = [r[0].lstrip("| ") for r in rows[1:]]
    assert names == [R.LABELS[p] for p in ("conv", "projection", "posconv", "attn_proj", "attn_core",
                                           "ffn", "rest", "layer", "encoder")] + [
        "decoder step, greedy (4 tokens)"]
    for r in rows[1:]:
        assert np.isfinite(float(r[5])), r  # measured ms
    (note,) = [line for line in lines if line.startswith("decoder step, greedy: its ")]
    assert "read op by op" in note and note.endswith("x that")
    assert capsys.readouterr().out.splitlines()[: len(lines)] == lines


def test_profile_step_groups_each_decode_step_operation():
    """The per-operation decoder-step profile (tiny config): every layer's fc1 and fc2 once per
    step, the tied output projection once, times positive and shares summing to the table."""
    from benchmarks import profile_step

    lines = profile_step.main(["--tiny", "--frames", "20", "--tokens", "4", "--beams", "1",
                               "--threads", "1", "--top", "100"])
    rows = {r[0]: r[1:] for r in (
        [c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("| "))
        if r[0] not in ("operation", "---")}
    layers = R.model_config(tiny=True).decoder.decoder_layers
    assert rows["decoder/fc1/dot_general"][0] == rows["decoder/fc2/dot_general"][0] == str(layers)
    assert rows["decoder/embed_tokens.attend/dot_general"][0] == "1"
    assert float(rows["decoder/fc1/dot_general"][1]) > 0 and all(float(r[1]) >= 0 for r in rows.values())
    assert sum(float(r[2].rstrip("%")) for r in rows.values()) == pytest.approx(100, abs=len(rows))


def test_machine_names_the_allocator():
    """Figures name the malloc they ran on: a preloaded caching allocator, else glibc's."""
    from benchmarks import machine

    libc = "7f0-7f1 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    tc = "7f2-7f3 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.10\n"
    je = "7f4-7f5 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
    assert machine.allocator(libc) == "glibc"
    assert machine.allocator(libc + tc) == machine.allocator(tc + libc) == "tcmalloc"
    assert machine.allocator(je + libc) == "jemalloc"
    assert machine.allocator("7f6-7f7 r-xp 0 0 0 [vdso]\n") == "system"
    assert machine.cpu_description().endswith(f"malloc {machine.allocator()}")
