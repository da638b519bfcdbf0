"""Token generation with the reference's `generate()` semantics, as one compiled XLA program.

Greedy search, multinomial sampling (temperature -> top-k -> top-p, the reference's warper order)
and beam search (length penalty, `early_stopping` True/False/"never", `num_return_sequences`) run
in one jitted function: the encoder once, cross-attention keys/values projected once, then a
`lax.while_loop` of decode steps over a static cache, which stops once every row has ended.

The loop knows the model only as "token ids + cache -> logits + cache" (`model.decode` over the
decoder's one `KVCache`, rows grouped per item as `[B, G]`: G beams, or samples of one input) plus
`KVCache.reorder` for beam search; the search itself (scores, hypotheses, sampling) lives here.

Design (numbers: full-size decoder, B=8, 64 forced tokens, 2-core CPU):
- The cache layout (`decoder.py`) needs no per-step transpose or copy (checked in the optimised
  HLO). Everything big lives inside the program and the loop updates it in place, so donating
  arguments would buy nothing (params are reused by callers; audio and ids are small).
- `while_loop` vs scan: a 64-step `scan` whose body skips finished steps with `lax.cond` ran as
  fast (greedy 245 vs 246 ms, beam-5 853 vs 832 ms) and a `while_loop` over unrolled 4/8-step
  scan chunks was no faster (268 / 845 ms) but compiled 1.7-2x slower; XLA:CPU runs a scan as a
  while loop anyway. The plain `while_loop` exits right after the last row ends.

Shape letters: see `s2t2_jax/__init__.py`; here W = max_new_tokens + 1 output columns and
M = max_new_tokens cache positions.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from s2t2_jax import model as M
from s2t2_jax.config import ModelConfig
from s2t2_jax.decoder import KVCache
from s2t2_jax.encoder import QUERY_BLOCK, min_input_samples

Params = dict[str, Any]
_TRACES = [0]  # incremented each time a generate program is traced (i.e. compiled)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Static generation settings: each distinct value compiles its own program."""

    max_new_tokens: int
    num_beams: int
    do_sample: bool
    early_stopping: bool | str
    top_k: int  # 0: no top-k warper
    use_top_p: bool  # whether the top-p warper runs (its threshold is traced)
    num_return_sequences: int
    dtype: str
    query_block: int  # the encoder's inference attention block (`encoder.QUERY_BLOCK`)
    padding_invariant: bool = False  # rows encoded as if alone (`encoder.Wav2Vec2Encoder`)


@flax.struct.dataclass
class Hypotheses:
    """Finished beam hypotheses per item, best first (the reference's `BeamHypotheses`)."""

    tokens: jax.Array  # [B, G, W] int32, start token first, pad after
    scores: jax.Array  # [B, G] float32, length-penalised; -inf = empty slot
    length: jax.Array  # [B, G] int32, with the start token, without EOS
    count: jax.Array  # [B] int32, hypotheses kept (at most G)


@flax.struct.dataclass
class LoopState:
    """Carry of the decode loop."""

    step: jax.Array  # [] int32, tokens generated so far
    tokens: jax.Array  # [B, G, W] int32, running rows (start token first, pad where unwritten)
    scores: jax.Array  # [B, G] float32, beam log-prob sums (zeros unless beam search)
    done: jax.Array  # [B, G] bool: row ended (greedy/sampling) or item done (beam search)
    cache: KVCache
    hyps: Hypotheses | None  # beam search only

# --------------------------------------------------------------------------- options

# The generation settings `generate` implements (of `config.GENERATION_DEFAULTS`).
_SUPPORTED = {
    "max_length", "max_new_tokens", "min_length", "min_new_tokens", "num_beams", "length_penalty",
    "early_stopping", "do_sample", "temperature", "top_k", "top_p", "num_return_sequences",
}


