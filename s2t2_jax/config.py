"""Frozen configuration dataclasses, read from and written to Hugging Face `config.json`.

The layout is the one of `SpeechEncoderDecoderConfig`: a top-level dict with `encoder` (a
`Wav2Vec2Config`) and `decoder` (a `Speech2Text2Config`) sub-dicts. Every config is frozen and
hashable, so it can be a static argument of `jax.jit`. Keys we do not model are kept (not compared,
not hashed) and written back unchanged by `to_hf_dict`.

Generation settings: `ModelConfig.generation` holds a folder's `generation_config.json` (read by
`ModelConfig.from_json(folder)`, written back by `save(folder)`); `generation_defaults()` resolves
them with config.json as the reference does (`s2t2_jax.generation_config`). The ids `generate()`
uses (`start_token_id`, `pad_id`, `eos_id`) come from there: without the file, ids left unset
(`None`) at the top level fall back to the decoder config's value (`from_model_config`); the
start token then falls back to `bos_token_id`. The training label shift's ids are the model
config's (`label_start_token_id`, `label_pad_id`: top level, else the decoder's); the reference's
*training* forward instead raises when the top-level `decoder_start_token_id` is unset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from s2t2_jax import generation_config as G
from s2t2_jax.generation_config import GENERATION_DEFAULTS as GENERATION_DEFAULTS

ACTIVATIONS = (
    "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu",
    "relu", "silu", "swish", "tanh", "sigmoid", "linear",
)


class ConfigError(ValueError):
    """A config value this library (or the reference) cannot run; the message names the field."""


@contextlib.contextmanager
def _config_error() -> Iterator[None]:
    """Report the generation settings' errors as `ConfigError`."""
    try:
        yield
    except G.GenerationError as e:
        raise ConfigError(str(e)) from None


def _extra_field() -> Any:
    return dataclasses.field(default_factory=dict, compare=False, hash=False, repr=False)


