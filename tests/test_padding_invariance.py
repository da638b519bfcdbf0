"""Every file is translated exactly as the reference translates it alone (its processor on the one
file + `generate()`), whatever it is batched and padded with: group-norm and layer-norm feature
encoders, mask-free and masking feature extractors, post-LN and stable-LN, adapters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from reference import build_reference, save_reference

from s2t2_jax import model as M
from s2t2_jax.checkpoint import convert
from s2t2_jax.pytorch import read_hf_folder
from s2t2_jax.translator import SpeechTranslator

# name -> (reference config, feature extractor returns an attention mask)
CASES = {
    "group_postln_maskfree": ("group_postln_proj", False),  # base-size wav2vec2 checkpoints
    "layer_stable_mask": ("layer_stable_bias_noproj_oddheads", True),
    "layer_adapter_mask": ("adapter_proj_to_dmodel", True),
    "group_adapter_maskfree": ("adapter_then_enc_to_dec_proj", False),
}
LENGTHS = [1200, 3100, 800, 4700, 2000, 2900, 1500, 4000, 950]  # samples at 16 kHz, mixed
NEW_TOKENS = 5


def _audio(seed: int = 0) -> list[np.ndarray]:
    """Tones of different pitch and onset in noise: texts that differ from file to file."""
    rng = np.random.default_rng(seed)
    out = []
    for i, n in enumerate(LENGTHS):
        t = np.arange(n) / 16000
        tone = np.sin(2 * np.pi * (150 + 400 * i) * t) * (t > 0.02 * i)
        out.append((tone + 0.2 * rng.standard_normal(n)).astype(np.float32))
    return out


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory):
    """(reference model, its processor, our converted folder) for one case."""
    from transformers import Speech2Text2Processor, Wav2Vec2FeatureExtractor

    name, with_mask = CASES[request.param]
    ref = build_reference(name, seed=23)
    with torch.no_grad():  # sharper cross-attention: each file's text depends on its audio
        for pname, p in ref.named_parameters():
            if "encoder_attn" in pname and pname.endswith("weight"):
                p.mul_(5.0)
    src = tmp_path_factory.mktemp("hf")
    save_reference(ref, src)
    Wav2Vec2FeatureExtractor(return_attention_mask=with_mask).save_pretrained(src)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{f"w{i}": i for i in range(4, 61)}}
    (src / "vocab.json").write_text(json.dumps(vocab))
    (src / "tokenizer_config.json").write_text("{}")
    folder = convert(src, tmp_path_factory.mktemp("conv") / "model", progress=False)
    return request.param, ref, Speech2Text2Processor.from_pretrained(src), folder, src


def _alone(ref, proc, x: np.ndarray):
    """The reference's processor on the one file: input_values [1, L] and its mask (or None)."""
    feats = proc(audio=x, sampling_rate=16000, return_tensors="pt")
    return feats.input_values, feats.get("attention_mask")


def test_encoder_states_equal_each_file_alone(case):
    name, ref, proc, _, src = case
    config, params = read_hf_folder(src)
    audio = _audio()
    width = max(LENGTHS) + 700  # every row padded, the longest too
    x = np.zeros((len(audio), width), np.float32)
    mask = np.zeros((len(audio), width), np.int32)
    for i, a in enumerate(audio):  # normalised over the real samples, as alone
        x[i, :len(a)] = (a - a.mean()) / np.sqrt(a.var() + 1e-7)
        mask[i, :len(a)] = 1
    enc, frames = M.encode(params, config, x, mask, padding_invariant=True)
    plain, _ = M.encode(params, config, x, mask)  # the reference's batched semantics
    enc, plain, frames = np.asarray(enc), np.asarray(plain), np.asarray(frames)
    worst_plain = 0.0
    for i, a in enumerate(audio):
        values, m = _alone(ref, proc, a)
        with torch.no_grad():
            want = ref.encoder(values, attention_mask=m).last_hidden_state
            if hasattr(ref, "enc_to_dec_proj"):
                want = ref.enc_to_dec_proj(want)
        want = want[0].numpy()
        assert int(frames[i].sum()) == len(want)
        np.testing.assert_allclose(enc[i, :len(want)], want, atol=1e-4, rtol=0)
        worst_plain = max(worst_plain, float(np.abs(plain[i, :len(want)] - want).max()))
    if name != "layer_stable_mask":  # group norm or adapter: padding changes the plain result
        assert worst_plain > 1e-3


def test_translations_equal_each_file_alone(case):
    """Batch sizes 1, 3 and 8 on the mask-free group-norm model, 3 on the others (compile time)."""
    name, ref, proc, folder, _ = case
    audio = _audio()
    want = []
    for a in audio:
        values, m = _alone(ref, proc, a)
        with torch.no_grad():
            ids = ref.generate(values, attention_mask=m, max_new_tokens=NEW_TOKENS)
        want += proc.batch_decode(ids, skip_special_tokens=True)
    assert len(set(want)) >= 5
    tr = SpeechTranslator.from_pretrained(folder, progress=False)
    for batch_size in [1, 3, 8] if name == "group_postln_maskfree" else [3]:
        assert tr.translate(audio, batch_size=batch_size, max_new_tokens=NEW_TOKENS) == want, batch_size
