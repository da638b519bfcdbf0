"""The converter: formats, the CLI, strictness about keys and shapes, atomic output."""

from __future__ import annotations

import json
import os

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import build_reference, random_batch, save_reference

from s2t2_jax import checkpoint as C
from s2t2_jax import pytorch as P
from s2t2_jax.cli import main
from s2t2_jax.config import ConfigError
from s2t2_jax.translator import SpeechTranslator


def _ref_logits(ref, x, mask, ids):
    with torch.no_grad():
        return ref(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                   decoder_input_ids=torch.tensor(ids)).logits.numpy()


@pytest.fixture(scope="module")
def ref_model():
    return build_reference("layer_stable_bias_noproj_oddheads", seed=21)


@pytest.fixture(scope="module")
def src(ref_model, tmp_path_factory):
    """A HF folder with weights, config, preprocessor and tokenizer files."""
    from transformers import Wav2Vec2FeatureExtractor

    folder = tmp_path_factory.mktemp("src")
    save_reference(ref_model, folder)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "hallo": 4, "welt": 5}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    return folder


def _inputs(config):
    x, mask = random_batch([1800, 1234], seed=22)
    ids = np.array([[2, 4, 5, 9, 11], [2, 8, 1, 1, 1]])
    return x, mask, ids


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_cli_convert_then_load(src, ref_model, tmp_path):
    out = tmp_path / "out"
    assert main(["convert", str(src), str(out), "--no-progress"]) == 0
    for name in ("config.json", "preprocessor_config.json", "vocab.json", "tokenizer_config.json"):
        assert (out / name).read_bytes() == (src / name).read_bytes()  # copied as they are
    assert (out / "params").is_dir()
    assert _listing(tmp_path) == ["out"]  # no temporary folder left behind
    tr = SpeechTranslator.from_pretrained(out)
    x, mask, ids = _inputs(tr.config)
    np.testing.assert_allclose(tr.logits(x, ids, mask), _ref_logits(ref_model, x, mask, ids),
                               atol=1e-4, rtol=0)


def test_from_pretrained_hf_folder_in_memory(src, ref_model):
    tr = SpeechTranslator.from_pretrained(src)
    x, mask, ids = _inputs(tr.config)
    np.testing.assert_allclose(tr.logits(x, ids, mask), _ref_logits(ref_model, x, mask, ids),
                               atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="token id 999"):
        tr.logits(x, np.array([[2, 999], [2, 3]]), mask)


def test_bfloat16_params_are_half_size(src, ref_model, tmp_path):
    f32, bf16 = tmp_path / "f32", tmp_path / "bf16"
    C.convert(src, f32, progress=False)
    assert main(["convert", str(src), str(bf16), "--dtype", "bfloat16", "--no-progress"]) == 0

    def size(folder):
        return sum(f.stat().st_size for f in (folder / "params").rglob("*") if f.is_file())

    assert size(bf16) < 0.6 * size(f32)
    tr = SpeechTranslator.from_pretrained(bf16)
    leaves = [x.dtype for x in __import__("jax").tree.leaves(tr.params)]
    assert all(d == jnp.bfloat16 for d in leaves)
    x, mask, ids = _inputs(tr.config)
    ref = _ref_logits(ref_model, x, mask, ids)
    assert np.abs(tr.logits(x, ids, mask) - ref).max() < 0.05 * np.abs(ref).max()


@pytest.mark.parametrize("safe", [True, False])
def test_legacy_weight_norm_names(ref_model, tmp_path, safe):
    save_reference(ref_model, tmp_path, safe=safe, legacy_weight_norm=True)
    sd_keys = P.read_state_dict(tmp_path).keys()
    assert any(k.endswith("weight_g") for k in sd_keys)
    config, params = P.read_hf_folder(tmp_path)
    tr = SpeechTranslator(config, params)
    x, mask, ids = _inputs(config)
    np.testing.assert_allclose(tr.logits(x, ids, mask), _ref_logits(ref_model, x, mask, ids),
                               atol=1e-4, rtol=0)


