#!/usr/bin/env bash
# `make model`: the shipped reasoning model from scratch (issue 6), every stage
# resumable: run it again after an interruption and it continues where it stopped.
#   1. corpus     Countdown try-check-retry traces + arithmetic (frugal corpus)
#   2. tokenizer  a byte-level BPE trained on the corpus (frugal tokenizer-train)
#   3. pretrain   a DeepSeek-V3-architecture model (MLA, MoE + shared expert with
#                 bias balancing, MTP) from recipes/frugal-r1-tiny.json (frugal train)
#   4. eval       the base model on the held-out test split (frugal eval)
#   5. grpo       GRPO with rule rewards from the base model (frugal grpo)
#   6. eval       the RL model on the same split
#   7. ship       models/frugal-r1-tiny/ (Hugging Face layout)
# Environment: BUILD (default build), WORK (default $BUILD/model-recipe),
# PRETRAIN_STEPS, GRPO_STEPS, EVAL_N, EVAL_K, THREADS to scale the run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/model-recipe}
FRUGAL=$BUILD/frugal
PRETRAIN_STEPS=${PRETRAIN_STEPS:-3000}
GRPO_STEPS=${GRPO_STEPS:-200}
EVAL_N=${EVAL_N:-200}
EVAL_K=${EVAL_K:-16}
THREADS=${THREADS:-0}
SHIP=${SHIP:-models/frugal-r1-tiny}
mkdir -p "$WORK"

stage() { echo "== make model: $*" >&2; }
done_mark() { [ -f "$WORK/$1.done" ]; }
mark() { touch "$WORK/$1.done"; }
latest() { ls -d "$1"/checkpoints/step-* 2>/dev/null | sort | tail -1; }

if ! done_mark corpus; then
  stage "corpus"
  "$FRUGAL" corpus --docs 60000 --seed 1 -o "$WORK/corpus.jsonl" --text-out "$WORK/corpus.txt"
  mark corpus
fi

if ! done_mark tokenizer; then
  stage "tokenizer"
  "$FRUGAL" tokenizer-train --input "$WORK/corpus.txt" --vocab-size 512 -o "$WORK/tokenizer/tokenizer.json"
  mark tokenizer
fi

if ! done_mark pretrain; then
  if [ -n "$(latest "$WORK/pretrain")" ]; then
    stage "pretrain (resuming from $(latest "$WORK/pretrain"))"
    "$FRUGAL" train --resume "$WORK/pretrain" --steps "$PRETRAIN_STEPS" -t "$THREADS"
  else
    stage "pretrain"
    "$FRUGAL" train --config recipes/frugal-r1-tiny.json --data "$WORK/corpus.jsonl" \
      --tokenizer "$WORK/tokenizer" --steps "$PRETRAIN_STEPS" -o "$WORK/pretrain" -t "$THREADS"
  fi
  mark pretrain
fi
BASE=$(latest "$WORK/pretrain")

eval_model() {  # eval_model MODEL NAME
  "$FRUGAL" eval -m "$1" --task countdown --split test --n "$EVAL_N" --samples "$EVAL_K" \
    --max-new-tokens 160 --out "$WORK/eval-$2.jsonl" --json -t "$THREADS" > "$WORK/eval-$2.json"
  cat "$WORK/eval-$2.json" >&2
}

if ! done_mark eval-base; then
  stage "eval base model $BASE"
  eval_model "$BASE" base
  mark eval-base
fi

if ! done_mark grpo; then
  if [ -n "$(latest "$WORK/grpo")" ]; then
    stage "grpo (resuming from $(latest "$WORK/grpo"))"
    "$FRUGAL" grpo --resume "$WORK/grpo" --steps "$GRPO_STEPS" -t "$THREADS" \
      --prompts 16 --group 8 --max-new-tokens 160 --lr 2e-5 --beta 0.001 --ref-reset 100 --checkpoint-every 10
  else
    stage "grpo from $BASE"
    "$FRUGAL" grpo -m "$BASE" -o "$WORK/grpo" --steps "$GRPO_STEPS" -t "$THREADS" \
      --prompts 16 --group 8 --max-new-tokens 160 --lr 2e-5 --beta 0.001 --ref-reset 100 --checkpoint-every 10
  fi
  mark grpo
fi
RL=$(latest "$WORK/grpo")

if ! done_mark eval-rl; then
  stage "eval RL model $RL"
  eval_model "$RL" rl
  mark eval-rl
fi

stage "ship $RL -> $SHIP"
mkdir -p "$SHIP"
cp "$RL/config.json" "$RL/model.safetensors" "$RL/tokenizer.json" "$RL/tokenizer_config.json" "$SHIP/"
du -sh "$SHIP" >&2
