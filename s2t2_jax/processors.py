"""The reference's logits processors and sampling warpers, traced into the compiled decode loop.

`resolve` turns generation settings into a static `Processors` (which processors run, and the
tables that shape them) plus traced knobs (every number: penalties, thresholds, token ids, token
masks), so changing a number never recompiles. `apply` runs them in the reference's order
(transformers 4.46.3 `GenerationMixin._get_logits_processor`, generation/utils.py:843-1070):

    sequence_bias -> repetition_penalty -> no_repeat_ngram_size -> bad_words_ids
    -> min_length / min_new_tokens (EOS ban) -> forced_bos_token_id -> forced_eos_token_id
    -> remove_invalid_values -> exponential_decay_length_penalty -> suppress_tokens
    -> begin_suppress_tokens
    sampling only: temperature -> top_k -> top_p -> min_p -> typical_p -> epsilon_cutoff -> eta_cutoff
    -> renormalize_logits

Greedy search and sampling process the raw logits; beam search processes their log-softmax (the
reference's `_beam_search`), and the beam scores are added after. Only enabled processors appear
in the program. The running rows `tokens [R, W]` hold the start token in column 0; the
reference's `input_ids.shape[-1]` is `cur = step + 1`, the columns written so far.

Settings that change the ids and that we do not implement raise `ValueError` naming themselves
(`check_supported`), before anything compiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# name -> (is it set to something that changes the ids?, why we refuse it)
_REFUSED: dict[str, tuple[Any, str]] = {
    "guidance_scale": (lambda v: v is not None and v != 1, "classifier-free guidance is not implemented"),
    "num_beam_groups": (lambda v: v is not None and v != 1, "group (diverse) beam search is not implemented"),
    "diversity_penalty": (lambda v: v is not None and v != 0.0,
                          "group (diverse) beam search is not implemented"),
    "penalty_alpha": (lambda v: v is not None and v > 0, "contrastive search is not implemented"),
    "constraints": (lambda v: v is not None, "constrained beam search is not implemented"),
    "force_words_ids": (lambda v: v is not None, "constrained beam search is not implemented"),
    "forced_decoder_ids": (lambda v: v is not None,
                           "the reference refuses it too (it asks for decoder_input_ids instead)"),
    "encoder_repetition_penalty": (lambda v: v is not None and v != 1.0,
                                   "the reference would read the audio samples as token ids (and fail)"),
    "encoder_no_repeat_ngram_size": (lambda v: v is not None and v > 0,
                                     "the reference would read the audio samples as token ids"),
    "watermarking_config": (lambda v: v is not None, "watermarking is not implemented"),
    "stop_strings": (lambda v: v is not None, "stop strings are not implemented"),
    "max_time": (lambda v: v is not None, "a time limit would make the output depend on the machine"),
    "dola_layers": (lambda v: v is not None, "DoLa decoding is not implemented"),
    "token_healing": (lambda v: bool(v), "token healing is not implemented"),
    "prompt_lookup_num_tokens": (lambda v: v is not None, "prompt-lookup decoding is not implemented"),
}


def check_supported(settings: Mapping[str, Any]) -> None:
    """Raise `ValueError` naming the first setting that would change the ids and that we lack."""
    for name, (is_set, why) in _REFUSED.items():
        if name in settings and is_set(settings[name]):
            raise ValueError(f"{name}={settings[name]!r} is not supported: {why}")


@dataclasses.dataclass(frozen=True)
class Processors:
    """Static processor settings (part of `decoding.Plan`): each distinct value compiles once."""

    beams: bool = False  # scores are log-probs; sampling warpers keep >= 2 tokens
    sequence_bias: tuple[tuple[int, ...], ...] = ()  # biased sequences (biases are traced)
    repetition_penalty: bool = False
    no_repeat_ngram_size: int = 0
    bad_words: tuple[tuple[int, ...], ...] = ()  # banned sequences (`[eos]` dropped)
    forced_bos: bool = False
    forced_eos: bool = False
    remove_invalid_values: bool = False
    exponential_decay: bool = False
    suppress_tokens: bool = False
    begin_suppress_tokens: bool = False
    do_sample: bool = False
    top_k: int = 0  # 0: no top-k warper
    top_p: bool = False
    min_p: bool = False
    typical_p: bool = False
    epsilon_cutoff: bool = False
    eta_cutoff: bool = False
    renormalize: bool = False


# --------------------------------------------------------------------------- settings


def _token_list(name: str, value: Any) -> list[int]:
    if isinstance(value, int | np.integer):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(t, int | np.integer) for t in value):
        raise ValueError(f"{name}={value!r} must be a list of token ids")
    return [int(t) for t in value]


def _sequences(name: str, value: Any, vocab: int) -> list[tuple[int, ...]]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{name}={value!r} must be a non-empty list of token id lists")
    out = []
    for seq in value:
        seq = tuple(_token_list(name, list(seq) if isinstance(seq, list | tuple) else seq))
        if not seq or min(seq) < 0 or max(seq) >= vocab:
            raise ValueError(f"{name}: {list(seq)} must be non-empty token ids in [0, {vocab})")
        out.append(seq)
    return out


def _vocab_mask(name: str, value: Any, vocab: int) -> np.ndarray:
    """A `[V]` mask of the listed ids (the reference ignores ids outside the vocabulary)."""
    ids = np.asarray(_token_list(name, value), np.int64)
    mask = np.zeros(vocab, bool)
    mask[ids[(ids >= 0) & (ids < vocab)]] = True
    return mask


def _in_open_unit(name: str, value: float, low_ok: bool = False) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0 if low_ok else 0.0 < value < 1.0):
        raise ValueError(f"{name}={value} must be in {'[0, 1]' if low_ok else '(0, 1)'}")
    return value


def resolve(
    s: Mapping[str, Any], vocab: int, eos: int, num_beams: int, do_sample: bool, max_new: int
) -> tuple[Processors, dict[str, np.ndarray]]:
    """Settings (every `GENERATION_DEFAULTS` name, resolved) -> static `Processors` + traced knobs.

    Validates as the reference does (its errors, raised here before compiling).
    """
    k: dict[str, np.ndarray] = {}
    p: dict[str, Any] = dict(beams=num_beams > 1, do_sample=do_sample)
    if s["sequence_bias"] is not None:
        sb = s["sequence_bias"]
        pairs = list(sb.items()) if isinstance(sb, Mapping) else sb
        if not isinstance(pairs, list | tuple) or not pairs or not all(
                isinstance(x, list | tuple) and len(x) == 2 for x in pairs):
            raise ValueError(f"sequence_bias={sb!r} must be a non-empty list of [token ids, bias] pairs")
        table = dict(zip(_sequences("sequence_bias", [x[0] for x in pairs], vocab),
                         (float(x[1]) for x in pairs), strict=True))  # later pairs win, as the reference
        p["sequence_bias"] = tuple(table)
        k["sequence_bias"] = np.asarray(list(table.values()), np.float32)
    if s["repetition_penalty"] is not None and s["repetition_penalty"] != 1.0:
        if not float(s["repetition_penalty"]) > 0:
            raise ValueError(f"repetition_penalty={s['repetition_penalty']} must be > 0")
        p["repetition_penalty"] = True
        k["repetition_penalty"] = np.float32(s["repetition_penalty"])
    n = s["no_repeat_ngram_size"]
    if n is not None and n > 0:
        if not isinstance(n, int | np.integer):
            raise ValueError(f"no_repeat_ngram_size={n!r} must be an integer")
        p["no_repeat_ngram_size"] = int(n)
    if s["bad_words_ids"] is not None:
        bad = [q for q in _sequences("bad_words_ids", s["bad_words_ids"], vocab) if q != (eos,)]
        if not bad:
            raise ValueError(f"bad_words_ids={s['bad_words_ids']!r} bans nothing but EOS (the reference "
                             "drops [eos] and then refuses an empty list)")
        p["bad_words"] = tuple(dict.fromkeys(bad))
    if s["forced_bos_token_id"] is not None:
        bos = int(s["forced_bos_token_id"])
        if not 0 <= bos < vocab:
            raise ValueError(f"forced_bos_token_id={bos} must be in [0, {vocab})")
        p["forced_bos"] = True
        k["forced_bos_token_id"] = np.int32(bos)
    if s["forced_eos_token_id"] is not None:
        ids = _token_list("forced_eos_token_id", s["forced_eos_token_id"])
        if not ids or min(ids) < 0 or max(ids) >= vocab:
            raise ValueError(f"forced_eos_token_id={ids} must be token ids in [0, {vocab})")
        p["forced_eos"] = True
        k["forced_eos_mask"] = _vocab_mask("forced_eos_token_id", ids, vocab)
        k["max_length"] = np.int32(max_new + 1)  # the reference's max_length: start token + new
    p["remove_invalid_values"] = s["remove_invalid_values"] is True
    if s["exponential_decay_length_penalty"] is not None:
        decay = s["exponential_decay_length_penalty"]
        if not isinstance(decay, list | tuple) or len(decay) != 2:
            raise ValueError(f"exponential_decay_length_penalty={decay!r} must be "
                             "(start_index, decay_factor)")
        start, factor = int(decay[0]) + 1, float(decay[1])  # + the reference's input length (1)
        # The reference's multiplier `factor ** (cur - start) - 1`, in float64, per `cur`.
        mult = np.zeros(max_new + 2, np.float64)
        for cur in range(max(start + 1, 0), max_new + 2):
            try:
                mult[cur] = factor ** (cur - start) - 1
            except OverflowError:
                mult[cur] = np.inf
        p["exponential_decay"] = True
        k["decay_start"], k["decay_multiplier"] = np.int32(start), mult.astype(np.float32)
    if s["suppress_tokens"] is not None:
        p["suppress_tokens"] = True
        k["suppress_mask"] = _vocab_mask("suppress_tokens", s["suppress_tokens"], vocab)
    if s["begin_suppress_tokens"] is not None:
        p["begin_suppress_tokens"] = True
        k["begin_suppress_mask"] = _vocab_mask("begin_suppress_tokens", s["begin_suppress_tokens"], vocab)
        k["begin_index"] = np.int32(1 if s["forced_bos_token_id"] is None else 2)

    if do_sample:
        temperature, top_k, top_p = s["temperature"], int(s["top_k"] or 0), float(s["top_p"])
        if not float(temperature) > 0.0:
            raise ValueError(f"temperature={temperature} must be > 0 when sampling")
        if top_k < 0:
            raise ValueError(f"top_k={top_k} must be >= 0")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p={top_p} must be in (0, 1]")
        k["temperature"], p["top_k"] = np.float32(temperature), top_k
        if top_p < 1.0:
            p["top_p"], k["top_p"] = True, np.float32(top_p)
        if s["min_p"] is not None:
            p["min_p"], k["min_p"] = True, np.float32(_in_open_unit("min_p", s["min_p"], low_ok=True))
        if s["typical_p"] is not None and s["typical_p"] < 1.0:
            p["typical_p"], k["typical_p"] = True, np.float32(_in_open_unit("typical_p", s["typical_p"]))
        for name in ("epsilon_cutoff", "eta_cutoff"):  # the reference skips values outside (0, 1)
            if s[name] is not None and 0.0 < s[name] < 1.0:
                p[name], k[name] = True, np.float32(s[name])
    p["renormalize"] = s["renormalize_logits"] is True
    return Processors(**p), k


# --------------------------------------------------------------------------- in the loop


def pick_k(x: jax.Array, ids: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """The k best of `x [R, n]` by (value desc, id asc), one max-reduction at a time."""
    big = jnp.iinfo(jnp.int32).max

    def pick(i, c):
        taken, vals, idx = c
        m = jnp.where(taken, -jnp.inf, x).max(-1)
        j = jnp.min(jnp.where((x == m[:, None]) & ~taken, ids, big), -1)
        return taken | (ids == j[:, None]), vals.at[:, i].set(m), idx.at[:, i].set(j)

    r = x.shape[0]
    init = (jnp.zeros(x.shape, bool), jnp.zeros((r, k), x.dtype), jnp.zeros((r, k), jnp.int32))
    return jax.lax.fori_loop(0, k, pick, init)[1:]


def top_k(x: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """`lax.top_k(x [R, n], k)` (best first, ties to the lower index) without sorting `n` values.

    Inside a while loop XLA:CPU lowers `lax.top_k` to a full sort (~60 ms for the 8 x 51120 beam
    candidates). Here: split `n` into chunks, keep the k chunks with the largest maxima (they hold
    the k best values), then pick k times from those k*w candidates (~0.3 ms).
    """
    r, n = x.shape
    w = max(1, min(128, n // (4 * k)))
    c = -(-n // w)
    chunks = jnp.pad(x, ((0, 0), (0, c * w - n)), constant_values=-jnp.inf).reshape(r, c, w)
    _, best = pick_k(chunks.max(-1), jnp.broadcast_to(jnp.arange(c), (r, c)), k)  # [R, k]
    cand = jnp.take_along_axis(chunks, best[..., None], 1).reshape(r, k * w)
    return pick_k(cand, (best[..., None] * w + jnp.arange(w)).reshape(r, k * w), k)


def _bias(scores: jax.Array, tokens: jax.Array, cur: jax.Array, seqs: tuple[tuple[int, ...], ...],
          values: Any) -> jax.Array:
    """`SequenceBiasLogitsProcessor`: add `values [K]` to each sequence's last token where the
    row `tokens [R, W]` ends with the sequence's prefix (sequences longer than `cur` skipped)."""
    bias = jnp.zeros(scores.shape[-1], scores.dtype)
    one = [i for i, q in enumerate(seqs) if len(q) == 1]
    if one:
        bias = bias.at[np.array([seqs[i][0] for i in one])].set(jnp.asarray(values)[np.array(one)])
    bias = jnp.broadcast_to(bias, scores.shape)
    for n in sorted({len(q) - 1 for q in seqs} - {0}):  # one gather per prefix length
        idx = np.array([i for i, q in enumerate(seqs) if len(q) - 1 == n])
        prefix = np.array([seqs[i][:-1] for i in idx], np.int32)  # [K, n]
        window = jax.lax.dynamic_slice_in_dim(tokens, cur - n, n, axis=1)  # [R, n]
        hit = (window[:, None, :] == prefix).all(-1) & (cur > n)  # [R, K]
        last = np.array([seqs[i][-1] for i in idx])
        bias = bias.at[:, last].add(jnp.where(hit, jnp.asarray(values)[idx], 0.0))
    return scores + bias


