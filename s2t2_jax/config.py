"""Frozen configuration dataclasses, read from and written to Hugging Face `config.json`.

The layout is the one of `SpeechEncoderDecoderConfig`: a top-level dict with `encoder` (a
`Wav2Vec2Config`) and `decoder` (a `Speech2Text2Config`) sub-dicts. Every config is frozen and
hashable, so it can be a static argument of `jax.jit`. Keys we do not model are kept (not compared,
not hashed) and written back unchanged by `to_hf_dict`.

Id fallback: ids left unset (`None`) at the top level - `decoder_start_token_id`, `pad_token_id`,
`eos_token_id`, `bos_token_id` - fall back to the decoder config's value, as the reference's
`generate()` does (`GenerationConfig.from_model_config`). The reference's *training* forward
instead raises when the top-level `decoder_start_token_id` is unset; we use the fallback there too.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

ACTIVATIONS = (
    "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu",
    "relu", "silu", "swish", "tanh", "sigmoid", "linear",
)

# Generation settings that `GenerationConfig.from_model_config` reads off model configs.
GENERATION_KEYS = (
    "max_length", "max_new_tokens", "min_length", "num_beams", "length_penalty",
    "early_stopping", "do_sample", "temperature", "top_k", "top_p", "num_return_sequences",
)
# The `GenerationConfig` defaults: a value equal to these is "unset" and may come from the decoder.
# Generation settings with the reference's defaults (transformers 4.46.3
# `GenerationConfig.__init__`), in its order: the one table of them in the library.
GENERATION_DEFAULTS: dict[str, Any] = {
    "max_length": 20, "max_new_tokens": None, "min_length": 0, "min_new_tokens": None,
    "early_stopping": False, "max_time": None, "stop_strings": None, "do_sample": False,
    "num_beams": 1, "num_beam_groups": 1, "penalty_alpha": None, "dola_layers": None,
    "use_cache": True, "cache_implementation": None, "cache_config": None,
    "return_legacy_cache": None, "temperature": 1.0, "top_k": 50, "top_p": 1.0, "min_p": None,
    "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "diversity_penalty": 0.0,
    "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0, "length_penalty": 1.0,
    "no_repeat_ngram_size": 0, "bad_words_ids": None, "force_words_ids": None,
    "renormalize_logits": False, "constraints": None, "forced_bos_token_id": None,
    "forced_eos_token_id": None, "remove_invalid_values": False,
    "exponential_decay_length_penalty": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "forced_decoder_ids": None, "sequence_bias": None,
    "token_healing": False, "guidance_scale": None, "low_memory": None,
    "watermarking_config": None, "num_return_sequences": 1, "output_attentions": False,
    "output_hidden_states": False, "output_scores": False, "output_logits": None,
    "return_dict_in_generate": False, "pad_token_id": None, "bos_token_id": None,
    "eos_token_id": None, "encoder_no_repeat_ngram_size": 0, "decoder_start_token_id": None,
    "num_assistant_tokens": 20, "num_assistant_tokens_schedule": "constant",
    "assistant_confidence_threshold": 0.4, "prompt_lookup_num_tokens": None,
    "max_matching_ngram_size": None,
}


class ConfigError(ValueError):
    """A config value this library (or the reference) cannot run; the message names the field."""


def _extra_field() -> Any:
    return dataclasses.field(default_factory=dict, compare=False, hash=False, repr=False)


def _check_choice(where: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{where}.{name}={value!r} is not supported; expected one of {choices}")


def _from_dict(cls, d: Mapping[str, Any], where: str, renames: Mapping[str, str] = {}):
    """Build a dataclass from an HF dict: known keys become fields, the rest go to `extra`."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in d.items():
        key2 = renames.get(key, key)
        if key2 in names:
            kwargs[key2] = tuple(value) if isinstance(value, list) else value
        else:
            extra[key] = value
    try:
        return cls(**kwargs, extra=extra)
    except TypeError as e:  # a wrong value type, e.g. a string where an int belongs
        raise ConfigError(f"{where}: {e}") from e


