"""Logits processors, sampling warpers and scores of `decoding.generate` equal the reference's
(transformers 4.46.3) on a random model whose rows end at different steps and repeat tokens.

Each processor runs alone and in combinations, greedy and beam search; each is checked to change
the ids (else the parity would prove nothing). Programs compile once per static processor set
(module-scoped fixtures); the numbers in them are traced.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import jax
import numpy as np
import pytest
import torch
from reference import random_batch
from test_generate import MODELS, _convert, _ref_generate, _reference
from transformers.generation import logits_process as LP

from s2t2_jax import decoding
from s2t2_jax import processors as P
from s2t2_jax.config import GENERATION_DEFAULTS

LENGTHS = [2400, 1700, 1031, 2000]
MAX_NEW = 14


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def setup():
    """The reference model, our config + params, a batch, and the no-processor greedy ids."""
    name, _ = MODELS["untied"]
    ref = _reference(name, 0.9)  # EOS raised less than in test_generate: longer rows, repeats
    config, params = _convert(ref)
    x, mask = random_batch(LENGTHS, seed=1)
    base = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW)
    return ref, config, params, x, mask, base


def _frequent(base: np.ndarray, config, n: int) -> list[int]:
    """The `n` most frequent generated tokens (not EOS/pad) of the baseline rows."""
    counts = Counter(int(t) for t in base[:, 1:].ravel() if t not in (config.eos_id, config.pad_id))
    return [t for t, _ in counts.most_common(n)]


def _bigram(base: np.ndarray) -> list[int]:
    """A generated bigram of the first row (not starting at the start token)."""
    return [int(base[0, 1]), int(base[0, 2])]


# name -> (settings from the baseline ids, whether they must change greedy ids)
CASES = {
    "repetition_penalty": (lambda b, c: dict(repetition_penalty=1.6), True),
    "no_repeat_ngram": (lambda b, c: dict(no_repeat_ngram_size=2), True),
    "bad_words": (lambda b, c: dict(bad_words_ids=[[_frequent(b, c, 1)[0]], _bigram(b), [c.eos_id]]), True),
    "sequence_bias": (lambda b, c: dict(sequence_bias=[[[_frequent(b, c, 2)[1]], 3.0], [_bigram(b), -9.0],
                                                       [[c.eos_id], -0.5]]), True),
    "min_length": (lambda b, c: dict(min_length=6), True),
    "forced_bos_eos": (lambda b, c: dict(forced_bos_token_id=7, forced_eos_token_id=c.eos_id), True),
    "exponential_decay": (lambda b, c: dict(exponential_decay_length_penalty=(2, 1.6)), True),
    # The reference's EOS score becomes NaN (-inf + inf) and its argmax picks it.
    "decay_while_eos_banned": (lambda b, c: dict(min_length=8, exponential_decay_length_penalty=(1, 1.5)),
                               True),
    "suppress": (lambda b, c: dict(suppress_tokens=_frequent(b, c, 2), begin_suppress_tokens=[int(b[0, 1])]),
                 True),
    "combined": (lambda b, c, penalty=1.3, bias=1.5, factor=1.2: dict(
        repetition_penalty=penalty, no_repeat_ngram_size=3, min_new_tokens=2, bad_words_ids=[_bigram(b)],
        suppress_tokens=_frequent(b, c, 1), forced_eos_token_id=c.eos_id,
        exponential_decay_length_penalty=(4, factor), sequence_bias=[[[_frequent(b, c, 3)[2]], bias]],
        remove_invalid_values=True, renormalize_logits=True), True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_greedy_matches_reference(setup, case):
    ref, config, params, x, mask, base = setup
    make, changes = CASES[case]
    kw = dict(max_new_tokens=MAX_NEW, **make(base, config))
    expected = _ref_generate(ref, x, mask, **kw)
    ours = decoding.generate(params, config, x, mask, **kw)
    np.testing.assert_array_equal(ours, expected, err_msg=str(kw))
    if changes:
        assert ours.shape != base.shape or not np.array_equal(ours, base), f"{case} changed nothing"


BEAM_CASES = ["repetition_penalty", "no_repeat_ngram", "bad_words", "sequence_bias", "combined"]
BEAM = dict(max_new_tokens=MAX_NEW, num_beams=3, num_return_sequences=2, early_stopping=False,
            length_penalty=1.5)


@pytest.mark.parametrize("case", BEAM_CASES)
def test_beam_search_and_scores_match_reference(setup, case):
    """Ids and `sequences_scores` of beam search with processors (applied to log-probs)."""
    ref, config, params, x, mask, base = setup
    plain = decoding.generate(params, config, x, mask, **BEAM)
    kw = {**BEAM, **CASES[case][0](base, config)}
    with torch.no_grad():
        out = ref.generate(torch.tensor(x), attention_mask=torch.tensor(mask), output_scores=True,
                           return_dict_in_generate=True, **kw)
    ours, scores = decoding.generate(params, config, x, mask, return_scores=True, **kw)
    np.testing.assert_array_equal(ours, out.sequences.numpy(), err_msg=str(kw))
    np.testing.assert_allclose(scores, out.sequences_scores.numpy(), atol=1e-4, rtol=0)
    assert ours.shape != plain.shape or not np.array_equal(ours, plain), f"{case} changed nothing"


def test_the_baseline_repeats_and_ends_rows_at_different_steps(setup):
    _, config, _, _, _, base = setup
    body = [list(r[1:]) for r in base]
    ends = [r.index(config.eos_id) if config.eos_id in r else len(r) for r in body]
    assert len(set(ends)) > 1, ends
    assert any(len(set(r[:e])) < e for r, e in zip(body, ends, strict=True)), base


# --------------------------------------------------------------------------- scores


def _mean_transition_scores(ref, out, eos: int) -> np.ndarray:
    """The reference's `compute_transition_scores(normalize_logits=True)`, averaged per row over
    the generated tokens up to and including EOS."""
    gen = out.sequences[:, 1:].numpy()  # (its `compute_transition_scores` needs config.vocab_size)
    logp = torch.stack(out.scores, 1).log_softmax(-1).numpy()  # [R, steps, V]
    trans = np.take_along_axis(logp, gen[..., None], -1)[..., 0]
    means = []
    for row, t in zip(gen, trans, strict=True):
        n = list(row).index(eos) + 1 if eos in row else len(row)
        means.append(t[:n].astype(np.float64).mean())
    return np.asarray(means)


def test_greedy_scores_match_reference(setup):
    ref, config, params, x, mask, _ = setup
    kw = dict(max_new_tokens=MAX_NEW, repetition_penalty=1.3, no_repeat_ngram_size=2)
    with torch.no_grad():
        out = ref.generate(torch.tensor(x), attention_mask=torch.tensor(mask), output_scores=True,
                           return_dict_in_generate=True, **kw)
    ids, scores = decoding.generate(params, config, x, mask, return_scores=True, **kw)
    np.testing.assert_array_equal(ids, out.sequences.numpy())
    assert scores.shape == (len(LENGTHS),) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, _mean_transition_scores(ref, out, config.eos_id), atol=1e-4, rtol=0)


# --------------------------------------------------------------------------- sampling warpers


WARPERS = [  # ours, the reference's, a setting
    (P.min_p_warper, LP.MinPLogitsWarper, 0.1),
    (P.typical_warper, LP.TypicalLogitsWarper, 0.7),
    (P.epsilon_warper, LP.EpsilonLogitsWarper, 0.02),
    (P.eta_warper, LP.EtaLogitsWarper, 0.02),
]


@pytest.mark.parametrize("ours, theirs, value", WARPERS, ids=lambda w: getattr(w, "__name__", ""))
def test_warper_keeps_what_the_reference_keeps(ours, theirs, value):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((6, 61)) * np.array([[0.5], [1], [2], [3], [4], [6]])).astype(np.float32)
    logits[0, :5] = -np.inf  # already filtered tokens
    logits[5, 7] = 40.0  # one dominant token: min_tokens_to_keep decides what else stays
    for keep in (1, 2):
        want = theirs(value, min_tokens_to_keep=keep)(None, torch.tensor(logits)).numpy()
        got = np.asarray(jax.jit(ours, static_argnums=2)(logits, np.float32(value), keep))
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want), err_msg=f"keep={keep}")
        np.testing.assert_array_equal(got[np.isfinite(got)], logits[np.isfinite(got)])
        assert 0 < np.isfinite(got).sum() < np.isfinite(logits).sum()  # the warper did something


def test_degenerate_warpers_are_greedy(setup):
    """min-p 1 and epsilon ~1 keep only the best token (one program: their values are traced);
    typical-p and eta after top-k 1 keep it too."""
    _, config, params, x, mask, base = setup
    for kw in (dict(top_k=0, min_p=1.0, epsilon_cutoff=0.5), dict(top_k=0, min_p=0.0, epsilon_cutoff=0.999),
               dict(top_k=1, typical_p=0.5, eta_cutoff=0.3)):
        ours = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, do_sample=True, seed=1,
                                 **kw)
        np.testing.assert_array_equal(ours, base, err_msg=str(kw))


def test_sampling_with_warpers_runs_reproducibly(setup):
    _, config, params, x, mask, base = setup
    kw = dict(max_new_tokens=MAX_NEW, do_sample=True, temperature=2.0, top_k=0, min_p=0.02,
              epsilon_cutoff=1e-3)  # the degenerate test's program, with other numbers
    a = decoding.generate(params, config, x, mask, seed=3, **kw)
    np.testing.assert_array_equal(a, decoding.generate(params, config, x, mask, seed=3, **kw))
    assert a.shape != base.shape or not np.array_equal(a, base)
    kw.update(num_beams=2, typical_p=0.9, eta_cutoff=1e-3, repetition_penalty=1.2)  # keeps 2 tokens
    beam = decoding.generate(params, config, x, mask, seed=3, **kw)
    assert beam.shape[0] == len(LENGTHS) and (beam[:, 0] == config.start_token_id).all()


# --------------------------------------------------------------------------- traced numbers


def test_changing_numbers_does_not_recompile(setup):
    _, config, params, x, mask, base = setup
    make = CASES["combined"][0]
    decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, **make(base, config))
    before = decoding.compile_count()
    for penalty, bias, factor in [(1.2, -2.0, 1.5), (0.8, 0.5, 1.01)]:
        decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW,
                          **make(base, config, penalty, bias, factor))
    decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, suppress_tokens=[3, 4],
                      forced_bos_token_id=5)
    decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, suppress_tokens=[],
                      forced_bos_token_id=9)  # token ids and masks are traced too
    assert decoding.compile_count() == before + 1
    decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, no_repeat_ngram_size=4)
    assert decoding.compile_count() == before + 2  # the n-gram size is static


# --------------------------------------------------------------------------- refused settings


REFUSED = {
    "guidance_scale": 1.5, "num_beam_groups": 2, "diversity_penalty": 0.5, "penalty_alpha": 0.6,
    "constraints": [], "force_words_ids": [[5]], "forced_decoder_ids": [[1, 5]],
    "encoder_repetition_penalty": 1.2, "encoder_no_repeat_ngram_size": 2,
    "watermarking_config": {"bias": 2.0}, "stop_strings": ["stop"], "max_time": 1.0,
    "dola_layers": "high", "token_healing": True, "prompt_lookup_num_tokens": 3,
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_settings_raise_naming_themselves(setup, name):
    _, config, params, x, mask, _ = setup
    before = decoding.compile_count()
    with pytest.raises(ValueError, match=name):
        decoding.generate(params, config, x, mask, **{name: REFUSED[name]})
    from_config = dataclasses.replace(config, extra={**config.extra, name: REFUSED[name]})
    with pytest.raises(ValueError, match=name):
        decoding.generate(params, from_config, x, mask)
    assert decoding.compile_count() == before


def test_every_setting_is_implemented_refused_or_without_effect():
    implemented = {f.name for f in dataclasses.fields(decoding.Plan)} | {
        "max_length", "min_length", "min_new_tokens", "length_penalty", "temperature", "top_k", "top_p",
        "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "repetition_penalty", "no_repeat_ngram_size",
        "bad_words_ids", "sequence_bias", "forced_bos_token_id", "forced_eos_token_id",
        "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
        "begin_suppress_tokens", "renormalize_logits"}
    token_ids = {"pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"}
    known = implemented | set(P._REFUSED) | decoding._NO_EFFECT | token_ids
    assert set(GENERATION_DEFAULTS) <= known, set(GENERATION_DEFAULTS) - known


@pytest.mark.parametrize("kw, error, match", [
    (dict(bad_words_ids=[[2]]), ValueError, "bad_words_ids"),  # [eos] only
    (dict(bad_words_ids=[[99]]), ValueError, "bad_words_ids"),  # outside the vocabulary
    (dict(sequence_bias=[[[3], 1.0], [[61], 1.0]]), ValueError, "sequence_bias"),
    (dict(do_sample=True, typical_p=0.0), ValueError, "typical_p"),
    (dict(do_sample=True, min_p=1.5), ValueError, "min_p"),
    (dict(forced_bos_token_id=61), ValueError, "forced_bos_token_id"),
    (dict(eos_token_id=5), ValueError, "eos_token_id"),
    (dict(no_such_option=1), TypeError, "no_such_option"),
])
def test_bad_settings_raise_before_compiling(setup, kw, error, match):
    _, config, params, x, mask, _ = setup
    before = decoding.compile_count()
    with pytest.raises(error, match=match):
        decoding.generate(params, config, x, mask, **kw)
    assert decoding.compile_count() == before


def test_settings_without_effect_are_accepted(setup):
    _, config, params, x, mask, base = setup
    ids = decoding.generate(params, config, x, mask, max_new_tokens=MAX_NEW, use_cache=False, low_memory=True,
                            output_scores=True, return_dict_in_generate=True, eos_token_id=config.eos_id)
    np.testing.assert_array_equal(ids, base)
