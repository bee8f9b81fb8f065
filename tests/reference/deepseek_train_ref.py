#!/usr/bin/python3
"""Independent PyTorch autograd reference of the DeepSeek-V2 / V3 training loss.

Written from the project spec (/work/shared/spec/training.md, deepseek-v3.md)
and the trainer contract (src/train/trainable.h); the forward building blocks
(MLA, RoPE/YaRN, routing, SwiGLU) are those of deepseek_ref.py, which is itself
checked against DeepSeek's official code. Autograd gives every gradient.

Objective, for a batch of B packed rows of T tokens (tokens, labels, doc):
  L = L_main + lambda / D * sum_k L_k + alpha * L_bal + z * L_z
  L_main  mean over targets != -1 of cross-entropy(logits_t, labels_t)
  L_k     MTP depth k = 1..D: module k (layer num_hidden_layers + k - 1) runs on
          the first T - k positions of each row; position i reads
          h^{k-1}_i (k = 1: the main model's final-normed hidden state; k > 1:
          the block output of module k - 1) and embed(tokens[i + k]); its target
          is labels[i + k], masked (-1) when doc[i + k] != doc[i]. Mean over its
          unmasked targets. Embedding and head are the main model's.
  L_bal   sum over MoE layers (main and MTP) of the mean over rows of
          sum_i f_i P_i, f_i = N_r / (K_r T) * #tokens of the row routed to i
          (no gradient), P_i = mean_t s_i,t / sum_j s_j,t (V3 eqs. 17-20)
  L_z     mean over main targets of logsumexp(logits_t)^2
Gradients are of grad_scale * L. Attention is causal over each whole row
(positions 0..T-1); rows are independent sequences.

CLI:
  /usr/bin/python3 deepseek_train_ref.py --model DIR --batch batch.json --out DIR
      [--double] [--mtp-lambda 0.3] [--alpha 0] [--z 0] [--grad-scale 1]
batch.json: {"B": B, "T": T, "tokens": [...], "labels": [...], "doc": [...]}
Writes OUT/losses.json {loss, main, mtp, balance, z, tokens} and
OUT/grad/<tensor name>.npy (float64) for every tensor that has a gradient.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

import deepseek_ref as ref


class Params:
    """Every checkpoint tensor as a leaf tensor; the router bias gets no gradient."""

    def __init__(self, ckpt, dtype):
        self.t = {}
        for name in ckpt.entries:
            v = ckpt.get(name, dtype).clone()
            v.requires_grad_(not name.endswith("e_score_correction_bias"))
            self.t[name] = v
        self.dtype = dtype

    def __call__(self, name):
        return self.t[name]

    def __contains__(self, name):
        return name in self.t


def nodump(name, t):
    pass


def moe_train(W, p, x, cfg):
    """MoE output, this row's balance term sum_i f_i P_i and the tokens routed
    to each expert (int64 [E]). x [T, d]."""
    experts, weights = ref.route(W, p, x, cfg)  # gradients through the chosen experts' gating weights
    logits = ref.linear(x, W(p + "gate.weight"))
    scores = torch.sigmoid(logits) if cfg.scoring_func == "sigmoid" else torch.softmax(logits, dim=-1)
    y = torch.zeros_like(x)
    for e in sorted(set(experts.flatten().tolist())):
        rows, slot = torch.nonzero(experts == e, as_tuple=True)
        y = y.index_add(0, rows, ref.mlp(W, f"{p}experts.{e}.", x[rows]) * weights[rows, slot].unsqueeze(-1))
    if cfg.n_shared_experts:
        y = y + ref.mlp(W, p + "shared_experts.", x)
    T, E, K = x.shape[0], cfg.n_routed_experts, cfg.num_experts_per_tok
    counts = torch.bincount(experts.flatten(), minlength=E).to(x.dtype)
    f = (E / (K * T)) * counts  # no gradient: built from the discrete choice
    P = (scores / scores.sum(-1, keepdim=True)).mean(0)
    return y, (f * P).sum(), counts.to(torch.int64)


def layer(W, i, h, cfg, cos, sin):
    """Pre-norm decoder block; returns (h, balance term or None, expert counts or None)."""
    p = f"model.layers.{i}."
    eps = cfg.rms_norm_eps
    h = h + ref.mla_attention(W, p + "self_attn.", ref.rms_norm(h, W(p + "input_layernorm.weight"), eps), cfg, cos,
                              sin, "naive", nodump, "")
    x = ref.rms_norm(h, W(p + "post_attention_layernorm.weight"), eps)
    if cfg.is_moe_layer(i):
        f, bal, counts = moe_train(W, p + "mlp.", x, cfg)
        return h + f, bal, counts
    return h + ref.mlp(W, p + "mlp.", x), None, None


def head(W, cfg):
    return W("model.embed_tokens.weight") if cfg.tie_word_embeddings or "lm_head.weight" not in W else W("lm_head.weight")


def ce_sum(logits, targets):
    """Sum of CE over targets != -1, their count, sum of logsumexp^2 over them."""
    keep = targets >= 0
    if not bool(keep.any()):
        return logits.sum() * 0, 0, logits.sum() * 0
    lg, tg = logits[keep], targets[keep]
    lse = torch.logsumexp(lg, dim=-1)
    return F.cross_entropy(lg, tg, reduction="sum"), int(keep.sum()), (lse * lse).sum()


def add_load(loads, i, counts):
    if loads is not None:
        loads[i] = loads[i] + counts if i in loads else counts


def training_loss(W, cfg, batch, mtp_lambda, alpha, zc, loads=None):
    """The objective and its parts; `loads`, when given, gets {layer index: int64
    [E] tokens routed to each expert over the batch} of every MoE layer (MTP
    modules numbered after the main layers)."""
    B, T = batch["B"], batch["T"]
    tokens = torch.tensor(batch["tokens"], dtype=torch.long).view(B, T)
    labels = torch.tensor(batch["labels"], dtype=torch.long).view(B, T)
    doc = torch.tensor(batch["doc"], dtype=torch.long).view(B, T)
    L, D, eps = cfg.num_hidden_layers, cfg.num_nextn_predict_layers, cfg.rms_norm_eps
    emb, out = W("model.embed_tokens.weight"), head(W, cfg)
    zero = emb.sum() * 0
    main_sum, main_n, z_sum, bal = zero, 0, zero, zero
    mtp_sum, mtp_n = [zero] * D, [0] * D
    for b in range(B):
        cos, sin = (t.to(W.dtype) for t in ref.rope_tables(cfg, T))
        h = emb[tokens[b]]
        for i in range(L):
            h, lb, counts = layer(W, i, h, cfg, cos, sin)
            if lb is not None:
                bal = bal + lb / B
                add_load(loads, i, counts)
        hf = ref.rms_norm(h, W("model.norm.weight"), eps)
        s, n, z = ce_sum(ref.linear(hf, out), labels[b])
        main_sum, main_n, z_sum = main_sum + s, main_n + n, z_sum + z
        prev = hf
        for k in range(1, D + 1):
            Tk = T - k
            if Tk <= 0:
                break
            p = f"model.layers.{L + k - 1}."
            e = ref.rms_norm(emb[tokens[b, k:k + Tk]], W(p + "enorm.weight"), eps)
            hp = ref.rms_norm(prev[:Tk], W(p + "hnorm.weight"), eps)
            x = ref.linear(torch.cat([e, hp], dim=-1), W(p + "eh_proj.weight"))
            ck, sk = (t.to(W.dtype) for t in ref.rope_tables(cfg, Tk))
            hk, lb, counts = layer(W, L + k - 1, x, cfg, ck, sk)
            if lb is not None:
                bal = bal + lb / B
                add_load(loads, L + k - 1, counts)
            tgt = labels[b, k:k + Tk].clone()
            tgt[doc[b, k:k + Tk] != doc[b, :Tk]] = -1
            s, n, _ = ce_sum(ref.linear(ref.rms_norm(hk, W(p + "shared_head.norm.weight"), eps), out), tgt)
            mtp_sum[k - 1], mtp_n[k - 1] = mtp_sum[k - 1] + s, mtp_n[k - 1] + n
            prev = hk
    main = main_sum / max(main_n, 1)
    z = z_sum / max(main_n, 1)
    mtp = sum(mtp_sum[k] / max(mtp_n[k], 1) for k in range(D)) / D if D else zero
    loss = main + mtp_lambda * mtp + alpha * bal + zc * z
    parts = {"main": float(main), "mtp": float(mtp), "balance": float(bal), "z": float(z), "tokens": main_n}
    return loss, parts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--double", action="store_true")
    ap.add_argument("--mtp-lambda", type=float, default=0.3)
    ap.add_argument("--alpha", type=float, default=0.0)
    ap.add_argument("--z", type=float, default=0.0)
    ap.add_argument("--grad-scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    cfg = ref.load_config(args.model)
    W = Params(ref.Checkpoint(args.model, cfg.block), torch.float64 if args.double else torch.float32)
    with open(args.batch) as f:
        batch = json.load(f)
    loss, parts = training_loss(W, cfg, batch, args.mtp_lambda, args.alpha, args.z)
    (loss * args.grad_scale).backward()
    os.makedirs(os.path.join(args.out, "grad"), exist_ok=True)
    for name, t in W.t.items():
        if t.requires_grad:
            g = t.grad if t.grad is not None else torch.zeros_like(t)
            np.save(os.path.join(args.out, "grad", name + ".npy"), g.detach().to(torch.float64).numpy())
    parts["loss"] = float(loss)
    with open(os.path.join(args.out, "losses.json"), "w") as f:
        json.dump(parts, f)


if __name__ == "__main__":
    main()