def _repetition_penalty(scores: jax.Array, tokens: jax.Array, cur: jax.Array, penalty) -> jax.Array:
    """Scores of tokens already in the row: divided by `penalty` if positive, else multiplied."""
    r, v = scores.shape
    seen = jnp.take_along_axis(scores, tokens, 1)  # [R, W]
    seen = jnp.where(seen < 0, seen * penalty, seen / penalty)
    cols = jnp.where(jnp.arange(tokens.shape[1]) < cur, tokens, v)  # unwritten columns: dropped
    return scores.at[jnp.arange(r)[:, None], cols].set(seen, mode="drop")


def _no_repeat_ngram(scores: jax.Array, tokens: jax.Array, cur: jax.Array, n: int) -> jax.Array:
    """Ban each token that would complete an n-gram already in the row (the start token counts)."""
    r, v = scores.shape
    m = tokens.shape[1] - n + 1  # n-gram starts that fit the buffer
    if m <= 0:
        return scores
    last = jax.lax.dynamic_slice_in_dim(tokens, cur - (n - 1), n - 1, axis=1)  # [R, n-1]
    hit = jnp.arange(m) <= cur - n  # n-grams inside the written columns
    for i in range(n - 1):
        hit = hit & (tokens[:, i:i + m] == last[:, i:i + 1])
    banned = jnp.where(hit, tokens[:, n - 1:n - 1 + m], v)  # [R, m]; v: dropped
    return scores.at[jnp.arange(r)[:, None], banned].set(-jnp.inf, mode="drop")


