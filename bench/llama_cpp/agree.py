#!/usr/bin/python3
"""Agreement of two engines' logits on the same tokens (float32 [T, vocab] .npy each):
max |difference|, its ratio to the logits' spread, and the positions whose top-1
token (the greedy choice) agrees.   agree.py A.npy B.npy"""
import json
import sys

import numpy as np

a, b = (np.load(p).astype(np.float64) for p in sys.argv[1:3])
if a.shape != b.shape:
    sys.exit(f"agree: shapes {a.shape} and {b.shape} differ")
diff = np.abs(a - b)
top_a, top_b = a.argmax(axis=1), b.argmax(axis=1)
print(json.dumps({
    "positions": a.shape[0], "vocab": a.shape[1],
    "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
    "logit_std": float(a.std()),
    "max_diff_over_std": float(diff.max() / a.std()),
    "top1_agree": int((top_a == top_b).sum()),
    # Where the greedy tokens differ: how far apart A's logits put the two tokens
    # (a near-tie in a random model's logits flips on any rounding).
    "a_gap_where_differ": [float(a[i, top_a[i]] - a[i, top_b[i]]) for i in np.nonzero(top_a != top_b)[0]],
    "top1_a": top_a.tolist(), "top1_b": top_b.tolist(),
}))
