#!/usr/bin/env python3
"""Summarizes bench/train_fp8_gap.sh runs over several seeds: the validation
loss gap of each mode against fp32 on the same seed (paired), its mean over the
seeds, the standard error and a 95 % interval (Student t).

  bench/fp8_gap_summary.py build/fp8-gap-s1 build/fp8-gap-s2 ...   # WORK folders, one per seed
  bench/fp8_gap_summary.py --last 5 DIRS...   # gap of the mean of the last 5 evaluations
"""
import argparse
import json
import math
import os
import statistics

# two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
       2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def val_losses(path):
    rows = [json.loads(line) for line in open(path)]
    return [(r["step"], r["val"]["main"]) for r in rows if "val" in r]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--last", type=int, default=1, help="average the last N evaluations of each run")
    a = ap.parse_args()
    gaps = {}
    for d in a.dirs:
        base = os.path.join(d, "fp32", "metrics.jsonl")
        if not os.path.exists(base):
            continue
        ref = val_losses(base)
        for mode in ("fp8", "fp8-gemm", "fp32-control"):
            path = os.path.join(d, mode, "metrics.jsonl")
            if not os.path.exists(path):
                continue
            got = val_losses(path)
            if len(got) != len(ref) or not got:
                print(f"{d}: {mode} unfinished ({len(got)} of {len(ref)} evaluations), left out")
                continue
            r = statistics.fmean(v for _, v in ref[-a.last:])
            g = statistics.fmean(v for _, v in got[-a.last:])
            gaps.setdefault(mode, []).append((os.path.basename(d.rstrip("/")), r, g, 100 * (g / r - 1)))
    for mode, rows in gaps.items():
        print(f"{mode} vs fp32 (validation loss of the main head, mean of the last {a.last} evaluation(s)):")
        for name, r, g, gap in rows:
            print(f"  {name:20s} fp32 {r:.4f}  {mode} {g:.4f}  gap {gap:+.3f} %")
        xs = [gap for *_, gap in rows]
        n = len(xs)
        mean = statistics.fmean(xs)
        if n > 1:
            se = statistics.stdev(xs) / math.sqrt(n)
            t = T95[min(n - 1, len(T95)) - 1]
            print(f"  {n} seeds: mean gap {mean:+.3f} %, sd {statistics.stdev(xs):.3f}, standard error {se:.3f}, "
                  f"95 % interval [{mean - t * se:+.3f}, {mean + t * se:+.3f}] %")
        else:
            print(f"  1 seed: gap {mean:+.3f} %")


if __name__ == "__main__":
    main()
