"""Slow: a random model with the real checkpoint's full shapes, legacy weight-norm names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import random_batch, save_reference

from s2t2_jax import model as M
from s2t2_jax.pytorch import read_hf_folder

LARGE_LV60 = dict(
    hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
    hidden_act="gelu", feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True,
    conv_dim=[512] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
    num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, layer_norm_eps=1e-5,
    hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0,
    layerdrop=0.0, mask_time_prob=0.0,
)
S2T2_EN_DE = dict(
    vocab_size=10224, d_model=256, decoder_layers=7, decoder_attention_heads=4, decoder_ffn_dim=2048,
    activation_function="relu", scale_embedding=True, max_target_positions=1024, dropout=0.0,
)


def full_size_reference(seed: int = 0):
    from transformers import (
        Speech2Text2Config,
        SpeechEncoderDecoderConfig,
        SpeechEncoderDecoderModel,
        Wav2Vec2Config,
    )

    torch.manual_seed(seed)
    config = SpeechEncoderDecoderConfig.from_encoder_decoder_configs(
        Wav2Vec2Config(**LARGE_LV60), Speech2Text2Config(**S2T2_EN_DE)
    )
    config.decoder_start_token_id, config.pad_token_id = 2, 1
    return SpeechEncoderDecoderModel(config=config).eval()


@pytest.mark.slow
def test_full_size_legacy_weight_norm(tmp_path):
    ref = full_size_reference()
    save_reference(ref, tmp_path, safe=True, legacy_weight_norm=True)
    config, params = read_hf_folder(tmp_path)
    x, mask = random_batch([32000, 24000], seed=1)
    ids = np.random.default_rng(2).integers(3, 10224, (2, 12))
    ids[:, 0] = 2
    with torch.no_grad():
        tx, tm = torch.tensor(x), torch.tensor(mask)
        enc_ref = ref.enc_to_dec_proj(ref.encoder(tx, attention_mask=tm).last_hidden_state)
        out = ref(input_values=tx, attention_mask=tm, decoder_input_ids=torch.tensor(ids),
                  labels=torch.tensor(ids))
    enc, frames = M.encode(params, config, x, mask)
    frames = np.asarray(frames)
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref.numpy()[frames], atol=1e-4, rtol=0)
    ours = M.forward(params, config, x, ids, mask, labels=ids)
    np.testing.assert_allclose(np.asarray(ours["logits"]), out.logits.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(float(ours["loss"]), float(out.loss), rtol=1e-5)
