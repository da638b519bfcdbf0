"""Our model equals the reference (transformers 4.46.3) on converted random-weight checkpoints."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import CONFIGS, build_reference, random_batch, save_reference

import s2t2_jax as s2t
from s2t2_jax import model as M
from s2t2_jax.attention import ACT_FNS
from s2t2_jax.pytorch import read_hf_folder

LENGTHS = [2400, 1700, 1031]  # mixed lengths, right padded


def _reference_outputs(ref, x, mask, ids=None, labels=None):
    tx, tm = torch.tensor(x), None if mask is None else torch.tensor(mask)
    with torch.no_grad():
        enc = ref.encoder(tx, attention_mask=tm).last_hidden_state
        if hasattr(ref, "enc_to_dec_proj"):
            enc = ref.enc_to_dec_proj(enc)
        out = ref(
            input_values=tx, attention_mask=tm,
            decoder_input_ids=None if ids is None else torch.tensor(ids),
            labels=None if labels is None else torch.tensor(labels),
        )
    return enc.numpy(), out


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_encoder_logits_loss_match(name, fmt, tmp_path):
    ref = build_reference(name)
    save_reference(ref, tmp_path, safe=fmt == "safetensors")
    config, params = read_hf_folder(tmp_path)
    x, mask = random_batch(LENGTHS, seed=1)
    rng = np.random.default_rng(2)
    ids = rng.integers(0, config.decoder.vocab_size, (3, 9))
    ids[0, 0] = ids[1, 0] = 2
    ids[2, 6:] = config.decoder.pad_token_id  # pad tokens take the zero position row

    enc_ref, out = _reference_outputs(ref, x, mask, ids)
    enc, frames = M.encode(params, config, x, mask)
    frames = np.asarray(frames)
    assert enc.shape == enc_ref.shape
    # Padded frames are don't-cares for the decoder (masked); compare the real ones.
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref[frames], atol=1e-4, rtol=0)
    logits = M.forward(params, config, x, ids, mask)["logits"]
    np.testing.assert_allclose(np.asarray(logits), out.logits.numpy(), atol=1e-4, rtol=0)

    labels = rng.integers(0, config.decoder.vocab_size, (3, 7))
    labels[1, 5:] = -100
    _, out = _reference_outputs(ref, x, mask, labels=labels)
    ours = M.forward(params, config, x, attention_mask=mask, labels=labels)
    np.testing.assert_allclose(np.asarray(ours["logits"]), out.logits.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(float(ours["loss"]), float(out.loss), rtol=1e-5)


@pytest.mark.parametrize("name", ["group_postln_proj", "layer_stable_bias_noproj_oddheads"])
def test_no_attention_mask(name, tmp_path):
    ref = build_reference(name, seed=3)
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    x, _ = random_batch([1600, 1600], seed=4)
    ids = np.array([[2, 5, 9, 11], [2, 7, 7, 3]])
    enc_ref, out = _reference_outputs(ref, x, None, ids)
    enc, _ = M.encode(params, config, x)
    np.testing.assert_allclose(np.asarray(enc), enc_ref, atol=1e-4, rtol=0)
    logits = M.forward(params, config, x, ids)["logits"]
    np.testing.assert_allclose(np.asarray(logits), out.logits.numpy(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_cached_decode_equals_full_forward(name, tmp_path):
    """Step-by-step decoding through the public `init_cache` / `decode` gives the teacher-forced
    logits: one token per call, several per call, and G rows per item sharing one cache."""
    ref = build_reference(name, seed=5)
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    x, mask = random_batch([2000, 1300], seed=6)
    ids = np.random.default_rng(7).integers(3, config.decoder.vocab_size, (6, 8))
    ids[:, 0] = config.start_token_id
    enc, frames = s2t.encode(params, config, x, mask)
    rows = np.repeat(np.arange(2), 3)  # 3 rows per item, item-major
    full, _ = s2t.decode(params, config, ids, enc[rows], frames[rows])  # teacher forced
    full = np.asarray(full)
    # Jitted as generation runs them (one compile per shape, not an eager trace per call).
    init_cache = jax.jit(s2t.init_cache, static_argnames=("config", "max_length", "group"))
    decode = jax.jit(s2t.decode, static_argnames=("config",))
    for group, chunk in ((1, 1), (1, 3), (3, 1)):
        r = ids if group == 3 else ids[::3]  # group 1: the first row of each item
        cache = init_cache(params, config, enc, frames, max_length=10, group=group)
        steps = []
        for t in range(0, 8, chunk):
            logits, cache = decode(params, config, r[:, t:t + chunk], cache=cache)
            steps.append(np.asarray(logits))
        assert int(cache.index) == 8
        want = full if group == 3 else full[::3]
        np.testing.assert_allclose(np.concatenate(steps, 1), want, atol=1e-5, rtol=0)


def test_decoder_attention_mask_matches(tmp_path):
    ref = build_reference("group_postln_proj", seed=8)
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    x, mask = random_batch([1500, 1200], seed=9)
    ids = np.array([[2, 5, 9, 11, 4], [2, 7, 7, 3, 1]])
    dmask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    with torch.no_grad():
        out = ref(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                  decoder_input_ids=torch.tensor(ids), decoder_attention_mask=torch.tensor(dmask))
    ours = M.forward(params, config, x, ids, mask, decoder_attention_mask=dmask)["logits"]
    np.testing.assert_allclose(np.asarray(ours), out.logits.numpy(), atol=1e-4, rtol=0)


def test_tied_checkpoint_with_distinct_lm_head_uses_lm_head(tmp_path):
    """Reference quirk: a tied decoder loading distinct lm_head/embed_tokens keeps lm_head's values."""
    from transformers import SpeechEncoderDecoderModel

    untied = build_reference("group_postln_proj", seed=10, extra_decoder=dict(tie_word_embeddings=False))
    untied.save_pretrained(tmp_path / "src", safe_serialization=False)
    # Flip the decoder config to tied: the reference then loads both from lm_head.
    import json

    cfg_path = tmp_path / "src" / "config.json"
    d = json.loads(cfg_path.read_text())
    d["decoder"]["tie_word_embeddings"] = True
    cfg_path.write_text(json.dumps(d))
    ref = SpeechEncoderDecoderModel.from_pretrained(tmp_path / "src").eval()
    config, params = read_hf_folder(tmp_path / "src")
    assert "lm_head" not in params["decoder"]
    x, mask = random_batch([1500, 1500], seed=11)
    ids = np.array([[2, 5, 9], [2, 7, 3]])
    _, out = _reference_outputs(ref, x, mask, ids)
    logits = M.forward(params, config, x, ids, mask)["logits"]
    np.testing.assert_allclose(np.asarray(logits), out.logits.numpy(), atol=1e-4, rtol=0)


