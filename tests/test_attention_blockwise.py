"""Blockwise (query-chunked) encoder attention equals the full softmax attention."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import build_reference, random_batch, save_reference

from s2t2_jax import model as M
from s2t2_jax.attention import Attention, attention_values, blockwise_attention, mask_bias
from s2t2_jax.pytorch import read_hf_folder


def _full(q, k, v, bias):
    scores = jnp.einsum("btnh,bsnh->bnts", q, k) + bias
    return jnp.einsum("bnts,bsnh->btnh", jax.nn.softmax(scores, -1), v)


@pytest.mark.parametrize("keys", ["bnhs", "bnsh"])
@pytest.mark.parametrize("t, block, heads", [(37, 8, 0), (64, 16, 2), (5, 16, 1), (100, 100, 4),
                                             (30, 7, 1)])
def test_blockwise_matches_full(t, block, heads, keys):
    rng = np.random.default_rng(0)
    b, s, n, h = 3, t + 3, 4, 8
    q, k, v = (jnp.asarray(rng.standard_normal(shape).astype(np.float32))
               for shape in ((b, t, n, h), (b, s, n, h), (b, s, n, h)))
    keep = np.ones((b, s), bool)
    keep[1, s // 2:] = False
    bias = mask_bias(jnp.asarray(keep))[:, None, None, :]
    # The module's layouts: q [B, N, T, H], k [B, N, H, S] or [B, N, S, H], v [B, N, S, H].
    kt = k.transpose(0, 2, 3, 1) if keys == "bnhs" else k.transpose(0, 2, 1, 3)
    qkv = dict(q=q.transpose(0, 2, 1, 3), k=kt, v=v.transpose(0, 2, 1, 3), keys=keys)
    out = blockwise_attention(**qkv, bias=bias, block=block, heads=heads).transpose(0, 2, 1, 3)
    assert out.shape == (b, t, n, h)
    np.testing.assert_allclose(np.asarray(out), np.asarray(_full(q, k, v, bias)), atol=1e-5, rtol=1e-6)
    no_bias = blockwise_attention(**qkv, bias=None, block=block, heads=heads).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(np.asarray(no_bias), np.asarray(_full(q, k, v, 0.0)), atol=1e-5, rtol=1e-6)
    per_head = bias + jnp.asarray(rng.standard_normal((1, n, 1, s)).astype(np.float32))  # [B, N, 1, S]
    out = blockwise_attention(**qkv, bias=per_head, block=block, heads=heads).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(np.asarray(out), np.asarray(_full(q, k, v, per_head)), atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("keys", ["bnhs", "bnsh"])
def test_module_uses_blocks_only_when_allowed(keys):
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 40, 16)).astype(np.float32))
    full, blocked = Attention(16, 2), Attention(16, 2, query_block=8, keys_layout=keys)
    params = full.init({"params": np.zeros(2, np.uint32)}, x)
    a = full.apply(params, x)
    b = blocked.apply(params, x)
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, rtol=1e-6)
    c = Attention(16, 2, keys_layout=keys).apply(params, x)  # plain attention, this layout
    np.testing.assert_allclose(np.asarray(c), np.asarray(a), atol=1e-6, rtol=1e-6)
    # Attention weights asked for: the full path runs (and sows them).
    _, state = blocked.apply(params, x, mutable=["intermediates"])
    assert state["intermediates"]["attention_weights"][0].shape == (2, 2, 40, 40)


def test_encoder_blockwise_matches_reference(tmp_path):
    ref = build_reference("layer_stable_bias_noproj_oddheads")
    config, params = read_hf_folder(save_reference(ref, tmp_path))
    x, mask = random_batch([4000, 2900, 1500], seed=5)
    # 199 frames: 29 blocks per row, the last partial
    enc, frames = M.encode(params, config, x, mask, query_block=7)
    with torch.no_grad():
        enc_ref = ref.encoder(torch.tensor(x), attention_mask=torch.tensor(mask)).last_hidden_state
    frames = np.asarray(frames)
    np.testing.assert_allclose(np.asarray(enc)[frames], enc_ref.numpy()[frames], atol=1e-4, rtol=0)
    enc_full, _ = M.encode(params, config, x, mask, query_block=0)
    np.testing.assert_allclose(np.asarray(enc)[frames], np.asarray(enc_full)[frames], atol=2e-5, rtol=0)


def test_attention_blocks_rule():
    from s2t2_jax.attention import PLAIN_MAX_QUERIES, SCORE_BLOCK, attention_blocks

    assert attention_blocks(PLAIN_MAX_QUERIES, PLAIN_MAX_QUERIES, 16, -1) == (0, 0)  # plain up to it
    for t in (PLAIN_MAX_QUERIES + 1, 311, 499, 999, 1499, 4000, 20000):
        block, heads = attention_blocks(t, t, 16, -1)
        assert 0 < block <= t and -(-t // block) * block - t < -(-t // block)  # even query blocks
        assert heads == 1 or heads * block * t <= SCORE_BLOCK  # the scores budget
        assert 16 % heads == 0 and (heads == 16 or 2 * heads * block * t > SCORE_BLOCK)  # maximal
        assert block == t or block * t <= 2 * SCORE_BLOCK
    assert attention_blocks(1000, 1000, 16, 0) == (0, 0)  # 0: never blocks
    assert attention_blocks(9, 9, 4, 8) == (8, 4) and attention_blocks(8, 8, 4, 8) == (0, 0)


@pytest.mark.parametrize("m, group", [(40, 3), (16, 1), (70, 5)])
def test_step_attention_reads_a_prefix_with_the_full_buffers_values(m, group):
    """A generation step's self-attention over the smallest bucket of cached positions holding
    0..index equals attention over the whole buffers, where later positions are masked."""
    from s2t2_jax.decoder import prefix_lengths, step_attention

    assert prefix_lengths(70) == [16, 32, 64, 70] and prefix_lengths(16) == [16]
    rng = np.random.default_rng(0)
    b, n, h = 2, 3, 8
    k = jnp.asarray(rng.standard_normal((b, n, h, m * group)), jnp.float32)
    v = jnp.asarray(rng.standard_normal((b, n, m * group, h)), jnp.float32)
    q = jnp.asarray(rng.standard_normal((b, n, group, h)), jnp.float32)
    for index in sorted({0, 15, 16, m // 2, m - 1}):
        keep = (jnp.arange(m) <= index)[:, None] & (rng.random((b, 1, group, m, group)) < 0.7)
        keep = keep.at[..., 0, :].set(True).reshape(b, 1, group, m * group)  # position 0 seen
        bias = mask_bias(keep)
        got = step_attention(q, k, v, bias, jnp.asarray(index), group)
        want = attention_values(q, k, v, bias)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=str(index))
