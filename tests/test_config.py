"""Configs: HF config.json round trips, clear errors, the reference's derived values."""

from __future__ import annotations

import dataclasses
import json

import pytest
from reference import TINY_DECODER, TINY_ENCODER

from s2t2_jax.config import ConfigError, DecoderConfig, EncoderConfig, ModelConfig
from s2t2_jax.encoder import conv_output_lengths, min_input_samples


def _hf_config(enc=None, dec=None):
    from transformers import Speech2Text2Config, SpeechEncoderDecoderConfig, Wav2Vec2Config

    return SpeechEncoderDecoderConfig.from_encoder_decoder_configs(
        Wav2Vec2Config(**{**TINY_ENCODER, **(enc or {})}),
        Speech2Text2Config(**{**TINY_DECODER, **(dec or {})}),
    )


def test_round_trip_through_transformers(tmp_path):
    from transformers import SpeechEncoderDecoderConfig

    hf = _hf_config(dict(add_adapter=True, output_hidden_size=16), dict(num_beams=3))
    hf.save_pretrained(tmp_path)
    ours = ModelConfig.from_json(tmp_path)
    assert ours.encoder.add_adapter and ours.encoder.output_hidden_size == 16
    assert ours.decoder.vocab_size == TINY_DECODER["vocab_size"]
    out = tmp_path / "again"
    out.mkdir()
    ours.save(out)
    assert ModelConfig.from_json(out) == ours
    back = SpeechEncoderDecoderConfig.from_pretrained(out)
    assert back.to_dict() == SpeechEncoderDecoderConfig.from_pretrained(tmp_path).to_dict()


def test_enc_to_dec_proj_rule_and_fallbacks():
    cfg = ModelConfig.from_hf_dict(_hf_config().to_dict())
    assert cfg.has_enc_to_dec_proj  # 32 -> 16
    assert cfg.decoder_start_token_id is None and cfg.start_token_id == 2  # decoder's value
    same = ModelConfig.from_hf_dict(_hf_config(dec=dict(d_model=32)).to_dict())
    assert not same.has_enc_to_dec_proj
    assert cfg.decoder.tie_word_embeddings  # absent key -> PretrainedConfig default True


def test_generation_defaults_come_from_the_decoder():
    from transformers import GenerationConfig

    hf = _hf_config(dec=dict(num_beams=5, max_length=200, early_stopping=True))
    ours = ModelConfig.from_hf_dict(hf.to_dict()).generation_defaults()
    ref = GenerationConfig.from_model_config(hf)
    for key in ("num_beams", "max_length", "early_stopping", "length_penalty", "do_sample"):
        assert ours[key] == getattr(ref, key), key


@pytest.mark.parametrize("field,value,match", [
    ("hidden_act", "mish2", "encoder.hidden_act='mish2'"),
    ("feat_extract_norm", "batch", "encoder.feat_extract_norm='batch'"),
    ("num_attention_heads", 5, "encoder.hidden_size=32 is not divisible"),
    ("adapter_attn_dim", 16, "adapter_attn_dim"),
])
def test_bad_encoder_values_name_the_field(field, value, match):
    with pytest.raises(ConfigError, match=match):
        EncoderConfig(**{**TINY_ENCODER, field: value})


def test_adapter_kernel_other_than_3_is_refused():
    with pytest.raises(ConfigError, match="adapter_kernel_size=5"):
        EncoderConfig(add_adapter=True, adapter_kernel_size=5)


def test_configs_the_reference_cannot_run_are_refused():
    enc = EncoderConfig(**{**TINY_ENCODER, "add_adapter": True, "output_hidden_size": 24})
    with pytest.raises(ConfigError, match="output_hidden_size=24"):
        ModelConfig(encoder=enc, decoder=DecoderConfig(**TINY_DECODER))
    dec = DecoderConfig(**{**TINY_DECODER, "cross_attention_hidden_size": 48})
    with pytest.raises(ConfigError, match="cross_attention_hidden_size=48"):
        ModelConfig(encoder=EncoderConfig(**TINY_ENCODER), decoder=dec)
    with pytest.raises(ConfigError, match="decoder.activation_function='swiglu'"):
        DecoderConfig(activation_function="swiglu")
    with pytest.raises(ConfigError, match="model_type='bert'"):
        ModelConfig.from_hf_dict({"model_type": "bert"})


def test_bad_json_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        ModelConfig.from_json(tmp_path)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        ModelConfig.from_json(tmp_path / "missing")


