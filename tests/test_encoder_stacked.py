"""Stacked encoder layers (one scanned layer body) give the unrolled encoder's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from reference import build_reference, random_batch, save_reference

from s2t2_jax import decoding
from s2t2_jax import model as M
from s2t2_jax.encoder import stack_layers
from s2t2_jax.pytorch import read_hf_folder


@pytest.mark.parametrize("name", ["group_postln_proj", "layer_stable_bias_noproj_oddheads"])
def test_stacked_layers_match_unrolled(name, tmp_path):
    config, params = read_hf_folder(save_reference(build_reference(name), tmp_path))
    stacked = stack_layers(params, config.encoder)
    inner = stacked["encoder"]["encoder"]
    assert "layers_0" not in inner and inner["layers"]["attention"]["q_proj"]["kernel"].shape[0] == 2
    assert "layers_0" in params["encoder"]["encoder"]  # the input is left as it was
    x, mask = random_batch([2400, 1700, 1031], seed=1)
    enc, frames = M.encode(params, config, x, mask)
    enc_s, frames_s = M.encode(stacked, config, x, mask)
    np.testing.assert_array_equal(np.asarray(frames_s), np.asarray(frames))
    np.testing.assert_allclose(np.asarray(enc_s), np.asarray(enc), atol=1e-5, rtol=0)
    opts = dict(max_new_tokens=6, num_beams=2)
    np.testing.assert_array_equal(decoding.generate(stacked, config, x, mask, **opts),
                                  decoding.generate(params, config, x, mask, **opts))


def test_stacked_layers_refuse_training(tmp_path):
    config, params = read_hf_folder(save_reference(build_reference("group_postln_proj"), tmp_path))
    x, mask = random_batch([1600, 1600], seed=2)
    with pytest.raises(ValueError, match="inference only"):
        M.module(config).apply({"params": stack_layers(params, config.encoder)}, x, mask,
                               deterministic=False, rngs={"dropout": np.zeros(2, np.uint32)},
                               method=M.SpeechEncoderDecoder.encode)


@pytest.mark.slow
def test_full_size_long_input_matches_reference():
    """The translate path (stacked layers, blockwise attention) on 12 s of audio at full size."""
    import torch
    from test_full_size import full_size_reference

    from s2t2_jax.config import ModelConfig
    from s2t2_jax.pytorch import state_dict_to_params

    ref = full_size_reference()
    config = ModelConfig.from_hf_dict(ref.config.to_dict())
    params = state_dict_to_params({k: v.numpy() for k, v in ref.state_dict().items()}, config)
    x, mask = random_batch([192000, 150000], seed=3)  # 599 frames: 5 query blocks per row
    enc, frames = M.encode(stack_layers(params, config.encoder), config, x, mask)
    with torch.no_grad():
        tx, tm = torch.tensor(x), torch.tensor(mask)
        enc_ref = ref.enc_to_dec_proj(ref.encoder(tx, attention_mask=tm).last_hidden_state)
    frames = np.asarray(frames)
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref.numpy()[frames], atol=1e-4, rtol=0)
