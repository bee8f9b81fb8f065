#!/usr/bin/env bash
# FP8 training gap (issue 5; DeepSeek-V3 report Sec. 3.3 and App. B.1 claim < 0.25 %
# against BF16): the same small DeepSeek-V3-architecture model (MLA, 8 routed
# experts top-2 + 1 shared with bias balancing, MTP depth 1; widths of HIDDEN so
# every Linear's 1x128 / 128x128 FP8 tiles are full when HIDDEN is a multiple of
# 128) trained twice from the same seed on the same batches, in fp32 and with
# --fp8, on the `frugal corpus` reasoning corpus with a byte-level BPE of 512
# tokens (CORPUS=markov: bench/markov_corpus.py's synthetic topic-conditioned
# bigram text instead, whose loss curve is smooth enough to resolve a 0.5 % gap).
# Prints the final train loss (last step, and the mean over the last 50
# steps: the same batches in both runs, so the difference is paired), the
# validation loss of each run, and the validation gap at every evaluation.
#   bench/train_fp8_gap.sh                    # 400 steps, hidden 128, 2 threads: ~6 min on 2 idle cores
#   SEED=3 STEPS=800 HIDDEN=256 WORK=build/fp8-gap-h256-s3 bench/train_fp8_gap.sh
# Environment: BUILD (default build), FRUGAL (default $BUILD/frugal), WORK (default
# $BUILD/fp8-gap), STEPS, HIDDEN (default 128), THREADS, SEED (init and data
# order), MODES (default "fp32 fp8"; fp8-gemm: --fp8-gemm-only, the FP8 GEMMs
# without V3's low-precision activation storage; a mode whose run already
# finished in WORK is kept when KEEP=1, so the fp32 baseline can be reused;
# fp32-control: fp32 with the init std 0.02 -> 0.020001, the noise floor: how far
# a run moves from fp32 under a perturbation 500x smaller than FP8's), CORPUS
# (countdown, the default, or markov), DOCS (markov documents, default 3000).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FRUGAL=${FRUGAL:-$BUILD/frugal}
WORK=${WORK:-$BUILD/fp8-gap}
STEPS=${STEPS:-400}
HIDDEN=${HIDDEN:-128}
THREADS=${THREADS:-2}
SEED=${SEED:-1}
MODES=${MODES:-fp32 fp8}
KEEP=${KEEP:-0}
CORPUS=${CORPUS:-countdown}
DOCS=${DOCS:-3000}
for mode in $MODES; do  # checked before any work
  case $mode in fp32|fp8|fp8-gemm|fp32-control) ;; *) echo "unknown mode $mode (fp32, fp8, fp8-gemm, fp32-control)" >&2; exit 2 ;; esac
done
mkdir -p "$WORK"

if [ ! -f "$WORK/tokenizer/tokenizer.json" ]; then
  case $CORPUS in
    countdown) "$FRUGAL" corpus --docs 3000 --seed 1 -o "$WORK/corpus.jsonl" --text-out "$WORK/corpus.txt" >&2 ;;
    markov) /usr/bin/python3 bench/markov_corpus.py --docs "$DOCS" --seed 1 -o "$WORK/corpus.jsonl" --text-out "$WORK/corpus.txt" ;;
    *) echo "CORPUS must be countdown or markov, got $CORPUS" >&2; exit 2 ;;
  esac
  "$FRUGAL" tokenizer-train --input "$WORK/corpus.txt" --vocab-size 512 -o "$WORK/tokenizer/tokenizer.json" >&2
fi

SHAPE="{\"vocab_size\": 512, \"hidden_size\": $HIDDEN, \"num_hidden_layers\": 3, \"intermediate_size\": $((3 * HIDDEN)),
  \"moe_intermediate_size\": $HIDDEN, \"n_routed_experts\": 8, \"num_experts_per_tok\": 2, \"n_shared_experts\": 1,
  \"n_group\": 1, \"topk_group\": 1, \"first_k_dense_replace\": 1, \"num_attention_heads\": $((HIDDEN / 64)), \"q_lora_rank\": $HIDDEN,
  \"kv_lora_rank\": $((HIDDEN / 2)), \"qk_nope_head_dim\": 32, \"qk_rope_head_dim\": 16, \"v_head_dim\": 32,
  \"num_nextn_predict_layers\": 1, \"max_position_embeddings\": 1024, \"rope_scaling\": null}"
for mode in $MODES; do
  if [ "$KEEP" = 1 ] && [ -f "$WORK/$mode/metrics.jsonl" ] && [ "$(wc -l < "$WORK/$mode/metrics.jsonl")" -ge "$STEPS" ]; then
    echo "$mode: kept the finished run in $WORK/$mode" >&2
    continue
  fi
  rm -rf "$WORK/$mode"
  start=$(date +%s)
  "$FRUGAL" train --like tiny --set "$SHAPE" --data "$WORK/corpus.jsonl" --tokenizer "$WORK/tokenizer" \
    --seq-len 128 --batch 8 --steps "$STEPS" --lr 3e-3 --warmup 40 --min-lr 3e-4 --val-docs 200 \
    --eval-every 100 --seed "$SEED" -t "$THREADS" --no-progress -o "$WORK/$mode" $(case $mode in fp8) echo --fp8;; fp8-gemm) echo --fp8-gemm-only;; fp32-control) echo --init-std 0.020001;; esac) >&2
  echo "$mode: $(( $(date +%s) - start )) s" >&2
done
[ -f "$WORK/fp32/metrics.jsonl" ] || exit 0

/usr/bin/python3 - "$WORK" <<'PY'
import json, os, sys
work = sys.argv[1]
runs, evals = {}, {}
for mode in ("fp32", "fp8", "fp8-gemm", "fp32-control"):
    if not os.path.exists(f"{work}/{mode}/metrics.jsonl"):
        continue
    rows = [json.loads(l) for l in open(f"{work}/{mode}/metrics.jsonl")]
    runs[mode] = {"last": rows[-1]["loss"], "last50": sum(r["loss"] for r in rows[-50:]) / len(rows[-50:]),
                  "val": rows[-1]["val"]["loss"], "val_main": rows[-1]["val"]["main"],
                  "first": rows[0]["loss"], "steps": len(rows)}
    evals[mode] = {r["step"]: r["val"]["main"] for r in rows if "val" in r}
a = runs["fp32"]
for mode in (m for m in runs if m != "fp32"):
    b = runs[mode]
    print(f"{mode} vs fp32, steps {a['steps']}: train loss {a['first']:.4f} -> fp32 {a['last']:.4f}, {mode} {b['last']:.4f}")
    for key, what in (("last", "train loss, last step"), ("last50", "train loss, mean of the last 50 steps"),
                      ("val", "validation objective (main + 0.3 MTP + ...)"), ("val_main", "validation loss, main head")):
        print(f"  {what:40s} fp32 {a[key]:.4f}  {mode} {b[key]:.4f}  gap {100 * (b[key] / a[key] - 1):+.3f} %")
    steps = sorted(set(evals["fp32"]) & set(evals[mode]))
    print("  validation main head gap along the run: " +
          ", ".join(f"step {s} {100 * (evals[mode][s] / evals['fp32'][s] - 1):+.2f} %" for s in steps))
PY