def test_output_lengths_match_the_reference():
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    hf = Wav2Vec2Config(**{**TINY_ENCODER, "add_adapter": True, "num_adapter_layers": 2})
    ref = Wav2Vec2Model(hf)
    ours = EncoderConfig.from_hf_dict(hf.to_dict())
    lengths = torch.arange(min_input_samples(ours), 5000, 37)
    for adapter in (False, True):
        expect = ref._get_feat_extract_output_lengths(lengths, add_adapter=adapter).tolist()
        assert conv_output_lengths(lengths.numpy(), ours, adapter).tolist() == expect
    assert ref._get_feat_extract_output_lengths(torch.tensor(min_input_samples(ours) - 1),
                                                add_adapter=False) == 0


def test_config_is_hashable_and_frozen():
    cfg = ModelConfig(encoder=EncoderConfig(**TINY_ENCODER), decoder=DecoderConfig(**TINY_DECODER))
    assert hash(cfg) == hash(dataclasses.replace(cfg))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.pad_token_id = 3  # type: ignore[misc]
    json.dumps(cfg.to_hf_dict())


def test_generation_settings_from_model_config_match_the_reference():
    """No generation_config.json: top-level values with nulls dropped, then the decoder's (nulls
    included), as `GenerationConfig.from_model_config`."""
    from transformers import GenerationConfig

    hf = _hf_config(dec=dict(num_beams=5, top_k=None, length_penalty=0.5, bos_token_id=7))
    hf.num_beams, hf.max_length, hf.length_penalty, hf.min_new_tokens = 2, None, 1.0, 3
    hf.decoder_start_token_id = None
    ours = ModelConfig.from_hf_dict(hf.to_dict())
    ref = GenerationConfig.from_model_config(hf)
    d = ours.generation_defaults()
    assert (d["num_beams"], d["max_length"], d["length_penalty"], d["min_new_tokens"]) == (2, 20, 0.5, 3)
    assert ref.top_k is None and d["top_k"] == 0  # a null top_k turns top-k off in the reference
    for key in ("num_beams", "max_length", "length_penalty", "min_new_tokens", "bos_token_id",
                "decoder_start_token_id", "eos_token_id", "pad_token_id"):
        assert d[key] == getattr(ref, key), key
    assert ours.start_token_id == 2  # the decoder's decoder_start_token_id


def test_generation_file_is_read_written_and_hashed(tmp_path):
    cfg = ModelConfig(encoder=EncoderConfig(**TINY_ENCODER), decoder=DecoderConfig(**TINY_DECODER))
    gen = {"num_beams": 4, "bos_token_id": 9, "eos_token_id": 2, "custom": [1, 2]}
    with_file = dataclasses.replace(cfg, generation=gen)
    assert with_file != cfg and hash(with_file) != hash(cfg)  # the ids shape the generate program
    assert hash(with_file) == hash(dataclasses.replace(cfg, generation=dict(gen)))
    assert with_file.start_token_id == 9 and with_file.pad_id == 2  # bos; pad falls back to EOS
    assert (with_file.label_start_token_id, with_file.label_pad_id) == (2, 1)  # the model config's
    with_file.save(tmp_path)
    assert json.loads((tmp_path / "generation_config.json").read_text()) == gen
    assert ModelConfig.from_json(tmp_path) == with_file
    assert ModelConfig.from_json(tmp_path / "config.json").generation is None
    assert "generation" not in with_file.to_hf_dict()

    over = with_file.with_generation({"top_k": None, "max_length": 6, "pad_token_id": 1})
    d = over.generation_defaults()
    assert (d["top_k"], d["max_length"], d["num_beams"], over.pad_id) == (0, 6, 4, 1)
    with pytest.raises(ConfigError, match=r"unknown generation settings \['beams'\]"):
        with_file.with_generation({"beams": 2})
    with pytest.raises(ConfigError, match="only one EOS"):
        _ = dataclasses.replace(cfg, generation={"eos_token_id": [2, 3]}).eos_id
    with pytest.raises(ConfigError, match="decoder_start_token_id or bos_token_id"):
        _ = dataclasses.replace(cfg, generation={"eos_token_id": 2}).start_token_id
    assert dataclasses.replace(cfg, generation={"bos_token_id": 0}).eos_id == -1  # never ends
    with pytest.raises(ConfigError, match="length_penalty=null with num_beams=2"):
        dataclasses.replace(cfg, generation={"num_beams": 2, "length_penalty": None}).generation_defaults()

    (tmp_path / "generation_config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        ModelConfig.from_json(tmp_path)
    (tmp_path / "generation_config.json").write_text("{oops")
    with pytest.raises(ConfigError, match="generation_config.json is not valid JSON"):
        ModelConfig.from_json(tmp_path)