def test_start_token_falls_back_to_decoder(tmp_path):
    """Top-level decoder_start_token_id unset: labels are shifted with the decoder's start token."""
    ref = build_reference("group_postln_proj", seed=12)
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    import dataclasses

    unset = dataclasses.replace(config, decoder_start_token_id=None,
                                decoder=dataclasses.replace(config.decoder, decoder_start_token_id=5))
    labels = np.array([[4, 6, 8]])
    assert np.asarray(M.shift_tokens_right(labels, unset)).tolist() == [[5, 4, 6]]
    assert np.asarray(M.shift_tokens_right(labels, config)).tolist() == [[2, 4, 6]]
    x, mask = random_batch([1500], seed=13)
    _, out = _reference_outputs(ref, x, mask, labels=labels)
    ours = M.forward(params, config, x, attention_mask=mask, labels=labels)
    np.testing.assert_allclose(float(ours["loss"]), float(out.loss), rtol=1e-5)


@pytest.mark.parametrize("name", sorted(ACT_FNS))
def test_activations_match_reference(name):
    """Each activation equals the reference's (`ACT2FN`) over [-12, 12], tails included (an
    approximation in place of the exact GELU differs by ~1e-3)."""
    from transformers.activations import ACT2FN

    x = np.concatenate([np.linspace(-12, 12, 20001), [-30.0, -8.5, -1e-6, 0.0, 1e-6, 30.0]])
    x = x.astype(np.float32)
    want = ACT2FN[name](torch.tensor(x)).numpy()
    got = np.asarray(jax.jit(ACT_FNS[name])(x))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)  # float32: |x| * eps at |x| <= 12