def _kth_best(scores: jax.Array, k: int) -> jax.Array:
    """The k-th largest score per row, `[R, 1]`."""
    return scores.max(-1, keepdims=True) if k == 1 else top_k(scores, k)[0][:, -1:]


def min_p_warper(scores: jax.Array, min_p, keep: int = 1) -> jax.Array:
    """`MinPLogitsWarper`: drop tokens less likely than `min_p` x the top token's probability."""
    probs = jax.nn.softmax(scores, axis=-1)
    drop = (probs < min_p * probs.max(-1, keepdims=True)) & (scores < _kth_best(scores, keep))
    return jnp.where(drop, -jnp.inf, scores)


def typical_warper(scores: jax.Array, mass, keep: int = 1) -> jax.Array:
    """`TypicalLogitsWarper`: keep the tokens whose -log p is nearest the entropy, up to `mass`."""
    logp = jax.nn.log_softmax(scores, axis=-1)
    ent = -jnp.nansum(logp * jnp.exp(logp), -1, keepdims=True)
    shifted = jnp.abs(-logp - ent)
    order = jnp.argsort(shifted, axis=-1, stable=True)
    ranked = jnp.take_along_axis(shifted, order, -1)
    cum = jnp.cumsum(jax.nn.softmax(jnp.take_along_axis(scores, order, -1), axis=-1), -1)
    last = jnp.minimum((cum < mass).sum(-1, keepdims=True), scores.shape[-1] - 1)
    cut = jnp.maximum(jnp.take_along_axis(ranked, last, -1), ranked[:, keep - 1:keep])
    return jnp.where(shifted > cut, -jnp.inf, scores)


