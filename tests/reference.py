"""Random-weight reference models (transformers 4.46.3, torch 2.13.0) for parity tests.

Only tests import this module; the library never imports torch or transformers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_ENCODER = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
    conv_dim=(16, 16, 16), conv_kernel=(10, 3, 3), conv_stride=(5, 2, 2),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
    hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
    layerdrop=0.0, mask_time_prob=0.0,
)
TINY_DECODER = dict(
    vocab_size=61, d_model=16, decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=24,
    max_target_positions=64, dropout=0.0,
)

# name -> (encoder overrides, decoder overrides): together they cover group/layer norm, post/pre
# LN, conv bias, odd and even positional kernels, with/without enc_to_dec_proj, the adapter (with
# and without its projection), tied and untied lm_head, odd head counts and other activations.
CONFIGS = {
    "group_postln_proj": ({}, {}),
    "layer_stable_bias_noproj_oddheads": (
        dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
             hidden_size=30, num_attention_heads=3, num_conv_pos_embeddings=15,
             num_conv_pos_embedding_groups=3),
        dict(d_model=30, decoder_attention_heads=5),
    ),
    "adapter_proj_to_dmodel": (
        dict(feat_extract_norm="layer", do_stable_layer_norm=True, add_adapter=True,
             output_hidden_size=16, num_adapter_layers=2),
        {},
    ),
    "adapter_then_enc_to_dec_proj": (
        dict(add_adapter=True, adapter_stride=2, num_adapter_layers=1),
        dict(tie_word_embeddings=False, activation_function="gelu"),
    ),
    "untied_unscaled_gelu_new": (
        dict(hidden_act="gelu_new", feat_extract_activation="relu", conv_bias=True),
        dict(tie_word_embeddings=False, scale_embedding=False, decoder_attention_heads=4,
             activation_function="silu"),
    ),
}


def build_reference(name: str, seed: int = 0, extra_encoder=None, extra_decoder=None,
                    top: dict | None = None):
    """A random `SpeechEncoderDecoderModel` (eval mode) with every weight perturbed."""
    import torch
    from transformers import (
        Speech2Text2Config,
        SpeechEncoderDecoderConfig,
        SpeechEncoderDecoderModel,
        Wav2Vec2Config,
    )

    enc, dec = CONFIGS[name] if name in CONFIGS else ({}, {})
    enc = {**TINY_ENCODER, **enc, **(extra_encoder or {})}
    dec = {**TINY_DECODER, **dec, **(extra_decoder or {})}
    torch.manual_seed(seed)
    config = SpeechEncoderDecoderConfig.from_encoder_decoder_configs(
        Wav2Vec2Config(**enc), Speech2Text2Config(**dec)
    )
    config.decoder_start_token_id = 2
    config.pad_token_id = 1
    for k, v in (top or {}).items():
        setattr(config, k, v)
    model = SpeechEncoderDecoderModel(config=config).eval()
    with torch.no_grad():  # make every parameter matter (norm biases start at zero, etc.)
        for pname, p in model.named_parameters():
            if "embed_positions" not in pname:
                p.add_(0.1 * torch.randn_like(p))
    return model


def save_reference(model, folder: Path, safe: bool = True, legacy_weight_norm: bool = False):
    """`save_pretrained` as safetensors or .bin; optionally rename weight norm to weight_g/_v."""
    import torch

    model.save_pretrained(folder, safe_serialization=safe)
    if legacy_weight_norm:
        name = folder / ("model.safetensors" if safe else "pytorch_model.bin")
        if safe:
            from safetensors.torch import load_file, save_file

            sd = load_file(name)
        else:
            sd = torch.load(name, weights_only=True)
        sd = {k.replace("parametrizations.weight.original0", "weight_g")
               .replace("parametrizations.weight.original1", "weight_v"): v
              for k, v in sd.items()}
        if safe:
            save_file(sd, name, metadata={"format": "pt"})
        else:
            torch.save(sd, name)
    return folder


def random_batch(lengths, seed=0):
    """Audio `[B, max_len]` (right-padded with zeros) and its int sample mask."""
    rng = np.random.default_rng(seed)
    b, n = len(lengths), max(lengths)
    x = np.zeros((b, n), np.float32)
    mask = np.zeros((b, n), np.int32)
    for i, length in enumerate(lengths):
        x[i, :length] = rng.standard_normal(length).astype(np.float32)
        mask[i, :length] = 1
    return x, mask


def tiny_training_config(encoder: dict | None = None, decoder: dict | None = None):
    """A tiny `ModelConfig` with every training feature on (dropouts, LayerDrop, SpecAugment)."""
    from s2t2_jax.config import DecoderConfig, EncoderConfig, ModelConfig

    enc = dict(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
        conv_dim=(8, 8), conv_kernel=(10, 3), conv_stride=(5, 2), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, hidden_dropout=0.1, attention_dropout=0.1,
        activation_dropout=0.1, layerdrop=0.1, mask_time_prob=0.2, mask_time_length=4,
        mask_feature_prob=0.2, mask_feature_length=3,
    )
    dec = dict(vocab_size=16, d_model=16, decoder_layers=1, decoder_attention_heads=2,
               decoder_ffn_dim=16, max_target_positions=16, dropout=0.1)
    return ModelConfig(encoder=EncoderConfig(**{**enc, **(encoder or {})}),
                       decoder=DecoderConfig(**{**dec, **(decoder or {})}))


def random_params(config, seed: int = 0):
    """Random params for `config` as numpy arrays, without compiling the model's initialiser:
    normal(0, 0.3) weights, unit scales, zero biases, and the decoder's sinusoidal position table."""
    import jax

    from s2t2_jax import model as M
    from s2t2_jax.attention import sinusoidal_table

    rng = np.random.default_rng(seed)

    def init(path, s):
        name = path[-1].key
        if name == "weights":  # the decoder's position table
            return np.asarray(sinusoidal_table(s.shape[0], s.shape[1], config.decoder.pad_token_id))
        if name in ("scale", "weight_g"):
            return np.ones(s.shape, np.float32)
        if name == "bias":
            return np.zeros(s.shape, np.float32)
        return (0.3 * rng.standard_normal(s.shape)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(init, M.param_shapes(config))
