#!/usr/bin/env bash
# Build the shipped default model from scratch on a CPU: corpus -> init -> train (3 stages) ->
# package -> evaluate (test scores written into the model card).
# Usage: bash examples/build_default_model.sh [WORK_DIR]   (needs espeak-ng and the project's venv)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-work/default-model}
PY=${PY:-.venv/bin/python}
S2T2=${S2T2:-.venv/bin/s2t2-jax}
mkdir -p "$WORK"
C="$WORK/corpus"
COMMON=(--train "$C/train.jsonl" --eval "$C/dev.jsonl" --batch-size 16 --decay cosine
        --weight-decay 0.01 --train-feature-encoder --log-every 25 --eval-max-new-tokens 40 --no-progress)
$PY examples/make_corpus.py "$C" --train 6000 --dev 200 --test 300 --seed 0 --overwrite
$PY examples/default_model.py init "$C" "$WORK/init" --vocab-size 600
# Stage 1, from random init: the auxiliary CTC loss on the English transcripts gets the encoder aligned.
$S2T2 train --model "$WORK/init" --output "$WORK/run1" "${COMMON[@]}" --steps 2400 --lr 1e-3 \
    --warmup-steps 250 --ctc-weight 0.5 --seed 0 --eval-every 400 --save-every 400
$PY examples/default_model.py package "$WORK/run1" "$WORK/stage1" --force
# Stage 2: a second cosine cycle from stage 1's params (fresh CTC head, lower weight).
$S2T2 train --model "$WORK/stage1" --output "$WORK/run2" "${COMMON[@]}" --steps 1800 --lr 7e-4 \
    --warmup-steps 150 --ctc-weight 0.3 --seed 1 --eval-every 300 --save-every 300
$PY examples/default_model.py package "$WORK/run2" "$WORK/stage2" --force
# Stage 3: a third, shorter and lower cycle.
$S2T2 train --model "$WORK/stage2" --output "$WORK/run3" "${COMMON[@]}" --steps 1200 --lr 5e-4 \
    --warmup-steps 100 --ctc-weight 0.3 --seed 2 --eval-every 400 --save-every 400
$PY examples/default_model.py package "$WORK/run1" "$WORK/run2" "$WORK/run3" s2t2_jax/default_model --force
$PY examples/default_model.py evaluate s2t2_jax/default_model "$C/test.jsonl" --num-beams 1 5 --card
