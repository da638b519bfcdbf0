#!/usr/bin/env bash
# Build the shipped default model from scratch on a CPU: corpus -> init -> train -> package ->
# evaluate (test scores written into the model card).
# Usage: bash examples/build_default_model.sh [WORK_DIR [MODEL_DIR]]
#   WORK_DIR: corpus and runs (default work/default-model); MODEL_DIR: the packaged model (default
#   s2t2_jax/default_model, the shipped one). Needs espeak-ng and the project's venv.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work/default-model}
OUT=${2:-s2t2_jax/default_model}
PY=${PY:-.venv/bin/python}
S2T2=${S2T2:-.venv/bin/s2t2-jax}
mkdir -p "$WORK"
C="$WORK/corpus"
$PY examples/make_corpus.py "$C" --train 12000 --dev 200 --test 300 --seed 0 --jobs 2 --overwrite
$PY examples/default_model.py init "$C" "$WORK/init" --vocab-size 600
# One cosine schedule from random init; the auxiliary CTC loss on the English transcripts gets
# the encoder aligned.
$S2T2 train --model "$WORK/init" --output "$WORK/run" --train "$C/train.jsonl" --eval "$C/dev.jsonl" \
    --batch-size 16 --decay cosine --weight-decay 0.01 --train-feature-encoder --steps 5000 \
    --lr 1e-3 --warmup-steps 300 --ctc-weight 0.5 --seed 0 --eval-every 500 --save-every 500 \
    --eval-max-new-tokens 40 --log-every 25 --no-progress
$PY examples/default_model.py package "$WORK/run" "$OUT" --force
$PY examples/default_model.py evaluate "$OUT" "$C/test.jsonl" --num-beams 1 5 --card
