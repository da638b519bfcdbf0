"""Generation settings of model folders resolved as the reference (transformers 4.46.3) resolves them.

Folders are written by the reference's `save_pretrained`, then their `generation_config.json` and
`config.json` are edited (or the file deleted). For each, the reference's resolved settings (what
`generate()` starts from: `_prepare_generation_config` after `from_pretrained`) and its processors
and special ids are compared with ours, and `generate()` / `s2t2-jax translate` with no options
with the reference's `generate()` with none.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from reference import random_batch, save_reference
from test_generate import _reference as eos_boosted_reference

from s2t2_jax import decoding
from s2t2_jax.audio import load_audio
from s2t2_jax.checkpoint import convert, load_model
from s2t2_jax.cli import main
from s2t2_jax.config import GENERATION_DEFAULTS, ConfigError, ModelConfig
from s2t2_jax.export import export
from s2t2_jax.train.config import TrainConfig
from s2t2_jax.train.run_dir import prepare_run_dir

IDS = {"bos_token_id": 0, "decoder_start_token_id": 2, "eos_token_id": 2, "pad_token_id": 1}
# name -> (top-level config.json edits, decoder edits, generation_config.json: None = no file).
SCENARIOS = {
    # The file wins over config.json values; a key GenerationConfig does not know is kept.
    "file_beams": ({"num_beams": 5, "max_length": 12, "length_penalty": 2.0}, {},
                   {**IDS, "num_beams": 3, "max_length": 7, "length_penalty": 0.6,
                    "my_setting": "kept", "transformers_version": "4.46.3"}),
    # Nulls are kept (top_k: off, num_beams: 1, do_sample: greedy, ...); a one-element EOS list.
    "file_nulls": ({}, {}, {**IDS, "eos_token_id": [2], "top_k": None, "num_beams": None,
                            "temperature": None, "do_sample": None, "repetition_penalty": None,
                            "no_repeat_ngram_size": None, "min_length": None,
                            "length_penalty": None, "max_length": 9}),
    # A file made from a model config, and config.json holds generation settings: config.json wins.
    "file_legacy": ({"num_beams": 2, "max_length": 8}, {},
                    {**IDS, "_from_model_config": True, "num_beams": 3, "max_length": 11}),
    # ... and when config.json holds none, the file is used.
    "file_from_model_config": ({}, {}, {**IDS, "_from_model_config": True, "num_beams": 3,
                                        "max_length": 6}),
    # No decoder_start_token_id in the file: generate() starts with the file's bos.
    "file_start_is_bos": ({}, {}, {"bos_token_id": 5, "eos_token_id": 2, "pad_token_id": 1,
                                   "max_length": 6}),
    # No file: top-level values (nulls dropped), then the decoder's; start = top-level bos.
    "top_level": ({"num_beams": 2, "max_length": 6, "length_penalty": 1.5, "top_k": None,
                   "bos_token_id": 4, "decoder_start_token_id": None},
                  {"decoder_start_token_id": None, "num_beams": 4, "early_stopping": True}, None),
    "decoder_level": ({}, {"num_beams": 3, "max_length": 7, "length_penalty": 0.6,
                           "early_stopping": "never", "top_k": None, "min_length": 4}, None),
}
# What a null means in the reference's generate(): `_get_logits_processor` skips a processor whose
# setting is None; `GenerationConfig.validate` makes num_beams None 1; `do_sample` None is greedy.
REF_NULL = {
    "min_length": 0, "do_sample": False, "num_beams": 1, "temperature": 1.0, "top_k": 0,
    "top_p": 1.0, "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0,
    "diversity_penalty": 0.0, "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0, "renormalize_logits": False,
    "remove_invalid_values": False,
    "length_penalty": 1.0, "num_beam_groups": 1,  # unused without beams (with beams: a crash)
}
# (num_beams, max_length, start token) each scenario resolves to (asserted on the reference).
EXPECT = {"file_beams": (3, 7, 2), "file_nulls": (1, 9, 2), "file_legacy": (2, 8, 2),
          "file_from_model_config": (3, 6, 2), "file_start_is_bos": (1, 6, 5),
          "top_level": (2, 6, 4), "decoder_level": (3, 7, 2)}
LENGTHS = [2400, 1700, 2000]


@pytest.fixture(scope="module")
def ref_model():
    """A random reference model whose audio matters and whose EOS logit is raised, so beams end
    at different steps and the length penalty matters."""
    return eos_boosted_reference("untied_unscaled_gelu_new", 0.9)


def _write_folder(ref, folder: Path, top: dict, decoder: dict, gen: dict | None) -> Path:
    save_reference(ref, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(top)
    cfg["decoder"].update(decoder)
    (folder / "config.json").write_text(json.dumps(cfg))
    if gen is None:
        (folder / "generation_config.json").unlink()
    else:
        (folder / "generation_config.json").write_text(json.dumps(gen))
    return folder


@pytest.fixture(scope="module")
def folders(ref_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    return {name: _write_folder(ref_model, root / name, *spec) for name, spec in SCENARIOS.items()}


def _reference(folder):
    from transformers import SpeechEncoderDecoderModel

    return SpeechEncoderDecoderModel.from_pretrained(folder).eval()


def _resolved(ref):
    """The reference's generation config as `generate()` resolves it with no options."""
    return ref._prepare_generation_config(None)[0]


