"""SpecAugment span masks drawn with `jax.random` inside jit (HF `_compute_mask_indices` in spirit).

The reference draws masks with numpy on the host: per batch one `eps ~ U[0, 1)`, per row
`n = int(prob * length / span + eps)` raised to `min_masks` and capped so that the spans fit,
`n` distinct start indices in `[0, length - span]`, each masking `span` positions. Here the same
distribution is drawn on the device with static shapes: starts are the `n` largest of i.i.d.
uniform scores over the valid starts (a uniform sample without replacement). RNG streams differ
from numpy's; the only deliberate difference is that a row with no span masks nothing (the
reference then masks a dummy index, the last padding frame).

Shape letters: see `s2t2_jax/__init__.py`; P is a position on the masked axis (frames F, or
channels D).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from s2t2_jax.config import EncoderConfig


def span_mask(
    rng: jax.Array, batch: int, size: int, mask_prob: float, span: int, min_masks: int = 0,
    lengths: jax.Array | None = None,
) -> jax.Array:
    """Boolean mask `[B, P]` of random spans of `span` positions within each row's `lengths [B]`.

    `size`, `span`, `mask_prob`, `min_masks` are static; `lengths` (default: all `size`) are the
    unpadded lengths, as the reference's attention mask gives them.
    """
    if span < 1:
        raise ValueError(f"mask length must be >= 1, got {span}")
    if span > size:
        raise ValueError(
            f"mask length {span} is longer than the masked axis ({size}); the reference raises "
            "here too - use longer audio buckets or a shorter mask_time_length"
        )
    if lengths is None:
        lengths = jnp.full((batch,), size, jnp.int32)
    lengths = lengths.astype(jnp.int32)
    k_eps, k_scores = jax.random.split(rng)
    eps = jax.random.uniform(k_eps, ())
    # [B] spans per row, as compute_num_masked_span.
    n = jnp.floor(mask_prob * lengths.astype(jnp.float32) / span + eps).astype(jnp.int32)
    n = jnp.maximum(n, min_masks)
    n = jnp.where(n * span > size, size // span, n)
    n = jnp.minimum(n, jnp.maximum(lengths - (span - 1), 0))
    # Static upper bound on n (eps < 1).
    n_max = min(max(int(mask_prob * size / span) + 1, min_masks), size // span, size - span + 1)
    if n_max <= 0:
        return jnp.zeros((batch, size), bool)
    # [B, P] a start s is valid iff s <= length - span; pick the n_max best scores per row.
    valid = jnp.arange(size)[None, :] <= (lengths - span)[:, None]
    scores = jnp.where(valid, jax.random.uniform(k_scores, (batch, size)), -1.0)
    _, starts = jax.lax.top_k(scores, n_max)  # [B, n_max], valid ones first (scores >= 0)
    keep = jnp.arange(n_max)[None, :] < n[:, None]  # [B, n_max]
    # [B, P] start indicators, then a span-wide running "any" via a cumulative sum.
    is_start = jnp.zeros((batch, size), jnp.int32)
    is_start = is_start.at[jnp.arange(batch)[:, None], starts].max(keep.astype(jnp.int32))
    c = jnp.cumsum(is_start, axis=1)
    before = jnp.pad(c, ((0, 0), (span, 0)))[:, :size]  # c[p - span], 0 for p < span
    return (c - before) > 0


def spec_augment_masks(
    rng: jax.Array, config: EncoderConfig, batch: int, num_frames: int,
    frame_lengths: jax.Array | None,
) -> tuple[jax.Array | None, jax.Array | None]:
    """Time mask `[B, F]` and feature mask `[B, D]` for one training step (None where disabled).

    As the reference's `_mask_hidden_states`: nothing when `apply_spec_augment` is False; time
    spans of `mask_time_length` with `mask_time_prob`/`mask_time_min_masks` inside each row's
    frame length; feature spans over the hidden channels (same for every frame of a row).
    """
    if not config.apply_spec_augment:
        return None, None
    k_time, k_feat = jax.random.split(rng)
    time_mask = feature_mask = None
    if config.mask_time_prob > 0.0:
        time_mask = span_mask(
            k_time, batch, num_frames, config.mask_time_prob, config.mask_time_length,
            config.mask_time_min_masks, frame_lengths,
        )
    if config.mask_feature_prob > 0.0:
        feature_mask = span_mask(
            k_feat, batch, config.hidden_size, config.mask_feature_prob,
            config.mask_feature_length, config.mask_feature_min_masks,
        )
    return time_mask, feature_mask
