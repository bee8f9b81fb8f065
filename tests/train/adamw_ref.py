#!/usr/bin/env python3
# Independent reference for tests/train/test_adamw.cpp: AdamW as written in
# Loshchilov & Hutter (Algorithm 2, decoupled decay scaled by the learning rate,
# PyTorch's convention) with global-norm clipping, in float64 NumPy.
# Usage: adamw_ref.py DIR   (DIR/case.json lists tensors, steps, hyper-parameters)
import json, sys
import numpy as np

d = sys.argv[1]
case = json.load(open(f"{d}/case.json"))
b1, b2, eps, wd, clip = case["beta1"], case["beta2"], case["eps"], case["weight_decay"], case["clip"]
names = case["tensors"]
p = [np.load(f"{d}/p0_{k}.npy").astype(np.float64) for k in range(len(names))]
m = [np.zeros_like(x) for x in p]
v = [np.zeros_like(x) for x in p]
norms = []
for s, lr in enumerate(case["lrs"]):
    g = [np.load(f"{d}/g_{s}_{k}.npy").astype(np.float64) for k in range(len(names))]
    upd = [not t["router_bias"] for t in names]
    norm = np.sqrt(sum(float((g[k] ** 2).sum()) for k in range(len(names)) if upd[k]))
    norms.append(norm)
    scale = clip / (norm + 1e-6) if clip > 0 and norm > clip else 1.0
    t = s + 1
    for k in range(len(names)):
        if not upd[k]:
            continue
        gk = g[k] * scale
        m[k] = b1 * m[k] + (1 - b1) * gk
        v[k] = b2 * v[k] + (1 - b2) * gk * gk
        mhat = m[k] / (1 - b1 ** t)
        vhat = v[k] / (1 - b2 ** t)
        if names[k]["decay"]:
            p[k] = p[k] - lr * wd * p[k]
        p[k] = p[k] - lr * mhat / (np.sqrt(vhat) + eps)
    for k in range(len(names)):
        np.save(f"{d}/want_{s}_{k}.npy", p[k].astype(np.float32))
np.save(f"{d}/norms.npy", np.array(norms, dtype=np.float64))