def _check_choice(where: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{where}.{name}={value!r} is not supported; expected one of {choices}")


def _from_dict(cls, d: Mapping[str, Any], where: str, renames: Mapping[str, str] = {}):
    """Build a dataclass from an HF dict: known keys become fields, the rest go to `extra`."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra", "generation"}
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
    """The whole `SpeechEncoderDecoderConfig`: encoder, decoder and top-level ids, plus the folder's
    `generation_config.json` settings (`generation`, None without the file; compared and hashed,
    since the ids it sets shape the generate program)."""

    encoder: EncoderConfig = dataclasses.field(default_factory=EncoderConfig)
    decoder: DecoderConfig = dataclasses.field(default_factory=DecoderConfig)
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    decoder_start_token_id: int | None = None
    tie_word_embeddings: bool = True  # PretrainedConfig default; never unties the decoder (section 9)
    generation: Mapping[str, Any] | None = dataclasses.field(default=None, repr=False)
    extra: Mapping[str, Any] = _extra_field()

    def __post_init__(self) -> None:
        if self.generation is not None and not isinstance(self.generation, G.GenerationFile):
            if not isinstance(self.generation, Mapping):
                raise ConfigError(f"{G.GENERATION_FILE} must hold a JSON object, got {self.generation!r}")
            object.__setattr__(self, "generation", G.GenerationFile(self.generation))
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

    def _settings(self) -> dict[str, Any]:
        """The generation settings before nulls are read (`generation_config.resolve`)."""
        top = {k: v for k, v in self.to_hf_dict().items() if k not in ("encoder", "decoder")}
        return G.resolve(top, self.decoder.to_hf_dict(), self.generation)

    def generation_defaults(self) -> dict[str, Any]:
        """Every setting of `GENERATION_DEFAULTS` as the reference's `generate()` resolves it with
        no options: `generation_config.json` if the folder had one, else config.json (top level,
        then the decoder), under the reference's rules; nulls replaced by what they mean there."""
        with _config_error():
            return G.read_nulls(self._settings())

    def with_generation(self, settings: Mapping[str, Any]) -> ModelConfig:
        """This config with `settings` applied over its generation settings (as the reference's
        `GenerationConfig.update`: a null is a null, e.g. `top_k: None` turns top-k off)."""
        with _config_error():
            G.check_settings(settings, "generation settings")
        return dataclasses.replace(self, generation={**self._settings(), **settings})

    def _ids(self) -> tuple[int, int, int, int | None]:
        with _config_error():
            return G.special_ids(self._settings())

    @property
    def start_token_id(self) -> int:
        """The decoder start token of `generate()`: `decoder_start_token_id`, else `bos_token_id`."""
        return self._ids()[0]

    @property
    def pad_id(self) -> int:
        """`pad_token_id` of the generation settings, else the EOS (-1 when neither is set)."""
        return self._ids()[1]

    @property
    def eos_id(self) -> int:
        """The EOS of the generation settings; -1 when it is unset (rows then never end)."""
        return self._ids()[2]

    @property
    def bos_id(self) -> int | None:
        return self._ids()[3]

    @property
    def label_start_token_id(self) -> int:
        """The training label shift's start token: the model config's `decoder_start_token_id`
        (top level, else the decoder's, else its bos), never the generation settings'."""
        top = self.decoder_start_token_id
        return self.decoder.start_token_id if top is None else top

    @property
    def label_pad_id(self) -> int:
        """The training label shift's pad: the model config's `pad_token_id` (top level, else the
        decoder's)."""
        return self.decoder.pad_token_id if self.pad_token_id is None else self.pad_token_id

    @classmethod
    def from_hf_dict(
        cls, d: Mapping[str, Any], generation: Mapping[str, Any] | None = None
    ) -> ModelConfig:
        """From a config.json dict (+ a generation_config.json dict, if any)."""
        if "encoder" not in d or "decoder" not in d:
            mt = d.get("model_type")
            raise ConfigError(
                f"config has model_type={mt!r} and no encoder/decoder sub-configs; expected a "
                "'speech-encoder-decoder' config.json"
            )
        top = {k: v for k, v in d.items() if k not in ("encoder", "decoder")}
        cfg = _from_dict(
            cls,
            {
                **top,
                "encoder": EncoderConfig.from_hf_dict(d["encoder"]),
                "decoder": DecoderConfig.from_hf_dict(d["decoder"]),
            },
            "config",
        )
        return cfg if generation is None else dataclasses.replace(cfg, generation=generation)

    def to_hf_dict(self) -> dict[str, Any]:
        out = _to_dict(self, drop=("encoder", "decoder", "generation"))
        out["encoder"] = self.encoder.to_hf_dict()
        out["decoder"] = self.decoder.to_hf_dict()
        out.setdefault("model_type", "speech-encoder-decoder")
        out.setdefault("is_encoder_decoder", True)
        return out

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> ModelConfig:
        """Read a `config.json` file, or a model folder's `config.json` and (when there is one)
        its `generation_config.json`."""
        path = os.fspath(path)
        generation = None
        if os.path.isdir(path):
            gen_path = os.path.join(path, G.GENERATION_FILE)
            if os.path.isfile(gen_path):
                generation = _read_json(gen_path)
            path = os.path.join(path, "config.json")
        try:
            d = _read_json(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no config.json at {path}") from None
        return cls.from_hf_dict(d, generation)

    def save(self, path: str | os.PathLike) -> None:
        """Write `config.json` into a folder, with `generation_config.json` when `generation` is
        set (or only config.json, to a file path ending in .json)."""
        path = os.fspath(path)
        if not path.endswith(".json"):
            if self.generation is not None:
                _write_json(os.path.join(path, G.GENERATION_FILE), dict(self.generation))
            path = os.path.join(path, "config.json")
        _write_json(path, self.to_hf_dict())


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from e


def _write_json(path: str, d: Mapping[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(d, f, indent=2, sort_keys=True)
        f.write("\n")
