#!/usr/bin/python3
"""Training throughput of frugal against PyTorch eager on the same model, same run.

Both sides do a whole optimizer step on the same shapes: forward + backward of
the DeepSeek-V3 training objective (main CE + 0.3 * MTP CE + 1e-4 * sequence-wise
balance loss), global-norm clipping at 1.0, AdamW (0.9, 0.95, wd 0.1 on
matrices), and the router-bias sign update (gamma 0.001). frugal runs
build/bench/train_model_bench --optimizer; PyTorch runs the batched model below
(float32, eager, autograd), which is checked at start to give the same loss as
tests/reference/deepseek_train_ref.py (the per-row reference the tests trust) in
float64. The two engines alternate round after round, so a load change on a
shared machine hits both.

  /usr/bin/python3 bench/train_vs_pytorch.py --config /work/shared/bench/train-v3-9m.json \
      [--batch 8 --seq 256 --steps 3 --rounds 3 --threads 1,2 --build build]

GFLOP per step = 6 x (matmul parameters a token passes through) x tokens (MTP
module: its T - k tokens), + 6 x H (d_nope + d_rope + d_v) x T^2 x B per
attention layer (QK^T and PV over the full T x T square, forward + 2 backward).
Matmul parameters: attention projections, dense MLPs, the router, the top-k
routed + shared experts, MTP eh_proj, and the output head (once per head use);
not the embedding (a lookup). % of peak divides by the fp32 FMA peak of the
same thread count measured by train_model_bench --peak (machine_limits.h).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import deepseek_ref as ref  # noqa: E402
import deepseek_train_ref as tref  # noqa: E402


def param_shapes(c):
    """Checkpoint names and shapes of a V3 model with MTP (spec "Checkpoint")."""
    d, H = c.hidden_size, c.num_attention_heads
    dn, dr, dv, r = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank
    s = {"model.embed_tokens.weight": (c.vocab_size, d), "model.norm.weight": (d,), "lm_head.weight": (c.vocab_size, d)}

    def mlp(p, inter):
        s.update({p + "gate_proj.weight": (inter, d), p + "up_proj.weight": (inter, d), p + "down_proj.weight": (d, inter)})

    for i in range(c.num_hidden_layers + c.num_nextn_predict_layers):
        p = f"model.layers.{i}."
        s.update({p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                  p + "self_attn.kv_a_proj_with_mqa.weight": (r + dr, d), p + "self_attn.kv_a_layernorm.weight": (r,),
                  p + "self_attn.kv_b_proj.weight": (H * (dn + dv), r), p + "self_attn.o_proj.weight": (d, H * dv)})
        if c.q_lora_rank:
            s.update({p + "self_attn.q_a_proj.weight": (c.q_lora_rank, d),
                      p + "self_attn.q_a_layernorm.weight": (c.q_lora_rank,),
                      p + "self_attn.q_b_proj.weight": (H * (dn + dr), c.q_lora_rank)})
        else:
            s[p + "self_attn.q_proj.weight"] = (H * (dn + dr), d)
        if c.is_moe_layer(i):
            s.update({p + "mlp.gate.weight": (c.n_routed_experts, d),
                      p + "mlp.gate.e_score_correction_bias": (c.n_routed_experts,)})
            for e in range(c.n_routed_experts):
                mlp(f"{p}mlp.experts.{e}.", c.moe_intermediate_size)
            if c.n_shared_experts:
                mlp(p + "mlp.shared_experts.", c.n_shared_experts * c.moe_intermediate_size)
        else:
            mlp(p + "mlp.", c.intermediate_size)
        if i >= c.num_hidden_layers:
            s.update({p + "enorm.weight": (d,), p + "hnorm.weight": (d,), p + "eh_proj.weight": (d, 2 * d),
                      p + "shared_head.norm.weight": (d,)})
    return s


class Params(dict):
    """name -> leaf tensor; callable like the references' weight getters."""
    dtype = torch.float32

    def __call__(self, name):
        return self[name]