def _resolve(
    config: ModelConfig, opts: dict[str, Any], dtype: Any, query_block: int = QUERY_BLOCK,
    padding_invariant: bool = False,
) -> tuple[Plan, dict[str, Any]]:
    """Fill unset options from the config's generation defaults and validate them (no compiling)."""
    d = config.generation_defaults()
    unknown = set(opts) - _SUPPORTED
    if unknown:
        raise TypeError(f"unknown generation options: {sorted(unknown)}")
    get = lambda k: d[k] if opts.get(k) is None else opts[k]  # noqa: E731
    max_new = get("max_new_tokens")
    max_new = get("max_length") - 1 if max_new is None else max_new  # max_length counts the start
    num_beams, do_sample, early = get("num_beams"), bool(get("do_sample")), get("early_stopping")
    temperature, top_k, top_p = float(get("temperature")), int(get("top_k") or 0), float(get("top_p"))
    num_ret, lp = int(get("num_return_sequences")), float(get("length_penalty"))
    min_new = opts.get("min_new_tokens")  # takes precedence over min_length
    min_new = max(int(get("min_length") or 0) - 1, 0) if min_new is None else max(int(min_new), 0)

    limit = config.decoder.num_positions - 1 - config.decoder.pad_token_id
    if not isinstance(max_new, int | np.integer) or not 1 <= max_new <= limit:
        raise ValueError(
            f"max_new_tokens={max_new} must be an integer in [1, {limit}]: the decoder has "
            f"max_target_positions={config.decoder.max_target_positions} positions"
        )
    if not isinstance(num_beams, int | np.integer) or num_beams < 1:
        raise ValueError(f"num_beams={num_beams} must be an integer >= 1")
    if early not in (True, False, "never"):
        raise ValueError(f"early_stopping={early!r} must be True, False or 'never'")
    if num_ret < 1:
        raise ValueError(f"num_return_sequences={num_ret} must be >= 1")
    if num_beams == 1 and not do_sample and num_ret != 1:
        raise ValueError(f"greedy search returns one sequence per input, not num_return_sequences={num_ret}")
    if num_beams > 1 and num_ret > num_beams:
        raise ValueError(f"num_return_sequences={num_ret} must be <= num_beams={num_beams}")
    if do_sample:
        if not temperature > 0.0:
            raise ValueError(f"temperature={temperature} must be > 0 when sampling")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p={top_p} must be in (0, 1]")
        if top_k < 0:
            raise ValueError(f"top_k={top_k} must be >= 0")
    plan = Plan(
        max_new_tokens=int(max_new), num_beams=int(num_beams), do_sample=do_sample,
        early_stopping=early if num_beams > 1 else False,
        top_k=top_k if do_sample else 0, use_top_p=do_sample and top_p < 1.0,
        num_return_sequences=num_ret, dtype=jnp.dtype(dtype).name, query_block=int(query_block),
        padding_invariant=bool(padding_invariant),
    )
    knobs = dict(
        length_penalty=np.float32(lp), temperature=np.float32(temperature if do_sample else 1.0),
        top_p=np.float32(top_p), min_new_tokens=np.int32(min(min_new, max_new)),
    )
    return plan, knobs


def _check_audio(config: ModelConfig, input_values, attention_mask) -> None:
    shape = np.shape(input_values)
    if len(shape) != 2 or (attention_mask is not None and np.shape(attention_mask) != shape):
        raise ValueError(f"input_values {shape} and attention_mask must be [batch, samples]")
    lengths = (np.full(shape[0], shape[1]) if attention_mask is None
               else np.asarray(attention_mask).astype(bool).sum(-1))
    need = min_input_samples(config.encoder)
    if shape[0] == 0 or (lengths < need).any():
        raise ValueError(
            f"every input needs at least {need} samples (one encoder frame); got lengths "
            f"{lengths.tolist()}"
        )


# --------------------------------------------------------------------------- one step


def _argmax(x: jax.Array) -> jax.Array:
    """First index of the max over the last axis (XLA:CPU's variadic-reduce argmax is ~6x slower)."""
    m = x.max(-1, keepdims=True)
    return jnp.min(jnp.where(x == m, jnp.arange(x.shape[-1]), x.shape[-1]), -1).astype(jnp.int32)


