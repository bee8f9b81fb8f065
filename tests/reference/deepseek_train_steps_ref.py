#!/usr/bin/python3
"""N optimizer steps of DeepSeek-V3 training in PyTorch: the reference the
trainer's first steps are checked against (tests/train_model/test_train_steps_pytorch.cpp).

Written from the spec (/work/shared/spec/training.md) and the documented
choices of docs/training.md / docs/training-model.md, with PyTorch's own
optimizer and clipping:
  loss     deepseek_train_ref.training_loss (autograd): L_main + lambda * mean_k L_k
           + alpha * L_bal + z * L_z
  clip     torch.nn.utils.clip_grad_norm_(every optimized tensor, clip)
  AdamW    torch.optim.AdamW(betas, eps), two groups: weight decay on 2-D
           tensors except model.embed_tokens.weight and lm_head.weight (projection,
           expert and router matrices); none on norms. The router bias
           e_score_correction_bias is not in the optimizer.
  LR       step s (0-based): lr (s+1)/warmup during warm-up, then lr for `constant`
           steps, then min_lr + (lr - min_lr)(1 + cos(pi d / decay)) / 2 with d the
           step within the decay, then min_lr (V3 report Sec. 4.2's shape).
  balance  after each step, for every MoE layer of the main model (the MTP
           modules' routers keep their bias, the trainer's documented choice):
           c_i = tokens routed to expert i over the step's batch,
           b_i += gamma * sign(mean(c) - c_i)  (auxiliary-loss-free balancing,
           arXiv 2408.15664); with --bias-zero-mean the update's mean is
           subtracted; with --bias-accumulate K the loads are summed over K steps
           and the bias moves after every K-th step.
  accum    --accum A: each step is A consecutive batches of the file; the
           objective is the mean of their losses (gradients of loss / A summed),
           the loads of the step are summed over them.

CLI:
  /usr/bin/python3 deepseek_train_steps_ref.py --model DIR --batches batches.json --out DIR
      [--double] [--lr 1e-3 --warmup 0 --constant 0 --decay 0 --min-lr 0]
      [--beta1 0.9 --beta2 0.95 --eps 1e-8 --weight-decay 0.1 --clip 1]
      [--mtp-lambda 0.3 --alpha 0 --z 0 --gamma 0.001 --bias-zero-mean --bias-accumulate 1 --accum 1]
batches.json: [{"B", "T", "tokens", "labels", "doc"}, ...], --accum per step.
Writes OUT/steps.json: per step {lr, loss, main, mtp, balance, z, tokens,
grad_norm, expert_load: [[..] per main MoE layer]}, and OUT/final/<name>.npy
(float64): every tensor after the last step.
"""
import argparse
import json
import math
import os

import numpy as np
import torch

import deepseek_ref as ref
import deepseek_train_ref as tref


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    step -= a.warmup
    if step < a.constant:
        return a.lr
    step -= a.constant
    if step < a.decay:
        return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * step / a.decay))
    return a.min_lr


def decays(name, t):
    return t.dim() == 2 and name not in ("model.embed_tokens.weight", "lm_head.weight")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--double", action="store_true")
    for flag, default in [("lr", 1e-3), ("min-lr", 0.0), ("beta1", 0.9), ("beta2", 0.95), ("eps", 1e-8),
                          ("weight-decay", 0.1), ("clip", 1.0), ("mtp-lambda", 0.3), ("alpha", 0.0), ("z", 0.0),
                          ("gamma", 0.001)]:
        ap.add_argument("--" + flag, type=float, default=default)
    for flag in ("warmup", "constant", "decay"):
        ap.add_argument("--" + flag, type=int, default=0)
    ap.add_argument("--accum", type=int, default=1)
    ap.add_argument("--bias-accumulate", type=int, default=1)
    ap.add_argument("--bias-zero-mean", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    cfg = ref.load_config(a.model)
    W = tref.Params(ref.Checkpoint(a.model, cfg.block), torch.float64 if a.double else torch.float32)
    with open(a.batches) as f:
        batches = json.load(f)

    trained = [(n, t) for n, t in W.t.items() if t.requires_grad]
    groups = [{"params": [t for n, t in trained if decays(n, t)], "weight_decay": a.weight_decay},
              {"params": [t for n, t in trained if not decays(n, t)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps)
    L = cfg.num_hidden_layers
    steps, pending, pending_steps = [], {}, 0
    for s in range(len(batches) // a.accum):
        opt.zero_grad(set_to_none=True)
        loads, parts = {}, {}
        for batch in batches[s * a.accum:(s + 1) * a.accum]:
            micro = {}
            loss, p = tref.training_loss(W, cfg, batch, a.mtp_lambda, a.alpha, a.z, micro)
            (loss / a.accum).backward()
            p["loss"] = float(loss)
            for k, v in p.items():
                parts[k] = parts.get(k, 0) + (v if k == "tokens" else v / a.accum)
            for i, c in micro.items():
                loads[i] = loads[i] + c if i in loads else c
        for _, t in trained:  # an expert no token chose: a zero gradient (dense buffers), so AdamW
            if t.grad is None:  # still decays it and applies its moments, as torch does for zeros
                t.grad = torch.zeros_like(t)
        norm = torch.nn.utils.clip_grad_norm_([t for _, t in trained], a.clip)
        lr = lr_at(s, a)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        main_layers = sorted(i for i in loads if i < L)
        for i in main_layers:
            pending[i] = pending[i] + loads[i] if i in pending else loads[i]
        pending_steps += 1
        if pending_steps == a.bias_accumulate:
            with torch.no_grad():
                for i in main_layers:
                    c = pending[i].to(W.dtype)
                    u = a.gamma * torch.sign(c.mean() - c)
                    if a.bias_zero_mean:
                        u = u - u.mean()
                    W(f"model.layers.{i}.mlp.gate.e_score_correction_bias").add_(u)
            pending, pending_steps = {}, 0
        parts.update(lr=lr, grad_norm=float(norm), expert_load=[loads[i].tolist() for i in main_layers])
        steps.append(parts)

    os.makedirs(os.path.join(a.out, "final"), exist_ok=True)
    for name, t in W.t.items():
        np.save(os.path.join(a.out, "final", name + ".npy"), t.detach().to(torch.float64).numpy())
    with open(os.path.join(a.out, "steps.json"), "w") as f:
        json.dump(steps, f)


if __name__ == "__main__":
    main()
