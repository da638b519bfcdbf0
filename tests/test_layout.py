"""One layout of the weights: the converter stacks the encoder layers, export unstacks them, and
folders written before stacking load into the same params; the full-size translate path."""

from __future__ import annotations

import numpy as np
import pytest
from flax.traverse_util import flatten_dict
from reference import build_reference, random_batch, save_reference

from s2t2_jax import model as M
from s2t2_jax.checkpoint import load_model, save_params
from s2t2_jax.pytorch import read_hf_folder, stack_layers, unstack_layers


@pytest.mark.parametrize("name", ["group_postln_proj", "layer_stable_bias_noproj_oddheads"])
def test_converter_stacks_and_unstacks_the_encoder_layers(name, tmp_path):
    ref = build_reference(name)
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    inner = params["encoder"]["encoder"]
    assert "layers_0" not in inner
    q = inner["layers"]["attention"]["q_proj"]["kernel"]
    assert q.shape[0] == config.encoder.num_hidden_layers
    for i, layer in enumerate(ref.encoder.encoder.layers):  # layer i of the reference at index i
        np.testing.assert_array_equal(q[i], layer.attention.q_proj.weight.detach().numpy().T)
    flat = flatten_dict(unstack_layers(params))
    assert flatten_dict(stack_layers(unstack_layers(params), config)).keys() == \
        flatten_dict(params).keys()
    assert ("encoder", "encoder", "layers_1", "attention", "q_proj", "kernel") in flat
    shapes = flatten_dict(M.param_shapes(config))  # the model's own layout is the stacked one
    assert {k: v.shape for k, v in flatten_dict(params).items()} == {k: v.shape for k, v in shapes.items()}


def test_folder_saved_unstacked_loads_stacked(tmp_path):
    """Converted folders written before the layers were stacked load as the same params."""
    ref_dir = save_reference(build_reference("group_postln_proj"), tmp_path / "hf")
    config, params = read_hf_folder(ref_dir)
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text((ref_dir / "config.json").read_text())
    save_params(unstack_layers(params), old / "params")
    _, loaded, _ = load_model(old)
    a, b = flatten_dict(loaded), flatten_dict(params)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


@pytest.mark.slow
def test_full_size_long_input_matches_reference():
    """The translate path (scanned layers, blockwise attention) on 12 s of audio at full size."""
    import torch
    from test_full_size import full_size_reference

    from s2t2_jax.config import ModelConfig
    from s2t2_jax.pytorch import state_dict_to_params

    ref = full_size_reference()
    config = ModelConfig.from_hf_dict(ref.config.to_dict())
    params = state_dict_to_params({k: v.numpy() for k, v in ref.state_dict().items()}, config)
    x, mask = random_batch([192000, 150000], seed=3)  # 599 frames: 5 query blocks per row
    enc, frames = M.encode(params, config, x, mask)
    with torch.no_grad():
        tx, tm = torch.tensor(x), torch.tensor(mask)
        enc_ref = ref.enc_to_dec_proj(ref.encoder(tx, attention_mask=tm).last_hidden_state)
    frames = np.asarray(frames)
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref.numpy()[frames], atol=1e-4, rtol=0)
