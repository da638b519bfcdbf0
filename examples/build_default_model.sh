#!/usr/bin/env bash
# Build the shipped default model from scratch on a CPU: corpus -> init -> train -> package ->
# evaluate (all test sets' scores written into the model card).
# Usage: bash examples/build_default_model.sh [WORK_DIR [MODEL_DIR]]
#   WORK_DIR: corpus and runs (default work/default-model); MODEL_DIR: the packaged model (default
#   s2t2_jax/default_model, the shipped one). Needs espeak-ng and the project's venv.
# The corpus is make_corpus.py's defaults (tests/test_default_model.py regenerates samples of the
# same test sets, so keep them there). A smoke run at tiny scale overrides, e.g.:
#   CORPUS_ARGS="--train 300 --dev 20 --test 20 --heldout 20 --numbers 20 --nonspeech 20
#   --train-numbers 40 --train-nonspeech 20" STEPS=200 WARMUP=20 EVAL_EVERY=100 \
#   bash examples/build_default_model.sh /tmp/smoke /tmp/smoke/model
# Measured on the 2-core AMD EPYC (Zen 4) VM, 2026-12-01: corpus 6 min (27,300 clips, mean
# 3.46 s); training ran at ~1.1 updates/s with quantile buckets (8000 updates ~2 h: over the
# 90-minute budget); buckets now minimise padding (4.42 -> 3.98 s mean padded length). STEPS
# and the batch still need re-tuning to fit 90 minutes (issue 15, next session).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work/default-model}
OUT=${2:-s2t2_jax/default_model}
PY=${PY:-.venv/bin/python}
S2T2=${S2T2:-.venv/bin/s2t2-jax}
STEPS=${STEPS:-8000}
WARMUP=${WARMUP:-400}
EVAL_EVERY=${EVAL_EVERY:-1000}
mkdir -p "$WORK"
C="$WORK/corpus"
# shellcheck disable=SC2086  # CORPUS_ARGS is a list of options
$PY examples/make_corpus.py "$C" --seed 0 --jobs 2 --overwrite ${CORPUS_ARGS:-}
$PY examples/default_model.py init "$C" "$WORK/init" --vocab-size 600
# One cosine schedule from random init; the auxiliary CTC loss on the English transcripts gets
# the encoder aligned (non-speech clips have empty texts and sources: </s> alone, CTC all blanks).
$S2T2 train --model "$WORK/init" --output "$WORK/run" --train "$C/train.jsonl" --eval "$C/dev.jsonl" \
    --batch-size 16 --decay cosine --weight-decay 0.01 --train-feature-encoder --steps "$STEPS" \
    --lr 1e-3 --warmup-steps "$WARMUP" --ctc-weight 0.5 --seed 0 --eval-every "$EVAL_EVERY" \
    --save-every "$EVAL_EVERY" --eval-max-new-tokens 48 --log-every 25 --no-progress
$PY examples/default_model.py package "$WORK/run" "$OUT" --force
$PY examples/default_model.py evaluate "$OUT" "$C" --num-beams 1 5 --card
