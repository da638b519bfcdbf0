#!/usr/bin/env bash
# Build the shipped default model from scratch on a CPU: corpus -> init -> train -> package -> test.
# Usage: bash examples/build_default_model.sh [WORK_DIR]   (needs espeak-ng and the project's venv)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work/default-model}
PY=${PY:-.venv/bin/python}
S2T2=${S2T2:-.venv/bin/s2t2-jax}
mkdir -p "$WORK"
$PY examples/make_corpus.py "$WORK/corpus" --train 6000 --dev 200 --test 300 --seed 0 --overwrite
$PY examples/default_model.py init "$WORK/corpus" "$WORK/init" --vocab-size 600
$S2T2 train --model "$WORK/init" --train "$WORK/corpus/train.jsonl" --eval "$WORK/corpus/dev.jsonl" \
    --output "$WORK/run" --steps "${STEPS:-3000}" --batch-size 16 --lr 1e-3 --warmup-steps 300 \
    --decay cosine --weight-decay 0.01 --train-feature-encoder --eval-every 500 --save-every 500 \
    --eval-max-new-tokens 40 --no-progress
$PY examples/default_model.py package "$WORK/run" s2t2_jax/default_model --force
$PY examples/default_model.py evaluate s2t2_jax/default_model "$WORK/corpus/test.jsonl"