@pytest.mark.parametrize("rows", [64, 5000])  # below / above `DOT_MEAN_ROWS`: both forms
@pytest.mark.parametrize("shifted", [False, True])
def test_layer_norm_matches_reference(rows, shifted):
    """`attention.layer_norm` of `x + shift` equals torch's `layer_norm` on rows far from zero mean
    (mean 30, std 0.5), where the one-pass variance E[x^2] - E[x]^2 is ~5e-4 off."""
    from s2t2_jax.attention import DOT_MEAN_ROWS, layer_norm

    assert rows < DOT_MEAN_ROWS or rows >= DOT_MEAN_ROWS > 64
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 512)) * 0.5 + 30.0).astype(np.float32)
    scale, bias, shift = rng.standard_normal((3, 512)).astype(np.float32)
    tx = torch.tensor(x) + (torch.tensor(shift) if shifted else 0.0)
    want = torch.nn.functional.layer_norm(tx, (512,), torch.tensor(scale), torch.tensor(bias), 1e-5)
    norm = jax.jit(layer_norm, static_argnums=(3, 4))
    got = norm(x.reshape(2, rows // 2, 512), scale, bias, 1e-5, None, shift if shifted else None)
    np.testing.assert_allclose(np.asarray(got).reshape(rows, 512), want.numpy(), rtol=0, atol=5e-5)


def test_encoder_with_dot_means_matches_reference(tmp_path, monkeypatch):
    """Every layer norm of a layer-norm conv stack with conv biases (folded into the norm) in the
    matrix-vector form, as full-size inputs run it, still gives the reference's encoder states."""
    from s2t2_jax import attention

    monkeypatch.setattr(attention, "DOT_MEAN_ROWS", 1)
    jax.clear_caches()  # no program traced with the default threshold
    name = "layer_stable_bias_noproj_oddheads"
    ref = build_reference(name)
    save_reference(ref, tmp_path)
    config, params = read_hf_folder(tmp_path)
    x, mask = random_batch(LENGTHS, seed=3)
    enc_ref, _ = _reference_outputs(ref, x, mask, ids=np.full((3, 1), 2))
    try:
        enc, frames = M.encode(params, config, x, mask)
    finally:
        jax.clear_caches()  # nor any program traced with this one left behind
    frames = np.asarray(frames)
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref[frames], atol=1e-4, rtol=0)


@pytest.mark.parametrize("k,groups,frames", [(128, 16, 249), (16, 4, 7), (15, 4, 40), (3, 1, 1),
                                             (8, 2, 16), (5, 5, 33)])
def test_positional_conv_by_dft_matches_the_reference_conv(k, groups, frames):
    """`encoder.grouped_conv_same` (overlap-save DFTs) equals the reference's grouped "same"
    `Conv1d` (an even kernel's extra last frame dropped), odd and even kernels, T < K, T = 1."""
    from s2t2_jax.encoder import grouped_conv_same

    rng = np.random.default_rng(k + frames)
    d = 4 * groups if k < 128 else 1024
    x = rng.standard_normal((2, frames, d)).astype(np.float32)
    w = (rng.standard_normal((k, d // groups, d)) / np.sqrt(k * d / groups)).astype(np.float32)
    ref = torch.nn.functional.conv1d(torch.tensor(x).transpose(1, 2),
                                     torch.tensor(w).permute(2, 1, 0), padding=k // 2, groups=groups)
    want = ref.transpose(1, 2).numpy()[:, :frames]
    got = np.asarray(jax.jit(grouped_conv_same, static_argnums=2)(x, w, groups))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=3e-6)
    half = jax.jit(grouped_conv_same, static_argnums=2)(x.astype(jnp.bfloat16), w, groups)
    assert half.dtype == jnp.bfloat16
