"""Generation settings of a model folder, resolved as the reference resolves them (transformers 4.46.3).

The reference (`SpeechEncoderDecoderModel.from_pretrained` + `generate()`) takes its generation
settings from, in this order:

1. `generation_config.json` when the folder has one (`GenerationConfig.from_pretrained`, read by
   `modeling_utils.from_pretrained`): `GenerationConfig(**file)`, nulls kept as nulls; keys the
   class does not know are kept as attributes (and never used).
2. Otherwise the model config (`GenerationConfig.from_model_config`): the top-level config with
   null values dropped, then every setting still equal to its `GenerationConfig` default taken from
   the decoder config when the decoder config has it (null included).
3. At `generate()` (`_prepare_generation_config`): a file marked `_from_model_config: true` is
   replaced by 2. when the top-level config holds a generation setting that differs from the
   model-config default (the legacy "settings in config.json" rule).

A null setting then means what it means in the reference's `generate()`: a logits processor or
warper whose setting is null is not applied (`top_k: null` turns top-k off although the default
is 50); `num_beams: null` is 1 (`GenerationConfig.validate`); `do_sample: null` is greedy. Nulls the
reference cannot run with (`early_stopping`, `num_return_sequences`, and `length_penalty` /
`num_beam_groups` with beams) raise `ConfigError`; a null `max_length` is refused by `generate`
unless `max_new_tokens` is given (the reference raises a TypeError).

Special ids as `generate()` takes them (`_prepare_special_tokens`): start = `decoder_start_token_id`,
else `bos_token_id`; pad = `pad_token_id`, else the (first) EOS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

GENERATION_FILE = "generation_config.json"

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
# `PretrainedConfig._get_global_generation_defaults`: the settings the legacy rule (3.) looks at.
_MODEL_CONFIG_KEYS = (
    "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
    "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
    "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
    "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
    "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
    "suppress_tokens", "begin_suppress_tokens",
)
# A null here means "not applied" in the reference's generate(): the value that means the same.
_NULL_MEANS = {
    "min_length": 0, "do_sample": False, "num_beams": 1, "temperature": 1.0, "top_k": 0,
    "top_p": 1.0, "typical_p": 1.0, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0,
    "diversity_penalty": 0.0, "repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0, "renormalize_logits": False,
    "remove_invalid_values": False,
}
_OUTPUT_FLAGS = ("output_attentions", "output_hidden_states", "output_scores", "output_logits")


class GenerationError(ValueError):
    """Generation settings the reference cannot run; the message names the setting."""


class GenerationFile(Mapping[str, Any]):
    """The settings of a `generation_config.json`: read-only and hashable (so a `ModelConfig`
    holding them stays a valid static argument of `jax.jit`)."""

    def __init__(self, settings: Mapping[str, Any]):
        self._d = dict(settings)
        self._key = json.dumps(self._d, sort_keys=True, default=repr)

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self) == dict(other)

    def __repr__(self) -> str:
        return f"GenerationFile({self._d!r})"


def from_model_config(top: Mapping[str, Any], decoder: Mapping[str, Any]) -> dict[str, Any]:
    """`GenerationConfig.from_model_config`: top-level values (nulls dropped), then the decoder's
    value for every setting still at its default."""
    out = dict(GENERATION_DEFAULTS)
    out.update({k: v for k, v in top.items() if k in out and v is not None})
    for key, default in GENERATION_DEFAULTS.items():
        if out[key] == default and key in decoder:
            out[key] = decoder[key]
    if out["return_dict_in_generate"] is False and any(out[f] for f in _OUTPUT_FLAGS):
        out["return_dict_in_generate"] = True
    return out


def resolve(
    top: Mapping[str, Any], decoder: Mapping[str, Any], file: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Every setting of `GENERATION_DEFAULTS` as the reference's `generate()` starts from, before
    nulls are read (see the module docstring): `top`/`decoder` are the config.json dicts."""
    if file is None:
        return from_model_config(top, decoder)
    legacy = any(
        top.get(k) is not None and top.get(k) != GENERATION_DEFAULTS[k] for k in _MODEL_CONFIG_KEYS
    )
    if file.get("_from_model_config") and legacy:
        return from_model_config(top, decoder)
    return {**GENERATION_DEFAULTS, **{k: v for k, v in file.items() if k in GENERATION_DEFAULTS}}