def epsilon_warper(scores: jax.Array, epsilon, keep: int = 1) -> jax.Array:
    """`EpsilonLogitsWarper`: drop tokens with probability below `epsilon`."""
    drop = (jax.nn.softmax(scores, axis=-1) < epsilon) & (scores < _kth_best(scores, keep))
    return jnp.where(drop, -jnp.inf, scores)


def eta_warper(scores: jax.Array, epsilon, keep: int = 1) -> jax.Array:
    """`EtaLogitsWarper`: drop tokens below `min(epsilon, sqrt(epsilon) * exp(-entropy))`."""
    logp = jax.nn.log_softmax(scores, axis=-1)
    probs = jnp.exp(logp)
    ent = -(jnp.maximum(logp, jnp.finfo(logp.dtype).min) * probs).sum(-1, keepdims=True)
    eta = jnp.minimum(epsilon, jnp.sqrt(epsilon) * jnp.exp(-ent))
    drop = (probs < eta) & (scores < _kth_best(scores, keep))
    return jnp.where(drop, -jnp.inf, scores)


def _top_k_top_p(scores: jax.Array, proc: Processors, knobs: dict, keep: int) -> jax.Array:
    ranked = None  # the best scores, sorted descending, when we have them
    if proc.top_k:
        ranked = top_k(scores, min(max(proc.top_k, keep), scores.shape[-1]))[0]
        scores = jnp.where(scores < ranked[:, -1:], -jnp.inf, scores)
    if proc.top_p:  # the reference: drop the low tail whose mass is <= 1 - top_p
        if ranked is None:
            ranked = -jnp.sort(-scores, axis=-1)
        ascending = jnp.flip(ranked, -1)
        tail = jnp.flip(jnp.cumsum(jax.nn.softmax(ascending, axis=-1), axis=-1), -1)
        kept = (tail > 1.0 - knobs["top_p"]) | (jnp.arange(ranked.shape[-1]) < keep)
        cut = jnp.take_along_axis(ranked, kept.sum(-1, keepdims=True) - 1, -1)
        scores = jnp.where(scores < cut, -jnp.inf, scores)
    return scores