def _special_ids(ref, gc) -> tuple:
    gc = copy.deepcopy(gc)
    ref._prepare_special_tokens(gc, True, device="cpu")
    eos = gc._eos_token_tensor
    return (int(gc._decoder_start_token_tensor), int(gc._pad_token_tensor),
            None if eos is None else eos.tolist())


def _processors(ref, gc) -> list:
    """The reference's logits processors and sampling warpers for `gc` (sampling forced on)."""
    from transformers import LogitsProcessorList

    gc = copy.deepcopy(gc)
    gc.do_sample = True
    ref._prepare_special_tokens(gc, True, device="cpu")
    procs = ref._get_logits_processor(gc, 1, torch.zeros((1, 1), dtype=torch.long), None,
                                      LogitsProcessorList(), device="cpu")
    return [(type(p).__name__, {k: v.tolist() if torch.is_tensor(v) else v
                                for k, v in vars(p).items()}) for p in procs]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_settings_and_ids_are_the_references(folders, name):
    from transformers import GenerationConfig

    ref = _reference(folders[name])
    gc = _resolved(ref)
    config = ModelConfig.from_json(folders[name])
    ours = config.generation_defaults()
    assert set(ours) == set(GENERATION_DEFAULTS)
    for key in GENERATION_DEFAULTS:
        want = getattr(gc, key)
        want = REF_NULL.get(key, want) if want is None else want
        assert ours[key] == want, key
    # Our values make the reference build the same processors and warpers as its own do.
    assert _processors(ref, GenerationConfig(**ours)) == _processors(ref, gc)
    start, pad, eos = _special_ids(ref, gc)
    assert (gc.num_beams, gc.max_length, start) == EXPECT[name]  # the case is what it claims
    assert (config.start_token_id, config.pad_id, [config.eos_id]) == (start, pad, eos)
    if name == "file_beams":
        assert config.generation["my_setting"] == gc.my_setting == "kept"


@pytest.mark.parametrize("name", ["file_beams", "file_nulls", "file_legacy", "top_level",
                                  "decoder_level"])
def test_generate_with_no_options(folders, name):
    ref = _reference(folders[name])
    config, params, _ = load_model(folders[name], progress=False)
    x, mask = random_batch(LENGTHS, seed=42)
    with torch.no_grad():
        want = ref.generate(torch.tensor(x), attention_mask=torch.tensor(mask)).numpy()
    got = decoding.generate(params, config, x, mask)
    np.testing.assert_array_equal(got, want)
    gc = _resolved(ref)
    assert want.shape[1] <= gc.max_length and (want[:, 0] == config.start_token_id).all()


def test_nulls_the_reference_cannot_run(ref_model, tmp_path):
    from transformers import SpeechEncoderDecoderModel

    x, mask = random_batch(LENGTHS, seed=43)
    folder = _write_folder(ref_model, tmp_path / "maxlen", {}, {}, {**IDS, "max_length": None})
    ref = SpeechEncoderDecoderModel.from_pretrained(folder).eval()
    with pytest.raises(TypeError), torch.no_grad():
        ref.generate(torch.tensor(x), attention_mask=torch.tensor(mask))
    config, params, _ = load_model(folder, progress=False)
    with pytest.raises(ValueError, match="max_length is null"):
        decoding.generate(params, config, x, mask)
    with torch.no_grad():  # with max_new_tokens both run
        want = ref.generate(torch.tensor(x), attention_mask=torch.tensor(mask), max_new_tokens=3)
    np.testing.assert_array_equal(decoding.generate(params, config, x, mask, max_new_tokens=3), want)

    folder = _write_folder(ref_model, tmp_path / "early", {}, {}, {**IDS, "early_stopping": None})
    with pytest.raises(ValueError, match="early_stopping"):
        SpeechEncoderDecoderModel.from_pretrained(folder)
    with pytest.raises(ConfigError, match="early_stopping=null"):
        ModelConfig.from_json(folder).generation_defaults()