def init_params(c, std, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    P = Params()
    P.dtype = dtype
    for name, shape in param_shapes(c).items():
        if name.endswith("e_score_correction_bias"):
            t = torch.zeros(shape, dtype=dtype)
        elif len(shape) == 1:
            t = torch.ones(shape, dtype=dtype).requires_grad_()
        else:
            t = (torch.randn(shape, generator=g, dtype=torch.float32) * std).to(dtype).requires_grad_()
        P[name] = t
    return P


def rope(x, cos, sin):
    """Interleaved pairs of the last dim; x [B, T, ..., dr], cos/sin [T, dr/2]."""
    shape, T = x.shape, x.shape[1]
    pairs = x.reshape(*shape[:-1], shape[-1] // 2, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    extra = (1,) * (x.dim() - 3)
    co, si = cos.view(1, T, *extra, -1), sin.view(1, T, *extra, -1)
    return torch.stack((a * co - b * si, a * si + b * co), dim=-1).reshape(shape)


def mla(P, p, x, c, cos, sin):
    """Naive MLA over a batch, x [B, T, d] (normed), causal."""
    B, T, _ = x.shape
    H, dn, dr, dv, r, eps = (c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim,
                             c.kv_lora_rank, c.rms_norm_eps)
    if c.q_lora_rank:
        q = ref.linear(ref.rms_norm(ref.linear(x, P[p + "q_a_proj.weight"]), P[p + "q_a_layernorm.weight"], eps),
                       P[p + "q_b_proj.weight"])
    else:
        q = ref.linear(x, P[p + "q_proj.weight"])
    q = q.view(B, T, H, dn + dr)
    q = torch.cat([q[..., :dn], rope(q[..., dn:], cos, sin)], dim=-1)
    kv_a = ref.linear(x, P[p + "kv_a_proj_with_mqa.weight"])
    c_kv = ref.rms_norm(kv_a[..., :r], P[p + "kv_a_layernorm.weight"], eps)
    k_pe = rope(kv_a[..., r:], cos, sin)  # [B, T, dr], shared by the heads
    kv = ref.linear(c_kv, P[p + "kv_b_proj.weight"]).view(B, T, H, dn + dv)
    k = torch.cat([kv[..., :dn], k_pe.unsqueeze(2).expand(B, T, H, dr)], dim=-1)
    qh, kh, vh = q.transpose(1, 2), k.transpose(1, 2), kv[..., dn:].transpose(1, 2)  # [B, H, T, .]
    mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
    probs = torch.softmax(qh @ kh.transpose(-1, -2) * ref.softmax_scale(c) + mask, dim=-1)
    return ref.linear((probs @ vh).transpose(1, 2).reshape(B, T, H * dv), P[p + "o_proj.weight"])


def moe(P, p, x, c):
    """DeepSeekMoE over a batch: output, mean over rows of sum_i f_i P_i, tokens per expert."""
    B, T, d = x.shape
    E, K = c.n_routed_experts, c.num_experts_per_tok
    flat = x.reshape(B * T, d)
    experts, weights = ref.route(P, p, flat, c)
    scores = torch.sigmoid(ref.linear(flat, P[p + "gate.weight"])) if c.scoring_func == "sigmoid" else \
        torch.softmax(ref.linear(flat, P[p + "gate.weight"]), dim=-1)
    y = torch.zeros_like(flat)
    for e in range(E):
        rows, slot = torch.nonzero(experts == e, as_tuple=True)
        if rows.numel():
            y = y.index_add(0, rows, ref.mlp(P, f"{p}experts.{e}.", flat[rows]) * weights[rows, slot].unsqueeze(-1))
    if c.n_shared_experts:
        y = y + ref.mlp(P, p + "shared_experts.", flat)
    cnt = torch.zeros(B, E, dtype=x.dtype).scatter_add_(1, experts.view(B, T * K), torch.ones(B, T * K, dtype=x.dtype))
    f = E / (K * T) * cnt
    Pi = (scores / scores.sum(-1, keepdim=True)).view(B, T, E).mean(1)
    return y.view(B, T, d), (f * Pi).sum(-1).mean(), cnt.sum(0)


def block(P, i, h, c, cos, sin):
    p, eps = f"model.layers.{i}.", c.rms_norm_eps
    h = h + mla(P, p + "self_attn.", ref.rms_norm(h, P[p + "input_layernorm.weight"], eps), c, cos, sin)
    x = ref.rms_norm(h, P[p + "post_attention_layernorm.weight"], eps)
    if c.is_moe_layer(i):
        f, bal, load = moe(P, p + "mlp.", x, c)
        return h + f, bal, load
    return h + ref.mlp(P, p + "mlp.", x), None, None


def objective(P, c, tokens, labels, doc, lam, alpha):
    """The same objective as deepseek_train_ref.training_loss, batched; + loads of the main MoE layers."""
    B, T = tokens.shape
    L, D, eps = c.num_hidden_layers, c.num_nextn_predict_layers, c.rms_norm_eps
    emb, head = P["model.embed_tokens.weight"], P["lm_head.weight"]
    cos, sin = (t.to(P.dtype) for t in ref.rope_tables(c, T))
    h, bal, loads = emb[tokens], 0, {}
    for i in range(L):
        h, b, load = block(P, i, h, c, cos, sin)
        if b is not None:
            bal, loads[i] = bal + b, load
    hf = ref.rms_norm(h, P["model.norm.weight"], eps)
    main = F.cross_entropy(ref.linear(hf, head).view(B * T, -1), labels.reshape(-1), ignore_index=-1)
    mtp, prev = 0, hf
    for k in range(1, D + 1):
        Tk, p = T - k, f"model.layers.{L + k - 1}."
        e = ref.rms_norm(emb[tokens[:, k:]], P[p + "enorm.weight"], eps)
        x = ref.linear(torch.cat([e, ref.rms_norm(prev[:, :Tk], P[p + "hnorm.weight"], eps)], dim=-1),
                       P[p + "eh_proj.weight"])
        hk, b, _ = block(P, L + k - 1, x, c, cos[:Tk], sin[:Tk])
        if b is not None:
            bal = bal + b
        tgt = labels[:, k:].clone()
        tgt[doc[:, k:] != doc[:, :Tk]] = -1
        logits = ref.linear(ref.rms_norm(hk, P[p + "shared_head.norm.weight"], eps), head)
        mtp = mtp + F.cross_entropy(logits.reshape(B * Tk, -1), tgt.reshape(-1), ignore_index=-1)
        prev = hk
    mtp = mtp / D if D else mtp
    return main + lam * mtp + alpha * bal, loads


def make_batch(c, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, c.vocab_size, (B, T), generator=g)
    labels = torch.cat([tokens[:, 1:], torch.full((B, 1), -1)], dim=1)
    doc = (torch.arange(T) // 64).expand(B, T).contiguous()  # documents of 64 tokens, as train_model_bench
    return tokens, labels, doc


def check_against_reference(c):
    """The batched objective equals the per-row reference's in float64 (same weights, batch)."""
    P = init_params(c, 0.02, 3, torch.float64)
    tokens, labels, doc = make_batch(c, 2, 80, 4)
    loss, _ = objective(P, c, tokens, labels, doc, 0.3, 1e-4)
    batch = {"B": 2, "T": 80, "tokens": tokens.flatten().tolist(), "labels": labels.flatten().tolist(),
             "doc": doc.flatten().tolist()}
    want, _ = tref.training_loss(P, c, batch, 0.3, 1e-4, 0.0)
    rel = abs(float(loss) / float(want) - 1)
    if rel > 1e-10:
        sys.exit(f"the batched PyTorch model differs from deepseek_train_ref.py: loss {float(loss)} vs {float(want)}")
    return rel


class TorchTrainer:
    def __init__(self, c, B, T):
        self.c = c
        self.P = init_params(c, 0.006, 1)
        self.batch = make_batch(c, B, T, 1)
        trained = [(n, t) for n, t in self.P.items() if t.requires_grad]
        self.trained = [t for _, t in trained]
        decay = [t for n, t in trained if t.dim() == 2 and n not in ("model.embed_tokens.weight", "lm_head.weight")]
        other = [t for n, t in trained if not (t.dim() == 2 and n not in ("model.embed_tokens.weight", "lm_head.weight"))]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                     lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss, loads = objective(self.P, self.c, *self.batch, 0.3, 1e-4)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trained, 1.0)
        self.opt.step()
        with torch.no_grad():
            for i, cnt in loads.items():
                self.P[f"model.layers.{i}.mlp.gate.e_score_correction_bias"].add_(0.001 * torch.sign(cnt.mean() - cnt))
        return float(loss)

    def timed(self, steps, threads):
        torch.set_num_threads(threads)
        self.step()  # warm-up
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            self.step()
            times.append(time.perf_counter() - t0)
        return times


def step_gflop(c, B, T):
    d, H = c.hidden_size, c.num_attention_heads
    dn, dr, dv, r, q = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim, c.kv_lora_rank, c.q_lora_rank
    attn = (q * d + H * (dn + dr) * q if q else H * (dn + dr) * d) + (r + dr) * d + H * (dn + dv) * r + H * dv * d

    def ffn(i):
        if not c.is_moe_layer(i):
            return 3 * d * c.intermediate_size
        return c.n_routed_experts * d + 3 * d * c.moe_intermediate_size * (c.num_experts_per_tok + (c.n_shared_experts or 0))

    head = c.vocab_size * d
    L, D = c.num_hidden_layers, c.num_nextn_predict_layers
    flop = 6 * B * T * (sum(attn + ffn(i) for i in range(L)) + head)
    flop += 6 * H * (dn + dr + dv) * B * T * T * L
    for k in range(1, D + 1):
        Tk = T - k
        flop += 6 * B * Tk * (2 * d * d + attn + ffn(L + k - 1) + head)
        flop += 6 * H * (dn + dr + dv) * B * Tk * Tk
    return flop / 1e9


def torch_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if any(k in path for k in ("blas", "lapack", "gomp", "mkl")):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--build", default="build")
    ap.add_argument("--idle-peak", default="",
                    help="THREADS:GFLOPS,... FMA peaks measured on the idle machine (docs/performance.md: 1:117,2:234), "
                         "for a second %% column: a peak measured under load is too low")
    a = ap.parse_args()
    with open(a.config) as f:
        c = ref.Config(json.load(f))
    threads = [int(t) for t in a.threads.split(",")]
    B, T = a.batch, a.seq
    rel = check_against_reference(c)
    gflop = step_gflop(c, B, T)
    n_params = sum(math.prod(s) for s in param_shapes(c).values())
    tt = TorchTrainer(c, B, T)
    print(f"# {a.config}: {n_params / 1e6:.2f}M parameters, batch {B} x {T}, {gflop:.1f} GFLOP per step; "
          f"batched torch model = reference (float64 loss, relative {rel:.1e})")
    print(f"# torch {torch.__version__}, BLAS/OpenMP libraries mapped: {', '.join(torch_blas())}")
    print("# " + torch.__config__.show().replace("\n", "\n# ").rstrip("# "))
    res = {(e, t): [] for e in ("frugal", "torch") for t in threads}
    peak = {}
    bench = os.path.join(a.build, "bench", "train_model_bench")
    for rnd in range(a.rounds):
        for t in threads:
            cmd = [bench, a.config, str(B), str(T), str(a.steps), str(t), "--optimizer", "--json", "--peak"]
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            peak[t] = max(peak.get(t, 0), out["fma_gflop_per_s"])  # best of the rounds: load only lowers it
            res[("frugal", t)].append(out["mean_s"])
            res[("torch", t)].append(statistics.mean(tt.timed(a.steps, t)))
            print(f"# round {rnd + 1}, {t} thread(s): frugal {B * T / res[('frugal', t)][-1]:.0f} tokens/s, "
                  f"torch {B * T / res[('torch', t)][-1]:.0f} tokens/s", flush=True)
    idle = {int(k): float(v) for k, v in (x.split(":") for x in a.idle_peak.split(",") if x)}
    print("\n| engine | threads | s / step (median of rounds) | tokens/s | GFLOP/s | % of FMA peak (in-run) | "
          "% of idle peak | frugal / torch |")
    print("|---|---|---|---|---|---|---|---|")
    for t in threads:
        for e in ("frugal", "torch"):
            s = statistics.median(res[(e, t)])
            ratio = statistics.median(res[("torch", t)]) / statistics.median(res[("frugal", t)])
            idle_pct = f"{100 * gflop / s / idle[t]:.0f} % (of {idle[t]:.0f})" if t in idle else ""
            print(f"| {e} | {t} | {s:.3f} | {B * T / s:.0f} | {gflop / s:.1f} | {100 * gflop / s / peak[t]:.0f} % "
                  f"(of {peak[t]:.0f}) | {idle_pct} | {f'{ratio:.2f}x' if e == 'frugal' else ''} |")


if __name__ == "__main__":
    main()
