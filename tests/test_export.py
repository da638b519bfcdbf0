"""Tests `convert/export.py`: exported folders load in transformers 4.46.3 with our logits, keep the
reference's key set (tied: no lm_head), convert back to identical params, and come from converted
folders and training run folders alike."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import torch
from flax.traverse_util import flatten_dict
from reference import build_reference, random_batch, save_reference
from safetensors.numpy import load_file

from s2t2_jax import model as M
from s2t2_jax.checkpoint import write_converted
from s2t2_jax.cli import main
from s2t2_jax.export import export
from s2t2_jax.pytorch import read_hf_folder, read_state_dict
from s2t2_jax.train import RUN_CHECKPOINTS, RUN_MODEL_DIR, Checkpoints, TrainConfig, Trainer

TOKENIZER_FILES = {
    "vocab.json": json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4}),
    "merges.txt": "a b\n",
    "tokenizer_config.json": json.dumps({"tokenizer_class": "Speech2Text2Tokenizer"}),
    "preprocessor_config.json": json.dumps({"return_attention_mask": True, "sampling_rate": 16000}),
}


def _assert_same_params(a, b) -> None:
    fa, fb = flatten_dict(jax.device_get(a)), flatten_dict(jax.device_get(b))
    assert set(fa) == set(fb)
    for k in fa:
        assert np.array_equal(np.asarray(fa[k]), np.asarray(fb[k])), k


@pytest.mark.parametrize("name", ["group_postln_proj", "untied_unscaled_gelu_new"])
def test_export_loads_in_transformers_with_our_logits(name, tmp_path):
    from transformers import SpeechEncoderDecoderModel

    ref = build_reference(name, seed=21)
    src = save_reference(ref, tmp_path / "src")
    config, params = read_hf_folder(src, progress=False)
    # Change the params so that the exported weights, not the source's, are what gets loaded.
    params = jax.tree.map(lambda p: np.asarray(p) * 1.01, params)
    out = export((config, params), tmp_path / "out")

    keys = set(load_file(out / "model.safetensors"))
    assert keys == set(load_file(src / "model.safetensors"))  # as save_pretrained writes them
    assert ("decoder.lm_head.weight" in keys) == (not config.decoder.tie_word_embeddings)

    hf, info = SpeechEncoderDecoderModel.from_pretrained(out, output_loading_info=True)
    hf.eval()
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    x, mask = random_batch([1800, 1200], seed=22)
    ids = np.random.default_rng(23).integers(3, config.decoder.vocab_size, (2, 6))
    ids[:, 0] = 2
    with torch.no_grad():
        ref_logits = hf(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                        decoder_input_ids=torch.tensor(ids)).logits.numpy()
    ours = np.asarray(M.forward(params, config, x, ids, mask)["logits"])
    np.testing.assert_allclose(ours, ref_logits, atol=1e-4, rtol=0)
    # The scaled weights matter: the source model's logits differ.
    with torch.no_grad():
        src_logits = ref(input_values=torch.tensor(x), attention_mask=torch.tensor(mask),
                         decoder_input_ids=torch.tensor(ids)).logits.numpy()
    assert np.abs(src_logits - ref_logits).max() > 1e-3

    config2, params2 = read_hf_folder(out, progress=False)
    assert config2 == config
    _assert_same_params(params2, jax.tree.map(lambda p: np.asarray(p, np.float32), params))


def test_export_from_converted_and_run_folders(tmp_path):
    ref = build_reference("adapter_proj_to_dmodel", seed=24)
    src = save_reference(ref, tmp_path / "hf")
    for name, text in TOKENIZER_FILES.items():
        (src / name).write_text(text)
    config, params = read_hf_folder(src, progress=False)

    converted = write_converted(tmp_path / "converted", params, src)
    out = export(converted, tmp_path / "from_converted")
    for name, text in TOKENIZER_FILES.items():
        assert (out / name).read_text() == text
    _assert_same_params(read_hf_folder(out, progress=False)[1], params)

    # A run folder: model/ files and two checkpoints; export picks the latest unless step= says.
    run = tmp_path / "run"
    (run / RUN_MODEL_DIR).mkdir(parents=True)
    config.save(run / RUN_MODEL_DIR)
    for name, text in TOKENIZER_FILES.items():
        (run / RUN_MODEL_DIR / name).write_text(text)
    trainer = Trainer(config, TrainConfig())
    ckpt = Checkpoints(run / RUN_CHECKPOINTS, keep=3)
    later = jax.tree.map(lambda p: p + 0.5, params)
    ckpt.save(1, trainer.init_state(params), {"epoch": 0, "index": 1})
    ckpt.save(2, trainer.init_state(later), {"epoch": 0, "index": 2})
    ckpt.close()
    out = export(run, tmp_path / "from_run")
    _assert_same_params(read_hf_folder(out, progress=False)[1], later)
    assert (out / "vocab.json").read_text() == TOKENIZER_FILES["vocab.json"]
    assert main(["export", str(run), str(tmp_path / "from_run_step1"), "--step", "1"]) == 0
    _assert_same_params(read_hf_folder(tmp_path / "from_run_step1", progress=False)[1], params)

    with pytest.raises(FileExistsError):
        export(run, tmp_path / "from_run")
    export(converted, tmp_path / "from_run", force=True)
    _assert_same_params(read_hf_folder(tmp_path / "from_run", progress=False)[1], params)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers
    assert read_state_dict(tmp_path / "from_run", progress=False)
