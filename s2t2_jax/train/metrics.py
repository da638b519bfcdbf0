"""Translation scores of an evaluation: corpus BLEU (sacrebleu) and exact match."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _normalise(s: str) -> str:
    return " ".join(s.split())


def translation_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """`bleu` (sacrebleu corpus BLEU, default 13a tokenisation), `exact_match` (fraction of
    hypotheses equal to their reference after whitespace normalisation) and `eval_sentences`."""
    import sacrebleu  # only evaluations need it (a slow import)

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not hypotheses:
        return {"bleu": 0.0, "exact_match": 0.0, "eval_sentences": 0}
    bleu = sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score
    exact = np.mean([_normalise(h) == _normalise(r)
                     for h, r in zip(hypotheses, references, strict=True)])
    return {"bleu": float(bleu), "exact_match": float(exact), "eval_sentences": len(hypotheses)}
