"""Token generation with the reference's `generate()` semantics, as one compiled XLA program.

Greedy search, multinomial sampling and beam search (length penalty, `early_stopping`
True/False/"never", `num_return_sequences`), with the reference's logits processors and sampling
warpers in its order (`processors.py`), run in one jitted function: the encoder once,
cross-attention keys/values projected once, then a `lax.while_loop` of decode steps over a static
cache, which stops once every row has ended.

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
from s2t2_jax import processors as P
from s2t2_jax.config import GENERATION_DEFAULTS, ModelConfig
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
    num_return_sequences: int
    dtype: str
    query_block: int  # the encoder's inference attention block (`encoder.QUERY_BLOCK`)
    proc: P.Processors  # which logits processors and warpers run
    return_scores: bool  # greedy/sampling: sum log-probs (beam search always has its scores)
    padding_invariant: bool  # rows encoded as if alone (`encoder.Wav2Vec2Encoder`)


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
    scores: jax.Array  # [B, G] float32, beam log-prob sums; greedy/sampling: chosen tokens' log-probs
    done: jax.Array  # [B, G] bool: row ended (greedy/sampling) or item done (beam search)
    cache: KVCache
    hyps: Hypotheses | None  # beam search only

# --------------------------------------------------------------------------- options

# Settings accepted and ignored: they do not change the ids (caching, output form, assistants).
_NO_EFFECT = {
    "use_cache", "cache_implementation", "cache_config", "return_legacy_cache", "low_memory",
    "output_attentions", "output_hidden_states", "output_scores", "output_logits",
    "return_dict_in_generate", "num_assistant_tokens", "num_assistant_tokens_schedule",
    "assistant_confidence_threshold", "max_matching_ngram_size",
}


def _resolve(
    config: ModelConfig, opts: dict[str, Any], dtype: Any, query_block: int = QUERY_BLOCK,
    return_scores: bool = False, padding_invariant: bool = False,
) -> tuple[Plan, dict[str, Any]]:
    """Fill unset options from the config's generation defaults and validate them (no compiling)."""
    unknown = set(opts) - set(GENERATION_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown generation options: {sorted(unknown)}")
    ids = dict(pad_token_id=config.pad_id, bos_token_id=config.bos_id, eos_token_id=config.eos_id,
               decoder_start_token_id=config.start_token_id)
    for name, value in ids.items():
        if opts.get(name) is not None and opts[name] != value:
            raise ValueError(f"{name}={opts[name]!r} differs from the model config's {value}: "
                             "set it in the config (`dataclasses.replace`)")
    s = {**config.generation_defaults(), **{k: v for k, v in opts.items() if v is not None}}
    P.check_supported(s)
    max_new = s["max_new_tokens"]
    if max_new is None and s["max_length"] is None:  # the reference: a TypeError
        raise ValueError("max_length is null in the model's generation config: pass max_new_tokens")
    max_new = s["max_length"] - 1 if max_new is None else max_new  # max_length counts the start
    num_beams, do_sample, early = s["num_beams"], bool(s["do_sample"]), s["early_stopping"]
    num_ret, lp = int(s["num_return_sequences"]), float(s["length_penalty"])
    min_new = s["min_new_tokens"]  # takes precedence over min_length, as the reference
    min_new = max(int(s["min_length"] or 0) - 1, 0) if min_new is None else max(int(min_new), 0)

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
    proc, knobs = P.resolve(s, config.decoder.vocab_size, config.eos_id, int(num_beams), do_sample,
                            int(max_new))
    plan = Plan(
        max_new_tokens=int(max_new), num_beams=int(num_beams), do_sample=do_sample,
        early_stopping=early if num_beams > 1 else False, num_return_sequences=num_ret,
        dtype=jnp.dtype(dtype).name, query_block=int(query_block), proc=proc,
        return_scores=bool(return_scores) and num_beams == 1,
        padding_invariant=bool(padding_invariant),
    )
    knobs.update(length_penalty=np.float32(lp), min_new_tokens=np.int32(min(min_new, max_new)))
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


_pick_k, _top_k = P.pick_k, P.top_k


def _logits_to_scores(logits: jax.Array, tokens: jax.Array, step: jax.Array, plan: Plan, knobs: dict,
                      eos: int) -> jax.Array:
    """Logits `[R, V]` + running rows `[R, W]` -> processed scores (`processors.apply`); beam
    search processes log-probs, as the reference."""
    scores = logits.astype(jnp.float32)
    if plan.num_beams > 1:
        scores = jax.nn.log_softmax(scores, axis=-1)
    return P.apply(scores, tokens, step, plan.proc, knobs, eos)


def _greedy_update(s: LoopState, scores: jax.Array, key, plan: Plan, pad: int, eos: int) -> LoopState:
    """Pick each row's next token from `scores [B, G, V]` (argmax or a sample); ended rows get pad.

    With `plan.return_scores`, running rows add the chosen token's log-softmax of `scores`.
    """
    noisy = scores if key is None else scores + jax.random.gumbel(key, scores.shape)  # sampling
    nxt = _argmax(noisy)
    if plan.return_scores:
        chosen = jnp.take_along_axis(scores, nxt[..., None], -1)[..., 0]
        logp = chosen - jax.nn.logsumexp(scores, axis=-1)
        s = s.replace(scores=s.scores + jnp.where(s.done, 0.0, logp))
    nxt = jnp.where(s.done, pad, nxt)  # [B, G]
    tokens = jax.lax.dynamic_update_slice(s.tokens, nxt[..., None], (0, 0, s.step + 1))
    return s.replace(step=s.step + 1, tokens=tokens, done=s.done | (nxt == eos))


def _mean_scores(s: LoopState, eos: int) -> jax.Array:
    """Greedy/sampling scores `[R]`: the mean log-prob over each row's tokens up to its EOS."""
    ended = s.tokens[..., 1:] == eos  # [B, G, W-1]
    count = jnp.where(ended.any(-1), jnp.argmax(ended, -1) + 1, s.step)
    return (s.scores / count).reshape(-1)


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


def _finalize_beams(s: LoopState, plan: Plan, knobs: dict, eos: int):
    """Best R hypotheses per item -> ids `[B*R, W]`, the reference's output width and its
    `sequences_scores` `[B*R]`."""
    b, g, width = s.tokens.shape
    # Items still running add every running beam (generated_len = steps run, no EOS).
    hyps = _add_hyps(s.hyps, _penalise(s.scores, s.step, knobs["length_penalty"]), s.tokens,
                     jnp.full((b, g), s.step + 1, jnp.int32), ~s.done)
    r = plan.num_return_sequences
    ids, length = hyps.tokens[:, :r].reshape(b * r, width), hyps.length[:, :r].reshape(-1)
    ids = jnp.where(jnp.arange(width) == length[:, None], eos, ids)  # EOS where it fits
    return ids, jnp.minimum(length.max() + 1, width), hyps.scores[:, :r].reshape(-1)


# --------------------------------------------------------------------------- the program


def _decode_loop(params: Params, config: ModelConfig, enc, enc_mask, key, knobs, plan: Plan):
    """Encoder states `[B, S, D]` + frame mask `[B, S]` -> ids `[B*R, W]`, number of valid
    columns, scores `[B*R]` (None for greedy/sampling without `plan.return_scores`)."""
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
        scores = _logits_to_scores(logits[:, 0], s.tokens.reshape(b * g, width), s.step, plan, knobs, eos)
        scores = scores.reshape(b, g, -1)
        step_key = jax.random.fold_in(key, s.step) if plan.do_sample else None
        if beams:
            return _beam_update(s, scores, step_key, plan, knobs, pad, eos)
        return _greedy_update(s, scores, step_key, plan, pad, eos)

    state = jax.lax.while_loop(cond, body, state)  # a while loop, not a scan: see the module doc
    if beams:
        return _finalize_beams(state, plan, knobs, eos)
    scores = _mean_scores(state, eos) if plan.return_scores else None
    return state.tokens.reshape(b * g, width), state.step + 1, scores


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


def _output(ids, width, scores, return_scores: bool):
    ids = np.asarray(ids)[:, : int(width)]
    return (ids, np.asarray(scores, np.float32)) if return_scores else ids


def generate(
    params: Params, config: ModelConfig, input_values, attention_mask=None, *,
    max_new_tokens: int | None = None, min_new_tokens: int | None = None,
    num_beams: int | None = None, length_penalty: float | None = None,
    early_stopping: bool | str | None = None, do_sample: bool | None = None,
    temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
    seed: int = 0, num_return_sequences: int | None = None, dtype: Any = jnp.float32,
    query_block: int = QUERY_BLOCK, return_scores: bool = False, padding_invariant: bool = False,
    **options: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Translate audio `[B, samples]` (+ sample mask `[B, samples]`) into token ids `[B*R, W]`.

    Options left None take the model config's generation defaults, as the reference's
    `generate()` does; `options` takes any other setting of `config.GENERATION_DEFAULTS` (the
    logits processors and warpers of `s2t2_jax.processors`; settings we lack raise `ValueError`
    naming themselves, before compiling). Rows are laid out as the reference returns them: the
    decoder start token first, then the generated tokens; after EOS (greedy/sampling: pad; beam
    search: EOS, then pad). `W` is the reference's width: 1 + steps run for greedy/sampling; for
    beam search `min(longest returned hypothesis + 1, max_new_tokens + 1)`. R =
    num_return_sequences rows per input, consecutive. Sampling is reproducible for a `seed` (it
    does not reproduce torch's RNG).
    `return_scores=True` returns `(ids, scores [B*R] float32)`: beam search, the reference's
    `sequences_scores`; greedy/sampling, the mean over each row's tokens (up to and including EOS)
    of the log-softmax of the processed scores at the chosen token.
    `dtype=jnp.bfloat16` computes in bfloat16 (not faster than float32 on a 2-core AVX-512 CPU).
    `query_block`: the encoder's inference self-attention runs in blocks of this many queries
    over longer inputs (0: never; -1: chosen by length, `attention.attention_blocks`); static,
    like the generation plan.
    `padding_invariant`: each row is encoded as its unpadded input alone, whatever it is padded
    and batched with (see `encoder.Wav2Vec2Encoder`; batched translation uses it); off, a given
    mask has the reference's batched semantics.
    Pass `params` as device arrays (`jax.device_put` once): numpy params are copied every call.
    """
    opts = dict(max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, num_beams=num_beams,
                length_penalty=length_penalty, early_stopping=early_stopping, do_sample=do_sample,
                temperature=temperature, top_k=top_k, top_p=top_p,
                num_return_sequences=num_return_sequences, **options)
    plan, knobs = _resolve(config, opts, dtype, query_block, return_scores, padding_invariant)
    _check_audio(config, input_values, attention_mask)
    x = jnp.asarray(input_values, jnp.float32)
    mask = None if attention_mask is None else jnp.asarray(attention_mask, jnp.int32)
    out = _from_audio_jit(params, x, mask, jax.random.PRNGKey(seed), knobs, config=config, plan=plan)
    return _output(*out, return_scores)


def generate_from_encoder(
    params: Params, config: ModelConfig, enc, enc_mask=None, *, seed: int = 0,
    dtype: Any = jnp.float32, return_scores: bool = False, **options: Any,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """`generate` starting from encoder states `[B, S, D]` (after `enc_to_dec_proj`) and frame
    mask `[B, S]` (None: all frames real), e.g. the output of `model.encode`."""
    plan, knobs = _resolve(config, options, dtype, return_scores=return_scores)
    if np.ndim(enc) != 3 or np.shape(enc)[-1] != config.decoder.d_model:
        raise ValueError(f"encoder states must be [batch, frames, {config.decoder.d_model}], "
                         f"got {np.shape(enc)}")
    enc = jnp.asarray(enc)
    mask = jnp.ones(enc.shape[:2], bool) if enc_mask is None else jnp.asarray(enc_mask, bool)
    key = jax.random.PRNGKey(seed)
    out = _from_encoder_jit(params, enc, mask, key, knobs, config=config, plan=plan)
    return _output(*out, return_scores)


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
