#!/usr/bin/env python3
"""Paired comparison of two `frugal eval --out` files on the same problems.

Usage: eval_compare.py A.jsonl B.jsonl [--k 1,4,16] [--boot 10000] [--seed 1] [--lines FROM:TO]

For each k: pass@k of A and of B (the unbiased estimator of the Codex paper,
1 - C(n - c, k) / C(n, k) per problem, averaged), their difference B - A, and a
95 % interval for the difference from a paired bootstrap over problems (the
problems are resampled, the same draw for A and B). Greedy accuracy is
compared the same way. Problems are matched by (numbers, target). --lines keeps
the problems of lines FROM..TO-1 of each file (0-based; either end may be
omitted), e.g. `--lines 200:` for the problems beyond a first 200 on which a
decision was already made (`frugal eval --n` draws the same problems first).
"""
import argparse
import json
import random
from math import comb


def load(path, first, last):
    rows = {}
    with open(path) as f:
        for i, line in enumerate(f):
            if i < first or (last is not None and i >= last):
                continue
            r = json.loads(line)
            rows[(tuple(r["numbers"]), r["target"])] = r
    return rows


def pass_at_k(n, c, k):
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--k", default="1,4,16")
    ap.add_argument("--boot", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", default=":")
    args = ap.parse_args()
    lo, _, hi = args.lines.partition(":")
    first, last = int(lo) if lo else 0, int(hi) if hi else None
    A, B = load(args.a, first, last), load(args.b, first, last)
    keys = sorted(set(A) & set(B))
    if not keys:
        raise SystemExit("no problem in common")
    if len(keys) != len(A) or len(keys) != len(B):
        print(f"note: {len(keys)} problems in common ({len(A)} in A, {len(B)} in B)")
    rng = random.Random(args.seed)
    draws = [[rng.randrange(len(keys)) for _ in keys] for _ in range(args.boot)]

    def compare(name, fa, fb):
        va = [fa(A[k]) for k in keys]
        vb = [fb(B[k]) for k in keys]
        d = [y - x for x, y in zip(va, vb)]
        boot = sorted(sum(d[i] for i in draw) / len(d) for draw in draws)
        lo, hi = boot[int(0.025 * len(boot))], boot[int(0.975 * len(boot)) - 1]
        ma, mb = sum(va) / len(va), sum(vb) / len(vb)
        print(f"{name:>10}: A {100 * ma:5.1f}  B {100 * mb:5.1f}  B - A {100 * (mb - ma):+5.1f}"
              f"  95% CI [{100 * lo:+5.1f}, {100 * hi:+5.1f}]")

    print(f"{len(keys)} problems; A = {args.a}; B = {args.b}")
    compare("greedy", lambda r: float(r["correct"]), lambda r: float(r["correct"]))
    for k in [int(x) for x in args.k.split(",")]:
        compare(f"pass@{k}", lambda r, k=k: pass_at_k(r["samples"], r["samples_correct"], k),
                lambda r, k=k: pass_at_k(r["samples"], r["samples_correct"], k))


if __name__ == "__main__":
    main()