def _pick_k(x: jax.Array, ids: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
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


def _top_k(x: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """`lax.top_k(x [R, n], k)` (best first, ties to the lower index) without sorting `n` values.

    Inside a while loop XLA:CPU lowers `lax.top_k` to a full sort (~60 ms for the 8 x 51120 beam
    candidates). Here: split `n` into chunks, keep the k chunks with the largest maxima (they hold
    the k best values), then pick k times from those k*w candidates (~0.3 ms).
    """
    r, n = x.shape
    w = max(1, min(128, n // (4 * k)))
    c = -(-n // w)
    chunks = jnp.pad(x, ((0, 0), (0, c * w - n)), constant_values=-jnp.inf).reshape(r, c, w)
    _, best = _pick_k(chunks.max(-1), jnp.broadcast_to(jnp.arange(c), (r, c)), k)  # [R, k]
    cand = jnp.take_along_axis(chunks, best[..., None], 1).reshape(r, k * w)
    return _pick_k(cand, (best[..., None] * w + jnp.arange(w)).reshape(r, k * w), k)


def _logits_to_scores(logits: jax.Array, step: jax.Array, plan: Plan, knobs: dict, eos: int):
    """Logits `[B*G, V]` -> processed scores: EOS ban (min new tokens), then sampling warpers."""
    scores = logits.astype(jnp.float32)
    if plan.num_beams > 1:
        scores = jax.nn.log_softmax(scores, axis=-1)
    scores = jnp.where(
        (step < knobs["min_new_tokens"]) & (jnp.arange(scores.shape[-1]) == eos), -jnp.inf, scores
    )
    if not plan.do_sample:
        return scores
    keep_min = 2 if plan.num_beams > 1 else 1
    scores = scores / knobs["temperature"]
    ranked = None  # the best scores, sorted descending, when we have them
    if plan.top_k:
        ranked = _top_k(scores, min(max(plan.top_k, keep_min), scores.shape[-1]))[0]
        scores = jnp.where(scores < ranked[:, -1:], -jnp.inf, scores)
    if plan.use_top_p:  # the reference: drop the low tail whose mass is <= 1 - top_p
        if ranked is None:
            ranked = -jnp.sort(-scores, axis=-1)
        ascending = jnp.flip(ranked, -1)
        tail = jnp.flip(jnp.cumsum(jax.nn.softmax(ascending, axis=-1), axis=-1), -1)
        keep = (tail > 1.0 - knobs["top_p"]) | (jnp.arange(ranked.shape[-1]) < keep_min)
        cut = jnp.take_along_axis(ranked, keep.sum(-1, keepdims=True) - 1, -1)
        scores = jnp.where(scores < cut, -jnp.inf, scores)
    return scores


def _greedy_update(s: LoopState, scores: jax.Array, key, pad: int, eos: int) -> LoopState:
    """Pick each row's next token from `scores [B, G, V]` (argmax or a sample); ended rows get pad."""
    if key is not None:  # `jax.random.categorical`, with the faster argmax
        scores = scores + jax.random.gumbel(key, scores.shape)
    nxt = _argmax(scores)
    nxt = jnp.where(s.done, pad, nxt)  # [B, G]
    tokens = jax.lax.dynamic_update_slice(s.tokens, nxt[..., None], (0, 0, s.step + 1))
    return s.replace(step=s.step + 1, tokens=tokens, done=s.done | (nxt == eos))


def _penalise(sum_logprobs: jax.Array, length, lp: jax.Array) -> jax.Array:
    """The reference's hypothesis score: `sum_logprobs / generated_len ** length_penalty`."""
    return sum_logprobs / jnp.asarray(length, jnp.float32) ** lp


def _add_hyps(hy: Hypotheses, scores, tokens, length, valid) -> Hypotheses:
    """Keep the G best of the kept hypotheses and new ones (`scores [B, C]`, `tokens [B, C, W]`).

    With distinct scores this equals the reference's sequential heap; on exact ties the earlier
    hypothesis wins.
    """
    g = hy.scores.shape[1]
    merged = jnp.concatenate([hy.scores, jnp.where(valid, scores, -jnp.inf)], 1)
    best, idx = _pick_k(merged, jnp.broadcast_to(jnp.arange(merged.shape[1]), merged.shape), g)
    tokens = jnp.concatenate([hy.tokens, tokens], 1)
    return Hypotheses(
        tokens=jnp.take_along_axis(tokens, idx[..., None], 1), scores=best,
        length=jnp.take_along_axis(jnp.concatenate([hy.length, length], 1), idx, 1),
        count=jnp.minimum(hy.count + valid.sum(1), g),
    )


def _beam_update(s: LoopState, logp: jax.Array, key, plan: Plan, knobs: dict, pad: int, eos: int):
    """The reference's `BeamSearchScorer.process` for all items at once, from log-probs `[B, G, V]`.

    Candidates are the top 2G of `[B, G*V]`; EOS ranked below G ends a hypothesis, the first G
    non-EOS candidates become the next beams. Reordering beams gathers the `[B, G, W]` tokens and
    the cache's lineage table (`KVCache.reorder`), not the key/value buffers.
    """
    b, g, v = logp.shape
    done = s.done[:, 0]  # [B] item flags
    cand = (logp + s.scores[..., None]).reshape(b, g * v)
    if key is None:
        top, idx = _top_k(cand, 2 * g)  # [B, 2G] best first
    else:  # multinomial without replacement = Gumbel top-k, then sorted by score
        _, idx = _top_k(cand + jax.random.gumbel(key, cand.shape), 2 * g)
        top = jnp.take_along_axis(cand, idx, 1)
        order = jnp.argsort(-top, axis=1, stable=True)
        top, idx = jnp.take_along_axis(top, order, 1), jnp.take_along_axis(idx, order, 1)
    src, tok = idx // v, (idx % v).astype(jnp.int32)  # [B, 2G] parent beam, token
    is_eos = tok == eos
    gen_len = s.step + 1  # generated tokens, this one included
    lp = knobs["length_penalty"]

    # EOS ranked below G: a finished hypothesis (the parent's tokens, without the EOS).
    hyps = _add_hyps(s.hyps, _penalise(top[:, :g], gen_len, lp),
                     jnp.take_along_axis(s.tokens, src[:, :g, None], 1),
                     jnp.full((b, g), gen_len, jnp.int32), is_eos[:, :g] & ~done[:, None])
    # `BeamHypotheses.is_done`: enough hypotheses, and (unless early_stopping=True) none better to come.
    stop = hyps.count >= g
    if plan.early_stopping is not True:
        den = gen_len
        if plan.early_stopping == "never":
            den = jnp.where(lp > 0, plan.max_new_tokens, gen_len)
        stop &= hyps.scores[:, -1] >= _penalise(top[:, 0], den, lp)

    # Next beams: the first G non-EOS candidates by rank; done items are fed pad with score 0.
    pick = jnp.argsort(is_eos, axis=1, stable=True)[:, :g]  # [B, G]
    parent = jnp.where(done[:, None], 0, jnp.take_along_axis(src, pick, 1))
    nxt = jnp.where(done[:, None], pad, jnp.take_along_axis(tok, pick, 1))
    tokens = jnp.take_along_axis(s.tokens, parent[..., None], 1)
    tokens = jax.lax.dynamic_update_slice(tokens, nxt[..., None], (0, 0, s.step + 1))
    return s.replace(
        step=s.step + 1, tokens=tokens, cache=s.cache.reorder(parent), hyps=hyps,
        scores=jnp.where(done[:, None], 0.0, jnp.take_along_axis(top, pick, 1)),
        done=jnp.broadcast_to((done | stop)[:, None], (b, g)),
    )


def _finalize_beams(s: LoopState, plan: Plan, knobs: dict, eos: int) -> tuple[jax.Array, jax.Array]:
    """Best R hypotheses per item -> ids `[B*R, W]` and the reference's output width."""
    b, g, width = s.tokens.shape
    # Items still running add every running beam (generated_len = steps run, no EOS).
    hyps = _add_hyps(s.hyps, _penalise(s.scores, s.step, knobs["length_penalty"]), s.tokens,
                     jnp.full((b, g), s.step + 1, jnp.int32), ~s.done)
    r = plan.num_return_sequences
    ids, length = hyps.tokens[:, :r].reshape(b * r, width), hyps.length[:, :r].reshape(-1)
    ids = jnp.where(jnp.arange(width) == length[:, None], eos, ids)  # EOS where it fits
    return ids, jnp.minimum(length.max() + 1, width)


# --------------------------------------------------------------------------- the program


def _decode_loop(params: Params, config: ModelConfig, enc, enc_mask, key, knobs, plan: Plan):
    """Encoder states `[B, S, D]` + frame mask `[B, S]` -> ids `[B*R, W]`, number of valid columns."""
    dtype = jnp.dtype(plan.dtype)
    g = plan.num_beams if plan.num_beams > 1 else (plan.num_return_sequences if plan.do_sample else 1)
    b, width = enc.shape[0], plan.max_new_tokens + 1
    pad, eos = config.pad_id, config.eos_id
    tokens = jnp.full((b, g, width), pad, jnp.int32).at[:, :, 0].set(config.start_token_id)
    beams = plan.num_beams > 1
    state = LoopState(
        step=jnp.zeros((), jnp.int32), tokens=tokens,
        # The reference starts beams at [0, -1e9, ...] so step one expands the first beam only.
        scores=jnp.zeros((b, g), jnp.float32).at[:, 1:].set(-1e9 if beams else 0.0),
        done=jnp.zeros((b, g), bool),
        cache=M.init_cache(params, config, enc, enc_mask, plan.max_new_tokens, g, dtype),
        hyps=Hypotheses(
            tokens=jnp.full((b, g, width), pad, jnp.int32), scores=jnp.full((b, g), -jnp.inf),
            length=jnp.zeros((b, g), jnp.int32), count=jnp.zeros((b,), jnp.int32),
        ) if beams else None,
    )

    def cond(s: LoopState) -> jax.Array:
        return (s.step < plan.max_new_tokens) & ~s.done.all()

    def body(s: LoopState) -> LoopState:
        tok = jax.lax.dynamic_index_in_dim(s.tokens, s.step, axis=2, keepdims=False)  # [B, G]
        logits, cache = M.decode(params, config, tok.reshape(b * g, 1), cache=s.cache, dtype=dtype)
        s = s.replace(cache=cache)
        scores = _logits_to_scores(logits[:, 0], s.step, plan, knobs, eos).reshape(b, g, -1)
        step_key = jax.random.fold_in(key, s.step) if plan.do_sample else None
        if beams:
            return _beam_update(s, scores, step_key, plan, knobs, pad, eos)
        return _greedy_update(s, scores, step_key, pad, eos)

    state = jax.lax.while_loop(cond, body, state)  # a while loop, not a scan: see the module doc
    if beams:
        return _finalize_beams(state, plan, knobs, eos)
    return state.tokens.reshape(b * g, width), state.step + 1


def _cast(params: Params, dtype: jnp.dtype) -> Params:
    """Floating params in the compute dtype, cast once before the loop (not at every step)."""
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)


def _from_audio(params, input_values, attention_mask, key, knobs, config: ModelConfig, plan: Plan):
    _TRACES[0] += 1
    params = _cast(params, jnp.dtype(plan.dtype))
    enc, enc_mask = M.encode(params, config, input_values, attention_mask, jnp.dtype(plan.dtype),
                             plan.query_block, plan.padding_invariant)
    return _decode_loop(params, config, enc, enc_mask, key, knobs, plan)


def _from_encoder(params, enc, enc_mask, key, knobs, config: ModelConfig, plan: Plan):
    _TRACES[0] += 1
    params = _cast(params, jnp.dtype(plan.dtype))
    return _decode_loop(params, config, enc.astype(plan.dtype), enc_mask.astype(bool), key, knobs, plan)


_from_audio_jit = jax.jit(_from_audio, static_argnames=("config", "plan"))
_from_encoder_jit = jax.jit(_from_encoder, static_argnames=("config", "plan"))

# --------------------------------------------------------------------------- public API


def generate(
    params: Params, config: ModelConfig, input_values, attention_mask=None, *,
    max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    num_beams: int | None = None, length_penalty: float | None = None,
    early_stopping: bool | str | None = None, do_sample: bool | None = None,
    temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
    seed: int = 0, num_return_sequences: int | None = None, dtype: Any = jnp.float32,
    query_block: int = QUERY_BLOCK, padding_invariant: bool = False,
) -> np.ndarray:
    """Translate audio `[B, samples]` (+ sample mask `[B, samples]`) into token ids `[B*R, W]`.

    Options left None take the model config's generation defaults, as the reference's
    `generate()` does. Rows are laid out as the reference returns them: the decoder start token
    first, then the generated tokens; after EOS (greedy/sampling: pad; beam search: EOS, then pad).
    `W` is the reference's width: 1 + steps run for greedy/sampling; for beam search
    `min(longest returned hypothesis + 1, max_new_tokens + 1)`. R = num_return_sequences rows per
    input, consecutive. Sampling is reproducible for a `seed` (it does not reproduce torch's RNG).
    `min_new_tokens` bans EOS before that many tokens (the reference's option of that name).
    `dtype=jnp.bfloat16` computes in bfloat16 (not faster than float32 on a 2-core AVX-512 CPU).
    `query_block`: the encoder's inference self-attention runs in blocks of this many queries
    over longer inputs (0: never); static, like the generation plan.
    `padding_invariant`: each row is encoded as its unpadded input alone, whatever it is padded
    and batched with (see `encoder.Wav2Vec2Encoder`; batched translation uses it); off, a given
    mask has the reference's batched semantics.
    Pass `params` as device arrays (`jax.device_put` once): numpy params are copied every call.
    """
    opts = dict(max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, num_beams=num_beams,
                length_penalty=length_penalty, early_stopping=early_stopping, do_sample=do_sample,
                temperature=temperature, top_k=top_k, top_p=top_p,
                num_return_sequences=num_return_sequences)
    plan, knobs = _resolve(config, opts, dtype, query_block, padding_invariant)
    _check_audio(config, input_values, attention_mask)
    x = jnp.asarray(input_values, jnp.float32)
    mask = None if attention_mask is None else jnp.asarray(attention_mask, jnp.int32)
    ids, width = _from_audio_jit(params, x, mask, jax.random.PRNGKey(seed), knobs, config=config, plan=plan)
    return np.asarray(ids)[:, : int(width)]


def generate_from_encoder(
    params: Params, config: ModelConfig, enc, enc_mask=None, *, seed: int = 0,
    dtype: Any = jnp.float32, **options: Any,
) -> np.ndarray:
    """`generate` starting from encoder states `[B, S, D]` (after `enc_to_dec_proj`) and frame
    mask `[B, S]` (None: all frames real), e.g. the output of `model.encode`."""
    plan, knobs = _resolve(config, options, dtype)
    if np.ndim(enc) != 3 or np.shape(enc)[-1] != config.decoder.d_model:
        raise ValueError(f"encoder states must be [batch, frames, {config.decoder.d_model}], "
                         f"got {np.shape(enc)}")
    enc = jnp.asarray(enc)
    mask = jnp.ones(enc.shape[:2], bool) if enc_mask is None else jnp.asarray(enc_mask, bool)
    key = jax.random.PRNGKey(seed)
    ids, width = _from_encoder_jit(params, enc, mask, key, knobs, config=config, plan=plan)
    return np.asarray(ids)[:, : int(width)]


def compile_count() -> int:
    """How many generate programs have been traced and compiled in this process."""
    return _TRACES[0]


def enable_compilation_cache(path: str | os.PathLike | None) -> None:
    """Turn on JAX's persistent compilation cache in `path` (None: off), for every program
    however fast it compiled: a new process then loads `generate` instead of compiling it."""
    from jax.experimental.compilation_cache import compilation_cache

    if path is not None:
        os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", None if path is None else os.fspath(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    compilation_cache.reset_cache()  # the cache binds its directory on first use; rebind it