def apply(scores: jax.Array, tokens: jax.Array, step: jax.Array, proc: Processors, knobs: dict,
          eos: int) -> jax.Array:
    """Processed scores `[R, V]` float32 from scores `[R, V]` (logits, or log-probs for beam
    search), the running rows `tokens [R, W]` and the number of tokens generated so far."""
    cur = step + 1
    vocab = jnp.arange(scores.shape[-1])
    if proc.sequence_bias:
        scores = _bias(scores, tokens, cur, proc.sequence_bias, knobs["sequence_bias"])
    if proc.repetition_penalty:
        scores = _repetition_penalty(scores, tokens, cur, knobs["repetition_penalty"])
    if proc.no_repeat_ngram_size:
        scores = _no_repeat_ngram(scores, tokens, cur, proc.no_repeat_ngram_size)
    if proc.bad_words:
        scores = _bias(scores, tokens, cur, proc.bad_words, np.full(len(proc.bad_words), -np.inf, np.float32))
    scores = jnp.where((step < knobs["min_new_tokens"]) & (vocab == eos), -jnp.inf, scores)
    if proc.forced_bos:
        forced = jnp.where(vocab == knobs["forced_bos_token_id"], 0.0, -jnp.inf)
        scores = jnp.where(cur == 1, forced, scores)
    if proc.forced_eos:
        forced = jnp.where(knobs["forced_eos_mask"], 0.0, -jnp.inf)
        scores = jnp.where(cur == knobs["max_length"] - 1, forced, scores)
    if proc.remove_invalid_values:
        big = jnp.finfo(scores.dtype).max
        scores = jnp.where(jnp.isnan(scores), 0.0, jnp.clip(scores, -big, big))
    if proc.exponential_decay:
        mult = jax.lax.dynamic_index_in_dim(knobs["decay_multiplier"], cur, keepdims=False)
        penalty = jnp.where(cur > knobs["decay_start"], jnp.abs(scores[:, eos]) * mult, 0.0)
        # A banned EOS (-inf) plus an infinite penalty is NaN in the reference, which its argmax
        # and top-k rank first: +inf here does the same, without NaN.
        boosted = scores[:, eos] + penalty
        scores = scores.at[:, eos].set(jnp.where(jnp.isnan(boosted), jnp.inf, boosted))
    if proc.suppress_tokens:
        scores = jnp.where(knobs["suppress_mask"], -jnp.inf, scores)
    if proc.begin_suppress_tokens:
        scores = jnp.where(knobs["begin_suppress_mask"] & (cur == knobs["begin_index"]), -jnp.inf, scores)
    if proc.do_sample:
        keep = 2 if proc.beams else 1  # the reference keeps a non-EOS token for beam sampling
        scores = _top_k_top_p(scores / knobs["temperature"], proc, knobs, keep)
        if proc.min_p:
            scores = min_p_warper(scores, knobs["min_p"], keep)
        if proc.typical_p:
            scores = typical_warper(scores, knobs["typical_p"], keep)
        if proc.epsilon_cutoff:
            scores = epsilon_warper(scores, knobs["epsilon_cutoff"], keep)
        if proc.eta_cutoff:
            scores = eta_warper(scores, knobs["eta_cutoff"], keep)
    if proc.renormalize:
        scores = jax.nn.log_softmax(scores, axis=-1)
    return scores