def test_truncated_bin_fails_cleanly(ref_model, tmp_path):
    src = tmp_path / "src"
    save_reference(ref_model, src, safe=False)
    weights = src / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    out = tmp_path / "out"
    with pytest.raises(P.ConversionError, match="pytorch_model.bin"):
        C.convert(src, out, progress=False)
    assert _listing(tmp_path) == ["src"]
    assert main(["convert", str(src), str(out)]) == 2


def test_truncated_safetensors_fails_cleanly(ref_model, tmp_path):
    src = tmp_path / "src"
    save_reference(ref_model, src)
    weights = src / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(P.ConversionError, match="model.safetensors"):
        C.convert(src, tmp_path / "out", progress=False)
    assert _listing(tmp_path) == ["src"]


def _edit_state(src_model, folder, edit):
    from safetensors.torch import save_file

    save_reference(src_model, folder)
    from safetensors.torch import load_file

    sd = dict(load_file(folder / "model.safetensors"))
    edit(sd)
    save_file(sd, folder / "model.safetensors", metadata={"format": "pt"})


def test_missing_unexpected_and_misshapen_keys_are_named(ref_model, tmp_path):
    gone = "encoder.encoder.layers.1.attention.k_proj.bias"
    odd = "decoder.model.decoder.layers.0.fc1.weight"

    def edit(sd):
        del sd[gone]
        sd["encoder.some_extra.weight"] = torch.zeros(3)
        sd[odd] = torch.zeros(7, 5)

    _edit_state(ref_model, tmp_path / "src", edit)
    with pytest.raises(P.ConversionError) as e:
        C.convert(tmp_path / "src", tmp_path / "out", progress=False)
    msg = str(e.value)
    assert f"missing: {gone}" in msg
    assert "unexpected: encoder.some_extra.weight" in msg
    assert f"{odd}: expected (24, 30), got (7, 5)" in msg
    assert not (tmp_path / "out").exists()


def test_other_model_type_is_refused(ref_model, tmp_path):
    save_reference(ref_model, tmp_path / "src")
    cfg = tmp_path / "src" / "config.json"
    d = json.loads(cfg.read_text())
    d["encoder"]["model_type"] = "hubert"
    cfg.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match="encoder.model_type='hubert'"):
        C.convert(tmp_path / "src", tmp_path / "out", progress=False)
    cfg.write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(ConfigError, match="model_type='bert'"):
        C.convert(tmp_path / "src", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(src, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="--force"):
        C.convert(src, out, progress=False)
    assert main(["convert", str(src), str(out)]) == 2
    assert (out / "keep.txt").read_text() == "precious"
    assert main(["convert", str(src), str(out), "--force", "--no-progress"]) == 0
    assert (out / "params").is_dir() and not (out / "keep.txt").exists()
    assert _listing(tmp_path) == ["out"]


def test_interrupted_write_leaves_old_output(src, tmp_path, monkeypatch):
    out = tmp_path / "out"
    C.convert(src, out, progress=False)
    before = _listing(out)

    def boom(params, directory):
        os.makedirs(directory)
        (directory / "partial").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(C, "save_params", boom)
    with pytest.raises(KeyboardInterrupt):
        C.convert(src, out, force=True, progress=False)
    assert _listing(out) == before and _listing(tmp_path) == ["out"]
    with pytest.raises(KeyboardInterrupt):
        C.convert(src, tmp_path / "new", progress=False)
    assert _listing(tmp_path) == ["out"]


def test_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(P.ConversionError, match="could not be downloaded"):
        C.convert("facebook/s2t-wav2vec2-large-en-de", tmp_path / "out", progress=False)
    with pytest.raises(P.ConversionError, match="no such model folder"):
        C.convert(str(tmp_path / "nope" / "x"), tmp_path / "out", progress=False)
