"""`decoding.generate` equals the reference's `generate()` (transformers 4.46.3) on random models.

Each model is built with its EOS logit raised (and the audio made to matter), so rows end at
different steps; batches mix audio lengths with padding masks. Programs compile once per model
and static option set (module-scoped fixtures; length penalty and seeds are traced).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import build_reference, random_batch

from s2t2_jax import decoding
from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig
from s2t2_jax.encoder import min_input_samples
from s2t2_jax.pytorch import state_dict_to_params

LENGTHS = [2400, 1700, 1031, 2000]  # mixed lengths, right padded
MAX_NEW = 16
# name -> (reference config, EOS logit boost): each ends rows at different steps (greedy and beam).
MODELS = {
    "untied": ("untied_unscaled_gelu_new", 1.0),
    "adapter_proj": ("adapter_then_enc_to_dec_proj", 0.45),
    "tied": ("group_postln_proj", 1.05),
}


def _reference(name: str, eos_boost: float, **extra_decoder):
    """A random reference model whose audio matters and whose EOS logit is raised by ~`eos_boost`."""
    ref = build_reference(name, seed=0, extra_decoder=extra_decoder)
    eos = ref.config.decoder.eos_token_id
    with torch.no_grad():
        for layer in ref.decoder.model.decoder.layers:
            layer.encoder_attn.v_proj.weight.mul_(10.0)
        w = ref.decoder.get_output_embeddings().weight
        w.mul_(5.0)
        # h . beta/|beta|^2 is ~1 for any final hidden state h: a near-constant EOS bias.
        beta = ref.decoder.model.decoder.layers[-1].final_layer_norm.bias
        w[eos] += eos_boost * beta / beta.norm() ** 2
    return ref


def _convert(ref):
    config = ModelConfig.from_hf_dict(ref.config.to_dict())
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    return config, state_dict_to_params(state, config)


def _ref_generate(ref, x, mask, **kw):
    with torch.no_grad():
        return ref.generate(
            torch.tensor(x), attention_mask=None if mask is None else torch.tensor(mask), **kw
        ).numpy()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models():
    out = {}
    for key, (name, boost) in MODELS.items():
        ref = _reference(name, boost)
        out[key] = (ref, *_convert(ref))
    return out


@pytest.fixture(scope="module")
def batch():
    return random_batch(LENGTHS, seed=1)


BEAM_SETTINGS = [(1, False), (2, True), (2, False), (4, True), (4, False), (4, "never")]
CASES = [(m, b, e) for m in ("untied", "adapter_proj") for b, e in BEAM_SETTINGS] + [
    ("tied", 1, False), ("tied", 2, True), ("tied", 4, False)]


@pytest.mark.parametrize("name, num_beams, early_stopping", CASES)
def test_matches_reference(models, batch, name, num_beams, early_stopping):
    ref, config, params = models[name]
    x, mask = batch
    penalties = [1.0] if num_beams == 1 else [0.5, 1.0, 2.0] + [-1.0] * (early_stopping == "never")
    # min_new_tokens (traced, like the length penalty) bans EOS for the first steps.
    for lp, min_new in [(lp, None) for lp in penalties] + [(penalties[0], 4)]:
        kw = dict(max_new_tokens=MAX_NEW, num_beams=num_beams, length_penalty=lp,
                  early_stopping=early_stopping, min_new_tokens=min_new)
        expected = _ref_generate(ref, x, mask, **kw)
        ours = decoding.generate(params, config, x, mask, **kw)
        np.testing.assert_array_equal(ours, expected, err_msg=str(kw))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_rows_end_at_different_steps(models, batch, name):
    """The fixture models exercise early ends: some rows stop early, others run longer."""
    ref, config, params = models[name]
    x, mask = batch
    ends = []
    for num_beams in (1, 4):
        ids = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, num_beams=num_beams,
                                length_penalty=1.0, early_stopping=num_beams > 1)
        ends += [list(row[1:]).index(config.eos_id) if config.eos_id in row[1:] else MAX_NEW
                 for row in ids]
    assert min(ends) < MAX_NEW and len(set(ends)) > 1, ends


@pytest.mark.parametrize("num_beams", [2, 4])
def test_long_outputs_match_reference(untied, num_beams):
    """Past 16 and 32 tokens a step attends a longer prefix of the self-attention buffers
    (`decoder.step_attention`'s buckets 16, 32, 40): ids still the reference's."""
    ref, config, params, x, mask = untied
    kw = dict(max_new_tokens=40, min_new_tokens=36, num_beams=num_beams, length_penalty=1.0,
              early_stopping=False)
    np.testing.assert_array_equal(decoding.generate(params, config, x, mask, **kw),
                                  _ref_generate(ref, x, mask, **kw))


@pytest.fixture(scope="module")
def untied(models, batch):
    """The "untied" model and batch: programs the parity tests compiled are reused."""
    return (*models["untied"], *batch)


def test_num_return_sequences_no_mask_and_from_encoder(untied):
    ref, config, params, x, _ = untied
    kw = dict(max_new_tokens=10, num_beams=4, num_return_sequences=3, length_penalty=0.5)
    expected = _ref_generate(ref, x, None, **kw)
    np.testing.assert_array_equal(decoding.generate(params, config, x, **kw), expected)

    enc, frames = jax.jit(M.encode, static_argnums=1)(params, config, x)
    np.testing.assert_array_equal(
        decoding.generate_from_encoder(params, config, enc, frames, **kw), expected
    )


def test_defaults_come_from_the_config(batch):
    """Options left unset take the decoder config's generation settings, as the reference."""
    name, boost = MODELS["untied"]
    ref = _reference(name, boost, num_beams=3, max_length=9, early_stopping=True, length_penalty=0.7)
    config, params = _convert(ref)
    assert config.generation_defaults()["num_beams"] == 3
    x, mask = batch
    np.testing.assert_array_equal(decoding.generate(params, config, x, mask),
                                  _ref_generate(ref, x, mask))


def test_sampling_is_reproducible_and_seeded(untied):
    _, config, params, x, mask = untied
    kw = dict(max_new_tokens=MAX_NEW, do_sample=True, temperature=3.0, top_k=0, num_return_sequences=3)
    a = decoding.generate(params, config, x, mask, seed=1, **kw)
    b = decoding.generate(params, config, x, mask, seed=1, **kw)
    c = decoding.generate(params, config, x, mask, seed=2, **kw)
    assert a.shape[0] == len(LENGTHS) * 3 and a.shape[1] <= MAX_NEW + 1
    assert (a[:, 0] == config.start_token_id).all()
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_sampling_top_k_1_and_tiny_top_p_are_greedy(untied):
    _, config, params, x, mask = untied
    greedy = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, num_beams=1)
    for kw in (dict(top_k=1), dict(top_k=0, top_p=1e-6), dict(top_k=5, top_p=1e-6, temperature=0.5)):
        for seed in (0, 1):
            ours = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, do_sample=True,
                                     seed=seed, **kw)
            np.testing.assert_array_equal(ours, greedy, err_msg=str(kw))


