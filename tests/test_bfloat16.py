"""bfloat16 computation: every matmul and conv accumulates in float32 (the form XLA:CPU runs on
AMX), and the results stay within bfloat16 rounding of the float32 reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import build_reference, random_batch, save_reference

from s2t2_jax import encoder as E
from s2t2_jax import model as M
from s2t2_jax.attention import dot_general
from s2t2_jax.encoder import strided_conv
from s2t2_jax.pytorch import read_hf_folder

LENGTHS = [2400, 1700, 1031]
PRODUCTS = ("dot_general", "conv_general_dilated")


def _products(jaxpr) -> list:
    """Every dot_general / conv_general_dilated equation of a jaxpr, nested programs included."""
    out = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in PRODUCTS:
            out.append(eqn)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(sub, jax.extend.core.ClosedJaxpr):
                    out += _products(sub.jaxpr)
                elif isinstance(sub, jax.extend.core.Jaxpr):
                    out += _products(sub)
    return out


def _half_products(fn, *args) -> list:
    eqns = _products(jax.make_jaxpr(fn)(*args).jaxpr)
    return [e for e in eqns if any(v.aval.dtype == jnp.bfloat16 for v in e.invars)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    name = "adapter_then_enc_to_dec_proj"  # encoder, adapter conv, enc_to_dec_proj, decoder
    ref = build_reference(name)
    folder = tmp_path_factory.mktemp("bf16")
    save_reference(ref, folder)
    config, params = read_hf_folder(folder)
    x, mask = random_batch(LENGTHS, seed=3)
    return ref, config, params, x, mask


def test_half_products_accumulate_in_float32(tiny):
    _, config, params, x, mask = tiny
    ids = np.full((len(LENGTHS), 5), 2, np.int32)
    forward = _half_products(lambda p: M.forward(p, config, x, ids, mask, dtype=jnp.bfloat16)["logits"],
                             params)

    def beam_step(p):  # a decoding step of 2 rows per item over a fresh cache (what `generate` runs)
        enc, frames = M.encode(p, config, x, mask, dtype=jnp.bfloat16)
        cache = M.init_cache(p, config, enc, frames, 4, group=2, dtype=jnp.bfloat16)
        return M.decode(p, config, ids[:, :1].repeat(2, 0), cache=cache, dtype=jnp.bfloat16)[0]

    step = _half_products(beam_step, params)
    # conv stack (3) + adapter conv + pos conv products + q/k/v/out, scores, values, FFN per layer ...
    assert len(forward) > 30 and len(step) > 30
    for eqn in forward + step:
        assert eqn.params["preferred_element_type"] == jnp.float32, eqn


def test_dot_general_rounds_a_float32_sum():
    a, b = (jax.random.normal(jax.random.PRNGKey(i), s) for i, s in enumerate([(64, 300), (300, 48)]))
    a16, b16 = a.astype(jnp.bfloat16), b.astype(jnp.bfloat16)
    out = dot_general(a16, b16, (((1,), (0,)), ((), ())))
    assert out.dtype == jnp.bfloat16
    exact = np.asarray(a16, np.float64) @ np.asarray(b16, np.float64)
    # A bfloat16 sum of 300 products would be off by ~sqrt(300) ulps; this is off by one rounding.
    np.testing.assert_allclose(np.asarray(out, np.float64), exact, rtol=2**-8, atol=1e-6)
    assert dot_general(a, b, (((1,), (0,)), ((), ()))).dtype == jnp.float32


@pytest.mark.parametrize("shape", [(101, 3, 3, 2), (100, 4, 2, 2), (57, 1, 10, 5), (40, 5, 3, 3),
                                   (33, 2, 4, 2), (20, 2, 1, 1), (9, 3, 3, 5)])
def test_strided_conv_matches_conv(shape):
    length, c, k, stride = shape
    x = jax.random.normal(jax.random.PRNGKey(0), (2, length, c))
    w = jax.random.normal(jax.random.PRNGKey(1), (k, c, 7))
    want = jax.lax.conv_general_dilated(x, w, (stride,), "VALID", dimension_numbers=("NWC", "WIO", "NWC"),
                                        precision=jax.lax.Precision.HIGHEST)
    got = strided_conv(x, w, stride)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5, rtol=0)


@pytest.mark.parametrize("matmul_convs", [False, True])
def test_bfloat16_close_to_reference(tiny, matmul_convs, monkeypatch):
    """Within bfloat16 rounding of the float32 reference, the tiny conv stack as convs (its 16
    channels) and as matmuls (`strided_conv`, the full-size model's 512)."""
    if matmul_convs:
        monkeypatch.setattr(E, "MATMUL_CONV_CHANNELS", 1)
    ref, config, params, x, mask = tiny
    ids = np.random.default_rng(4).integers(3, config.decoder.vocab_size, (len(LENGTHS), 7))
    ids[:, 0] = config.decoder.decoder_start_token_id
    with torch.no_grad():
        out = ref(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                  decoder_input_ids=torch.tensor(ids))
    want = out.logits.numpy()
    ours = M.forward(params, config, x, ids, mask, dtype=jnp.bfloat16)["logits"]
    assert ours.dtype == jnp.bfloat16
    err = np.abs(np.asarray(ours, np.float32) - want).max()
    scale = np.abs(want).max()
    assert err <= 0.02 * scale, (err, scale)


def test_bfloat16_steps_match_full_pass(tiny):
    """Decoding token by token over the cache (float32 self buffers, see `init_cache`) gives the
    teacher-forced pass's bfloat16 logits, greedy rows and 2-row groups alike."""
    _, config, params, x, mask = tiny
    bf16 = jnp.bfloat16
    enc, frames = M.encode(params, config, x, mask, dtype=bf16)
    ids = np.random.default_rng(5).integers(3, config.decoder.vocab_size, (len(LENGTHS), 6))
    ids[:, 0] = config.decoder.decoder_start_token_id
    for group in (1, 2):
        rows = np.repeat(ids, group, 0)
        full, _ = M.decode(params, config, rows, jnp.repeat(enc, group, 0), jnp.repeat(frames, group, 0),
                           dtype=bf16)
        cache = M.init_cache(params, config, enc, frames, ids.shape[1], group=group, dtype=bf16)
        assert all(b.dtype == jnp.float32 for b in cache.self_k + cache.self_v)
        steps = []
        for t in range(ids.shape[1]):
            logits, cache = M.decode(params, config, rows[:, t:t + 1], cache=cache, dtype=bf16)
            steps.append(np.asarray(logits[:, 0], np.float32))
        want = np.asarray(full, np.float32)
        np.testing.assert_allclose(np.stack(steps, 1), want, atol=0.02 * np.abs(want).max(), rtol=0)
