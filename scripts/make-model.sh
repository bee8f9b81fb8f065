#!/usr/bin/env bash
# `make model`: the shipped reasoning model from scratch (issue 6), every stage
# resumable: run it again after an interruption and it continues where it stopped.
#   1. corpus     Countdown try-check-retry traces + arithmetic (frugal corpus); failed
#                 attempts are near misses (the closest of 4 random wrong ones)
#   2. tokenizer  a byte-level BPE trained on the corpus (frugal tokenizer-train)
#   3. pretrain   a DeepSeek-V3-architecture model (MLA, MoE + shared expert with
#                 bias balancing, MTP) from recipes/frugal-r1-tiny.json (frugal train)
#   4. eval       the base model on the held-out test split (frugal eval)
#   5. grpo       GRPO with rule rewards from the base model (frugal grpo)
#   6. eval       the RL model on the same split (+ the controls: rs-sft, random reward)
#   7. ship       models/frugal-r1-tiny/ (Hugging Face layout)
# Environment: BUILD (default build), WORK (default $BUILD/model-recipe),
# PRETRAIN_STEPS, GRPO_STEPS, CONTROL_STEPS, EVAL_N, EVAL_K, THREADS, RL_LR, MAX_NEW to scale the
# run, CONTROLS=0 to skip the control runs (rejection-sampling SFT, random reward).
# RL never prompts with a problem of the pretraining corpus (--exclude-problems):
# the base model has memorized those, and rewarding recall teaches no search.
set -euo pipefail

# The whole script is one function, read before it runs: editing this file while
# a run is in progress cannot change what that run executes.
main() {
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${WORK:-$BUILD/model-recipe}
FRUGAL=$BUILD/frugal
PRETRAIN_STEPS=${PRETRAIN_STEPS:-3000}
GRPO_STEPS=${GRPO_STEPS:-300}        # run 5 (docs/r1.md): the shipped model is its step 300
CONTROL_STEPS=${CONTROL_STEPS:-300}  # GRPO's checkpoint at this step is compared with them (matched rollouts)
EVAL_N=${EVAL_N:-200}
EVAL_K=${EVAL_K:-16}
THREADS=${THREADS:-0}
RL_LR=${RL_LR:-5e-5}    # GRPO and the controls alike (2e-5 moved the policy little in 100 steps: KL 0.006)
MAX_NEW=${MAX_NEW:-256}  # tokens per answer in RL and eval: ~6 attempts of ~37 tokens
SHIP=${SHIP:-models/frugal-r1-tiny}
mkdir -p "$WORK"

stage() { echo "== make model: $*" >&2; }
done_mark() { [ -f "$WORK/$1.done" ]; }
mark() { touch "$WORK/$1.done"; }
latest() { ls -d "$1"/checkpoints/step-* 2>/dev/null | sort | tail -1; }

if ! done_mark corpus; then
  stage "corpus"
  "$FRUGAL" corpus --docs 60000 --seed 1 --direct 0.25 --search 0.35 --give-up 0.25 --arithmetic 0.15 \
    --max-failed 6 --wrong-pool 4 -o "$WORK/corpus.jsonl" --text-out "$WORK/corpus.txt" \
    --problems-out "$WORK/corpus-problems.jsonl"
  mark corpus
fi
[ -f "$WORK/corpus-problems.jsonl" ] || { echo "$WORK/corpus-problems.jsonl is missing: delete $WORK/corpus.done to rebuild the corpus" >&2; exit 1; }

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
    --max-new-tokens "$MAX_NEW" --out "$WORK/eval-$2.jsonl" --json -t "$THREADS" > "$WORK/eval-$2.json"
  cat "$WORK/eval-$2.json" >&2
}

if ! done_mark eval-base; then
  stage "eval base model $BASE"
  eval_model "$BASE" base
  mark eval-base
fi

# RL runs from the same base model with the same rollouts budget: GRPO, and the
# two controls of docs/r1.md (rejection-sampling fine-tuning; a random reward).
RL_ARGS=(-t "$THREADS" --prompts 16 --group 8 --max-new-tokens "$MAX_NEW" --lr "$RL_LR" --checkpoint-every 25 --keep 100
         --exclude-problems "$WORK/corpus-problems.jsonl")
rl_stage() {  # rl_stage NAME STEPS ARGS...
  local name=$1 steps=$2; shift 2
  if done_mark "$name"; then return; fi
  if [ -n "$(latest "$WORK/$name")" ]; then
    stage "$name (resuming from $(latest "$WORK/$name"))"
    "$FRUGAL" grpo --resume "$WORK/$name" --steps "$steps" "${RL_ARGS[@]}" "$@"
  else
    stage "$name from $BASE"
    "$FRUGAL" grpo -m "$BASE" -o "$WORK/$name" --steps "$steps" "${RL_ARGS[@]}" "$@"
  fi
  mark "$name"
}
# Dr. GRPO advantages (r - mean, not divided by the group's std): with few correct
# samples per group, std-normalized advantages blow the 0.1 format bonus up to the
# size of a correct answer and GRPO learns to answer early (docs/r1.md, run 2).
rl_stage grpo "$GRPO_STEPS" --no-std --beta 0.001 --ref-reset 100
RL="$WORK/grpo/checkpoints/step-$(printf %08d "$GRPO_STEPS")"  # not the latest: a run folder may have been taken further by hand
if ! done_mark eval-rl; then
  stage "eval RL model $RL"
  eval_model "$RL" rl
  mark eval-rl
fi

if [ "${CONTROLS:-1}" = 1 ]; then
  rl_stage rs-sft "$CONTROL_STEPS" --algorithm rs-sft
  rl_stage random-reward "$CONTROL_STEPS" --random-reward 0.3 --beta 0.001 --ref-reset 100
  if ! done_mark eval-rl-matched; then
    if [ "$CONTROL_STEPS" = "$GRPO_STEPS" ]; then  # the same checkpoint: the same evaluation
      cp "$WORK/eval-rl.json" "$WORK/eval-rl-matched.json"
      cp "$WORK/eval-rl.jsonl" "$WORK/eval-rl-matched.jsonl"
    else
      stage "eval GRPO at step $CONTROL_STEPS (the controls' budget)"
      eval_model "$WORK/grpo/checkpoints/step-$(printf %08d "$CONTROL_STEPS")" rl-matched
    fi
    mark eval-rl-matched
  fi
  for name in rs-sft random-reward; do
    if ! done_mark "eval-$name"; then
      stage "eval $name"
      eval_model "$(latest "$WORK/$name")" "$name"
      mark "eval-$name"
    fi
  done
fi

stage "ship $RL -> $SHIP"
mkdir -p "$SHIP"
cp "$RL/config.json" "$RL/model.safetensors" "$RL/tokenizer.json" "$RL/tokenizer_config.json" "$SHIP/"
du -sh "$SHIP" >&2
}

main "$@"