def test_beam_sampling_runs_reproducibly(untied):
    _, config, params, x, mask = untied
    kw = dict(max_new_tokens=8, num_beams=3, do_sample=True, top_k=10, top_p=0.9, seed=4)
    a = decoding.generate(params, config, x, mask, **kw)
    np.testing.assert_array_equal(a, decoding.generate(params, config, x, mask, **kw))
    assert a.shape[0] == len(LENGTHS) and (a[:, 0] == config.start_token_id).all()


def test_top_k_helper_matches_lax_top_k():
    rng = np.random.default_rng(0)
    top_k = jax.jit(decoding._top_k, static_argnums=1)
    for n, k in [(51120, 10), (122, 4), (7, 7)]:
        x = rng.standard_normal((3, n)).astype(np.float32)
        x[0, ::3] = x[0, 1]  # ties
        x[1, 5:] = -np.inf
        vals, idx = top_k(jnp.asarray(x), k)
        ref_vals, ref_idx = jax.lax.top_k(jnp.asarray(x), k)
        np.testing.assert_array_equal(vals, ref_vals)
        np.testing.assert_array_equal(idx, ref_idx)


def test_second_call_does_not_recompile(untied):
    _, config, params, x, mask = untied
    kw = dict(max_new_tokens=MAX_NEW, num_beams=2, early_stopping=False)
    decoding.generate(params, config, x, mask, length_penalty=1.0, **kw)
    before = decoding.compile_count()
    decoding.generate(params, config, x, mask, length_penalty=0.3, **kw)  # traced option
    decoding.generate(params, config, x * 0.5, mask, length_penalty=2.0, **kw)
    assert decoding.compile_count() == before
    decoding.generate(params, config, x, mask, **{**kw, "max_new_tokens": MAX_NEW - 1})  # static
    assert decoding.compile_count() == before + 1


def test_bfloat16_runs(untied):
    _, config, params, x, mask = untied
    ids = decoding.generate(params, config, x, mask, max_new_tokens=6, num_beams=2, dtype=jnp.bfloat16)
    assert ids.shape[0] == len(LENGTHS) and ids.dtype == np.int32
    assert (ids[:, 0] == config.start_token_id).all()


def test_enable_compilation_cache(tmp_path):
    old = jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs
    try:
        decoding.enable_compilation_cache(tmp_path / "xla")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla")
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0
        jax.jit(lambda v: v * 3 + 1)(jnp.arange(5)).block_until_ready()
        assert any((tmp_path / "xla").iterdir())
    finally:
        decoding.enable_compilation_cache(None)
        jax.config.update("jax_compilation_cache_dir", old[0])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", old[1])


@pytest.mark.parametrize("kw, match", [
    (dict(max_new_tokens=65), "max_new_tokens"),  # tiny decoder: max_target_positions 64
    (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(num_beams=0), "num_beams"),
    (dict(do_sample=True, top_p=0.0), "top_p"),
    (dict(do_sample=True, top_p=1.5), "top_p"),
    (dict(do_sample=True, temperature=0.0), "temperature"),
    (dict(num_beams=2, num_return_sequences=3), "num_return_sequences"),
    (dict(num_return_sequences=2), "num_return_sequences"),
    (dict(early_stopping="sometimes", num_beams=2), "early_stopping"),
])
def test_bad_options_raise_before_compiling(untied, kw, match):
    _, config, params, x, mask = untied
    before = decoding.compile_count()
    with pytest.raises(ValueError, match=match):
        decoding.generate(params, config, x, mask, **kw)
    assert decoding.compile_count() == before


def test_too_short_audio_raises_before_compiling(untied):
    _, config, params, x, mask = untied
    need = min_input_samples(config.encoder)
    before = decoding.compile_count()
    short = mask.copy()
    short[1, need - 1:] = 0
    with pytest.raises(ValueError, match="samples"):
        decoding.generate(params, config, x, short)
    with pytest.raises(ValueError, match="samples"):
        decoding.generate(params, config, x[:, : need - 1])
    assert decoding.compile_count() == before