def _to_dict(cfg, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = dict(cfg.extra)
    for f in dataclasses.fields(cfg):
        if f.name == "extra" or f.name in drop:
            continue
        value = getattr(cfg, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class EncoderConfig:
    """Wav2Vec2 encoder hyper-parameters (HF `Wav2Vec2Config`; class defaults)."""

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5
    feat_extract_norm: str = "group"
    feat_extract_activation: str = "gelu"
    conv_dim: tuple[int, ...] = (512,) * 7
    conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    do_stable_layer_norm: bool = False
    add_adapter: bool = False
    adapter_kernel_size: int = 3
    adapter_stride: int = 2
    num_adapter_layers: int = 3
    output_hidden_size: int | None = None
    adapter_attn_dim: int | None = None
    # Training only.
    hidden_dropout: float = 0.1
    activation_dropout: float = 0.1
    attention_dropout: float = 0.1
    feat_proj_dropout: float = 0.0
    layerdrop: float = 0.1
    apply_spec_augment: bool = True
    mask_time_prob: float = 0.05
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    mask_feature_prob: float = 0.0
    mask_feature_length: int = 10
    mask_feature_min_masks: int = 0
    extra: Mapping[str, Any] = _extra_field()

    def __post_init__(self) -> None:
        w = "encoder"
        if self.extra.get("model_type", "wav2vec2") != "wav2vec2":
            raise ConfigError(
                f"encoder.model_type={self.extra['model_type']!r} is not supported; "
                "only 'wav2vec2' encoders are"
            )
        _check_choice(w, "feat_extract_norm", self.feat_extract_norm, ("group", "layer"))
        _check_choice(w, "hidden_act", self.hidden_act, ACTIVATIONS)
        _check_choice(w, "feat_extract_activation", self.feat_extract_activation, ACTIVATIONS)
        n = len(self.conv_dim)
        if n == 0 or len(self.conv_kernel) != n or len(self.conv_stride) != n:
            raise ConfigError(
                f"encoder.conv_dim/conv_kernel/conv_stride must be non-empty and of equal length, "
                f"got {len(self.conv_dim)}/{len(self.conv_kernel)}/{len(self.conv_stride)}"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"encoder.hidden_size={self.hidden_size} is not divisible by "
                f"encoder.num_attention_heads={self.num_attention_heads}"
            )
        if self.hidden_size % self.num_conv_pos_embedding_groups:
            raise ConfigError(
                f"encoder.hidden_size={self.hidden_size} is not divisible by "
                f"encoder.num_conv_pos_embedding_groups={self.num_conv_pos_embedding_groups}"
            )
        if self.adapter_attn_dim is not None:
            raise ConfigError("encoder.adapter_attn_dim (MMS attention adapters) is not supported")
        if self.add_adapter and self.adapter_kernel_size != 3:
            # The reference computes adapter output lengths as if the kernel were 1 with padding 1,
            # which is only right for kernel 3; other kernels give wrong masks or an IndexError.
            raise ConfigError(
                f"encoder.adapter_kernel_size={self.adapter_kernel_size} is not supported "
                "(the reference's frame-mask arithmetic is only correct for kernel 3)"
            )
        if self.output_hidden_size is None:
            object.__setattr__(self, "output_hidden_size", self.hidden_size)

    @property
    def num_feat_extract_layers(self) -> int:
        return len(self.conv_dim)

    @property
    def output_size(self) -> int:
        """Width of the encoder's output states: `output_hidden_size` with the adapter."""
        return self.output_hidden_size if self.add_adapter else self.hidden_size

    @classmethod
    def from_hf_dict(cls, d: Mapping[str, Any]) -> EncoderConfig:
        return _from_dict(cls, d, "encoder")

    def to_hf_dict(self) -> dict[str, Any]:
        out = _to_dict(self)
        out.setdefault("model_type", "wav2vec2")
        out["num_feat_extract_layers"] = self.num_feat_extract_layers
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class DecoderConfig:
    """Speech2Text2 decoder hyper-parameters (HF `Speech2Text2Config`; class defaults)."""

    vocab_size: int = 10000
    d_model: int = 256
    decoder_layers: int = 6
    decoder_attention_heads: int = 4
    decoder_ffn_dim: int = 2048
    activation_function: str = "relu"
    scale_embedding: bool = True
    max_target_positions: int = 1024
    pad_token_id: int = 1
    bos_token_id: int = 0
    eos_token_id: int = 2
    decoder_start_token_id: int | None = 2
    # PretrainedConfig's default, also when the key is absent (REFERENCE.md section 9).
    tie_word_embeddings: bool = True
    cross_attention_hidden_size: int | None = None
    layer_norm_eps: float = 1e-5  # fixed in the reference (nn.LayerNorm default), not read
    # Training only.
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    decoder_layerdrop: float = 0.0
    extra: Mapping[str, Any] = _extra_field()

    def __post_init__(self) -> None:
        mt = self.extra.get("model_type", "speech_to_text_2")
        if mt != "speech_to_text_2":
            raise ConfigError(
                f"decoder.model_type={mt!r} is not supported; only 'speech_to_text_2' decoders are"
            )
        _check_choice("decoder", "activation_function", self.activation_function, ACTIVATIONS)
        if self.d_model % self.decoder_attention_heads:
            raise ConfigError(
                f"decoder.d_model={self.d_model} is not divisible by "
                f"decoder.decoder_attention_heads={self.decoder_attention_heads}"
            )
        if self.d_model % 2:
            raise ConfigError(f"decoder.d_model={self.d_model} must be even (sinusoidal positions)")
        if self.pad_token_id is None:
            raise ConfigError("decoder.pad_token_id must be set (it defines the position offset)")

    @property
    def num_positions(self) -> int:
        """Rows of the sinusoidal table: `max_target_positions + 2`."""
        return self.max_target_positions + 2

    @property
    def start_token_id(self) -> int:
        return self.bos_token_id if self.decoder_start_token_id is None else self.decoder_start_token_id

    @classmethod
    def from_hf_dict(cls, d: Mapping[str, Any]) -> DecoderConfig:
        d = {k: v for k, v in d.items() if k != "layer_norm_eps"}
        return _from_dict(cls, d, "decoder", renames={"hidden_size": "d_model"})

    def to_hf_dict(self) -> dict[str, Any]:
        out = _to_dict(self, drop=("layer_norm_eps",))
        out.setdefault("model_type", "speech_to_text_2")
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """The whole `SpeechEncoderDecoderConfig`: encoder, decoder and top-level ids."""

    encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
    decoder: DecoderConfig = dataclasses.field(default_factory=DecoderConfig)
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    decoder_start_token_id: int | None = None
    tie_word_embeddings: bool = True  # PretrainedConfig default; never unties the decoder (section 9)
    extra: Mapping[str, Any] = _extra_field()

    def __post_init__(self) -> None:
        mt = self.extra.get("model_type", "speech-encoder-decoder")
        if mt != "speech-encoder-decoder":
            raise ConfigError(
                f"model_type={mt!r} is not supported; expected 'speech-encoder-decoder' "
                "(a wav2vec2 encoder with a speech_to_text_2 decoder)"
            )
        enc, dec = self.encoder, self.decoder
        cross = dec.cross_attention_hidden_size
        if cross is not None and cross != enc.hidden_size:
            raise ConfigError(
                f"decoder.cross_attention_hidden_size={cross} must equal encoder.hidden_size="
                f"{enc.hidden_size}"
            )
        if self.has_enc_to_dec_proj:
            if enc.output_size != enc.hidden_size:
                # The reference builds enc_to_dec_proj as Linear(hidden_size, d_model) and feeds it
                # the adapter's output_hidden_size-wide states: it crashes.
                raise ConfigError(
                    f"encoder.output_hidden_size={enc.output_hidden_size} differs from both "
                    f"encoder.hidden_size={enc.hidden_size} and decoder.d_model={dec.d_model}; "
                    "the reference cannot run this config"
                )
        elif enc.output_size != dec.d_model:
            raise ConfigError(
                f"the encoder's output width {enc.output_size} does not match decoder.d_model="
                f"{dec.d_model} and no enc_to_dec_proj is built (cross_attention_hidden_size or "
                "output_hidden_size is set); the reference cannot run this config"
            )

    @property
    def has_enc_to_dec_proj(self) -> bool:
        """The reference's rule: output_hidden_size != d_model and no cross_attention_hidden_size."""
        return (
            self.encoder.output_hidden_size != self.decoder.d_model
            and self.decoder.cross_attention_hidden_size is None
        )

    def _id(self, name: str) -> int | None:
        top = getattr(self, name)
        return getattr(self.decoder, name) if top is None else top

    @property
    def start_token_id(self) -> int:
        """`decoder_start_token_id`, falling back to the decoder's (then to bos)."""
        top = self.decoder_start_token_id
        return self.decoder.start_token_id if top is None else top

    @property
    def pad_id(self) -> int:
        pad = self._id("pad_token_id")
        return self.eos_id if pad is None else pad

    @property
    def eos_id(self) -> int:
        return self._id("eos_token_id")

    @property
    def bos_id(self) -> int:
        return self._id("bos_token_id")

    def generation_defaults(self) -> dict[str, Any]:
        """Generation defaults as the reference's `GenerationConfig.from_model_config` takes them.

        Top-level values first; any still equal to the `GenerationConfig` default is taken from the
        decoder config. `generation_config.json` (if present) overrides both; see `load_generation`.
        """
        out = {}
        for key, default in GENERATION_DEFAULTS.items():
            value = self.extra.get(key, default)
            if value == default:
                value = self.decoder.extra.get(key, default)
            out[key] = value
        return out

    @classmethod
    def from_hf_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        if "encoder" not in d or "decoder" not in d:
            mt = d.get("model_type")
            raise ConfigError(
                f"config has model_type={mt!r} and no encoder/decoder sub-configs; expected a "
                "'speech-encoder-decoder' config.json"
            )
        top = {k: v for k, v in d.items() if k not in ("encoder", "decoder")}
        return _from_dict(
            cls,
            {
                **top,
                "encoder": EncoderConfig.from_hf_dict(d["encoder"]),
                "decoder": DecoderConfig.from_hf_dict(d["decoder"]),
            },
            "config",
        )

    def to_hf_dict(self) -> dict[str, Any]:
        out = _to_dict(self, drop=("encoder", "decoder"))
        out["encoder"] = self.encoder.to_hf_dict()
        out["decoder"] = self.decoder.to_hf_dict()
        out.setdefault("model_type", "speech-encoder-decoder")
        out.setdefault("is_encoder_decoder", True)
        return out

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> ModelConfig:
        """Read a `config.json` file, or the one in a model folder."""
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"no config.json at {path}") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON: {e}") from e
        return cls.from_hf_dict(d)

    def save(self, path: str | os.PathLike) -> None:
        """Write `config.json` into a folder (or to a file path ending in .json)."""
        path = os.fspath(path)
        if not path.endswith(".json"):
            path = os.path.join(path, "config.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_dict(), f, indent=2, sort_keys=True)
            f.write("\n")