def _tokenizer_files(folder: Path) -> None:
    from transformers import Wav2Vec2FeatureExtractor

    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    words = [f"w{i}" + ("@@" if i % 3 == 0 else "") for i in range(4, 61)]
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, **{w: i for i, w in enumerate(words, 4)}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "tokenizer_config.json").write_text("{}")


@pytest.fixture(scope="module")
def converted(ref_model, tmp_path_factory):
    """A converted folder whose generation_config.json sets beams and lengths; two audio files."""
    root = tmp_path_factory.mktemp("cli")
    src = _write_folder(ref_model, root / "hf", {}, {}, {**IDS, "num_beams": 3, "max_length": 7,
                                                        "length_penalty": 0.6})
    _tokenizer_files(src)
    out = convert(src, root / "model", progress=False)
    rng = np.random.default_rng(44)
    paths = []
    for i, n in enumerate((16000, 16000)):  # one bucket, no padding: group norm sees padding
        paths.append(str(root / f"a{i}.wav"))
        sf.write(paths[-1], (0.3 * rng.standard_normal(n)).astype(np.float32), 16000)
    return src, out, paths


def _cli_texts(args, capsys) -> list[str]:
    assert main(args) == 0
    return [json.loads(x)["translation"] for x in capsys.readouterr().out.splitlines()]


def _ref_texts(src, model_dir, paths, **kw) -> list[str]:
    from transformers import Speech2Text2Processor

    proc = Speech2Text2Processor.from_pretrained(model_dir)
    feats = proc(audio=[load_audio(p) for p in paths], sampling_rate=16000, padding=True,
                 return_tensors="pt")
    with torch.no_grad():
        ids = _reference(src).generate(feats.input_values, attention_mask=feats.attention_mask, **kw)
    return proc.batch_decode(ids, skip_special_tokens=True)


def test_convert_keeps_the_file_and_translate_uses_it(converted, capsys):
    src, model_dir, paths = converted
    assert json.loads((model_dir / "generation_config.json").read_text())["num_beams"] == 3
    texts = _cli_texts(["translate", "--model", str(model_dir), *paths, "--no-progress"], capsys)
    want = _ref_texts(src, model_dir, paths)
    assert texts == want and any(want)


def test_generation_config_option(converted, tmp_path, capsys):
    src, model_dir, paths = converted
    settings = {"num_beams": 1, "max_length": 6, "top_k": None}
    (tmp_path / "gen.json").write_text(json.dumps(settings))
    args = ["translate", "--model", str(model_dir), *paths, "--no-progress",
            "--generation-config", str(tmp_path / "gen.json"), "--min-new-tokens", "4"]
    want = _ref_texts(src, model_dir, paths, **settings, min_new_tokens=4)
    assert _cli_texts(args, capsys) == want

    for bad, match in (({"num_beams": 2, "beam_count": 3, "colour": 1}, "['beam_count', 'colour']"),
                       ({"num_beams": "3"}, "num_beams='3'"), ({"max_new_tokens": 0}, "> 0")):
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        assert main(args[:-4] + ["--generation-config", str(tmp_path / "bad.json")]) == 2
        assert match in capsys.readouterr().err


def test_repetition_flags(converted, capsys):
    src, model_dir, paths = converted
    args = ["translate", "--model", str(model_dir), *paths, "--no-progress",
            "--no-repeat-ngram-size", "2", "--repetition-penalty", "1.5"]
    want = _ref_texts(src, model_dir, paths, no_repeat_ngram_size=2, repetition_penalty=1.5)
    assert _cli_texts(args, capsys) == want


def test_run_folders_and_export_keep_the_file(converted, tmp_path):
    from transformers import GenerationConfig

    src, model_dir, _ = converted
    config, params, _ = load_model(model_dir, progress=False)
    assert config.generation == json.loads((src / "generation_config.json").read_text())
    run = tmp_path / "run"
    prepare_run_dir(run, model_dir, config, TrainConfig())
    assert ModelConfig.from_json(run / "model") == config
    out = export((config, params), tmp_path / "out")
    assert GenerationConfig.from_pretrained(out).num_beams == 3
    # The config's settings win over a files folder's file; without settings the file is copied.
    other = tmp_path / "other"
    shutil.copytree(model_dir, other)
    (other / "generation_config.json").write_text(json.dumps({**IDS, "num_beams": 9}))
    export((config, params), tmp_path / "out2", files_from=other)
    assert ModelConfig.from_json(tmp_path / "out2") == config
    bare = ModelConfig.from_hf_dict(config.to_hf_dict())
    assert bare.generation is None and bare != config
    export((bare, params), tmp_path / "out3", files_from=other)
    assert GenerationConfig.from_pretrained(tmp_path / "out3").num_beams == 9