def read_nulls(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Replace nulls by what they mean in the reference's `generate()`; refuse those it cannot run."""
    out = dict(settings)
    for key in ("early_stopping", "num_return_sequences"):
        if out[key] is None:
            raise GenerationError(f"generation setting {key}=null: the reference refuses it")
    out.update({k: v for k, v in _NULL_MEANS.items() if out[k] is None})
    for key, value in (("length_penalty", 1.0), ("num_beam_groups", 1)):
        if out[key] is None:
            if out["num_beams"] > 1:
                raise GenerationError(
                    f"generation setting {key}=null with num_beams={out['num_beams']}: the "
                    "reference's beam search cannot run with it")
            out[key] = value  # unused without beams
    return out


def special_ids(settings: Mapping[str, Any]) -> tuple[int, int, int, int | None]:
    """(start, pad, eos, bos) as `generate()` takes them; eos -1 = none (rows never end)."""
    eos = settings["eos_token_id"]
    if isinstance(eos, list | tuple):
        if len(eos) != 1:
            raise GenerationError(f"eos_token_id={list(eos)}: only one EOS token is supported")
        eos = eos[0]
    bos, start, pad = settings["bos_token_id"], settings["decoder_start_token_id"], settings["pad_token_id"]
    start = bos if start is None else start
    if start is None:
        raise GenerationError("decoder_start_token_id or bos_token_id has to be defined for generation")
    pad = (-1 if eos is None else eos) if pad is None else pad
    return start, pad, -1 if eos is None else eos, bos


# Types of settings whose default is None (the others: the default's type).
_NONE_DEFAULT_TYPES: dict[str, tuple[type, ...]] = {
    **{k: (int,) for k in ("max_new_tokens", "min_new_tokens", "pad_token_id", "bos_token_id",
                           "decoder_start_token_id", "forced_bos_token_id",
                           "prompt_lookup_num_tokens", "max_matching_ngram_size")},
    **{k: (int, list) for k in ("eos_token_id", "forced_eos_token_id")},
    **{k: (int, float) for k in ("max_time", "penalty_alpha", "min_p", "guidance_scale")},
    **{k: (list,) for k in ("bad_words_ids", "suppress_tokens", "begin_suppress_tokens",
                            "force_words_ids", "forced_decoder_ids", "stop_strings")},
}


def check_settings(settings: Mapping[str, Any], where: str) -> None:
    """Settings given by a user (e.g. `--generation-config FILE`): known keys, values of the right
    type (null allowed: it means what it means in the reference). Ranges are `generate`'s check."""
    unknown = sorted(set(settings) - set(GENERATION_DEFAULTS))
    if unknown:
        raise GenerationError(f"{where}: unknown generation settings {unknown}")
    for key, value in settings.items():
        default = GENERATION_DEFAULTS[key]
        if value is None:
            continue
        if key == "early_stopping":
            ok = value in (True, False, "never")
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float | str):
            kinds = (int, float) if isinstance(default, float) else (type(default),)
            ok = isinstance(value, kinds) and not isinstance(value, bool)
        else:
            kinds = _NONE_DEFAULT_TYPES.get(key, (object,))
            ok = isinstance(value, kinds) and not isinstance(value, bool)
        if not ok:
            raise GenerationError(f"{where}: generation setting {key}={value!r} has the wrong type")
    if settings.get("max_new_tokens") is not None and settings["max_new_tokens"] <= 0:
        raise GenerationError(f"{where}: max_new_tokens={settings['max_new_tokens']} must be > 0")
