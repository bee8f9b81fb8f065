#!/usr/bin/python3
"""Checks of bench/llama_cpp/to_gguf.py without llama.cpp or network:

1. Block encoding: to_gguf's Q8_0 / Q4_0 quantizer, applied to the bf16
   source tensors, gives byte for byte the blocks that `frugal quantize`
   (C++, src/kernels/quantize.cpp) wrote; the decoded values stay within the
   format's bound of the source (Q8_0: |d| / 2, Q4_0: |d|).
2. The GGUF of a frugal-quantized checkpoint, read back with an independent
   reader of the GGUF spec below: the tensors llama.cpp's deepseek2 loader asks
   for, with its shapes; every block tensor is frugal's bytes verbatim (experts
   stacked along ne[2], attn_v_b the v rows of kv_b_proj); attn_k_b (--k-b f32)
   is the k rows of the dequantized kv_b_proj transposed per head; the metadata.
3. to_gguf --type q8_0 on the bf16 checkpoint writes the same tensors as (2).

  test_to_gguf.py FRUGAL_BINARY WORK_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import to_gguf  # noqa: E402

FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")


# ---- a GGUF reader from the spec (ggml docs/gguf.md), independent of to_gguf's writer

def read_gguf(path):
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert buf[:4] == b"GGUF", "magic"
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        infos.append((name, ne, take("<I"), take("<Q")))
    align = kv.get("general.alignment", 32)
    data0 = (pos + align - 1) // align * align
    sizes = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18)}
    tensors = {}
    for name, ne, t, off in infos:
        blk, nb = sizes[t]
        n = int(np.prod(ne))
        assert off % align == 0, f"{name}: offset {off} not aligned"
        tensors[name] = (ne, t, np.frombuffer(buf, np.uint8, n // blk * nb, data0 + off))
    return version, kv, tensors


def main():
    frugal, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "bf16")
    run(frugal, "synth", "--like", "tiny-v2-lite", "--dtype", "bf16", "-o", src)
    cfg = json.load(open(os.path.join(src, "config.json")))
    source = to_gguf.safetensors_open(src)

    def src_f32(name):
        dtype, shape, raw = source[name]
        return to_gguf.to_f32(dtype, raw, shape)

    for fmt, gtype in (("q8", to_gguf.GGML_Q8_0), ("q4", to_gguf.GGML_Q4_0)):
        qdir = os.path.join(work, fmt)
        run(frugal, "quantize", "-m", src, "-o", qdir, "--type", fmt)
        quant = to_gguf.safetensors_open(qdir)
        n_block = 0
        for name, (dtype, shape, raw) in sorted(quant.items()):
            if dtype != "U8":
                continue
            n_block += 1
            x = src_f32(name)
            mine = to_gguf.quantize_rows(x, gtype)
            theirs = np.asarray(raw).reshape(shape)
            same = np.array_equal(mine, theirs)
            check(same, f"{fmt} {name}: to_gguf's blocks differ from frugal quantize's "
                        f"({int((mine != theirs).sum())} bytes)")
            # The decoded values against the source, per block: |err| <= |d| / 2 (Q8_0), |d| (Q4_0).
            dec = to_gguf.dequantize_rows(theirs, gtype, x.shape[1])
            d = np.abs(theirs.reshape(shape[0], -1, to_gguf.BLOCK_BYTES[gtype])[..., :2].copy()
                       .view(np.float16).astype(np.float32))
            bound = np.repeat(d * (0.5 if gtype == to_gguf.GGML_Q8_0 else 1.0), 32, axis=-1).reshape(x.shape)
            check((np.abs(dec - x) <= bound * (1 + 1e-6)).all(), f"{fmt} {name}: decoded values outside the bound")
        check(n_block > 10, f"{fmt}: only {n_block} block tensors in frugal's quantized checkpoint")

        out = os.path.join(work, f"{fmt}.gguf")
        run(sys.executable, os.path.join(HERE, "to_gguf.py"), "-m", qdir, "-o", out, "--k-b", "f32")
        version, kv, g = read_gguf(out)
        check(version == 3, f"{fmt}: GGUF version {version}")
        check(kv["general.architecture"] == "deepseek2", "architecture")
        a = "deepseek2."
        H, nope, rope, vd, kvl = (cfg[k] for k in ("num_attention_heads", "qk_nope_head_dim", "qk_rope_head_dim",
                                                   "v_head_dim", "kv_lora_rank"))
        d, L, E, ff = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["n_routed_experts"], cfg["moe_intermediate_size"]
        expect_kv = {a + "block_count": L, a + "embedding_length": d, a + "attention.head_count": H,
                     a + "attention.head_count_kv": 1, a + "attention.key_length": kvl + rope,
                     a + "attention.value_length": kvl, a + "attention.key_length_mla": nope + rope,
                     a + "attention.value_length_mla": vd, a + "attention.kv_lora_rank": kvl,
                     a + "attention.q_lora_rank": 0, a + "rope.dimension_count": rope,
                     a + "expert_count": E, a + "expert_used_count": cfg["num_experts_per_tok"],
                     a + "expert_shared_count": cfg["n_shared_experts"], a + "expert_feed_forward_length": ff,
                     a + "leading_dense_block_count": cfg["first_k_dense_replace"], a + "expert_gating_func": 1,
                     a + "rope.scaling.type": "yarn", a + "rope.scaling.factor": cfg["rope_scaling"]["factor"],
                     "tokenizer.ggml.model": "gpt2"}
        for k, v in expect_kv.items():
            check(k in kv and abs(kv[k] - v) < 1e-6 if isinstance(v, (int, float)) else kv.get(k) == v,
                  f"{fmt}: metadata {k} = {kv.get(k)!r}, expected {v!r}")
        check(abs(kv[a + "rope.scaling.yarn_log_multiplier"] - 0.1 * cfg["rope_scaling"]["mscale_all_dim"]) < 1e-6,
              f"{fmt}: yarn_log_multiplier")
        check(len(kv["tokenizer.ggml.tokens"]) == cfg["vocab_size"], f"{fmt}: token list length")
        check(len(set(kv["tokenizer.ggml.tokens"])) == cfg["vocab_size"], f"{fmt}: token strings not unique")

        def q(name):  # frugal's block bytes of a tensor
            return np.asarray(quant[name][2])

        # Shapes as llama.cpp's deepseek2 loader creates them (ne, innermost first).
        want = {"token_embd.weight": ([d, cfg["vocab_size"]], "model.embed_tokens.weight"),
                "output.weight": ([d, cfg["vocab_size"]], "lm_head.weight"),
                "output_norm.weight": ([d], None)}
        for i in range(L):
            p, m = f"blk.{i}.", f"model.layers.{i}."
            want.update({p + "attn_norm.weight": ([d], None), p + "ffn_norm.weight": ([d], None),
                         p + "attn_kv_a_norm.weight": ([kvl], None),
                         p + "attn_q.weight": ([d, H * (nope + rope)], m + "self_attn.q_proj.weight"),
                         p + "attn_kv_a_mqa.weight": ([d, kvl + rope], m + "self_attn.kv_a_proj_with_mqa.weight"),
                         p + "attn_output.weight": ([H * vd, d], m + "self_attn.o_proj.weight"),
                         p + "attn_k_b.weight": ([nope, kvl, H], None), p + "attn_v_b.weight": ([kvl, vd, H], None)})
            if i < cfg["first_k_dense_replace"]:
                for n in ("gate", "up", "down"):
                    shp = [cfg["intermediate_size"], d] if n == "down" else [d, cfg["intermediate_size"]]
                    want[p + f"ffn_{n}.weight"] = (shp, m + f"mlp.{n}_proj.weight")
            else:
                want[p + "ffn_gate_inp.weight"] = ([d, E], None)
                for n in ("gate", "up", "down"):
                    shp = [ff, d, E] if n == "down" else [d, ff, E]
                    want[p + f"ffn_{n}_exps.weight"] = (shp, None)
                    sh = cfg["n_shared_experts"] * ff
                    want[p + f"ffn_{n}_shexp.weight"] = ([sh, d] if n == "down" else [d, sh],
                                                         m + f"mlp.shared_experts.{n}_proj.weight")
        check(set(g) == set(want), f"{fmt}: tensors {sorted(set(g) ^ set(want))} differ from llama.cpp's list")
        for name, (ne, hf) in want.items():
            if name not in g:
                continue
            check(g[name][0] == ne, f"{fmt}: {name} ne {g[name][0]}, expected {ne}")
            if hf is not None:
                check(g[name][1] == gtype and np.array_equal(g[name][2], q(hf)), f"{fmt}: {name} is not frugal's blocks")
        for i in range(L):
            m, p = f"model.layers.{i}.", f"blk.{i}."
            if i >= cfg["first_k_dense_replace"]:
                for n in ("gate", "up", "down"):
                    stacked = np.concatenate([q(m + f"mlp.experts.{e}.{n}_proj.weight") for e in range(E)])
                    check(np.array_equal(g[p + f"ffn_{n}_exps.weight"][2], stacked), f"{fmt}: {p}ffn_{n}_exps")
            kvb = q(m + "self_attn.kv_b_proj.weight").reshape(H, nope + vd, -1)
            check(g[p + "attn_v_b.weight"][1] == gtype and
                  np.array_equal(g[p + "attn_v_b.weight"][2], kvb[:, nope:, :].reshape(-1)), f"{fmt}: {p}attn_v_b")
            w = to_gguf.dequantize_rows(kvb.reshape(H * (nope + vd), -1), gtype, kvl).reshape(H, nope + vd, kvl)
            k_b = g[p + "attn_k_b.weight"]
            check(k_b[1] == 0 and np.array_equal(k_b[2].view(np.float32).reshape(H, kvl, nope),
                                                 w[:, :nope, :].transpose(0, 2, 1)), f"{fmt}: {p}attn_k_b")
            if m + "mlp.gate.weight" in source:  # the router keeps its bf16 values
                r = g[p + "ffn_gate_inp.weight"]
                check(r[1] == 30 and np.array_equal(r[2], np.asarray(source[m + "mlp.gate.weight"][2])),
                      f"{fmt}: {p}ffn_gate_inp")
            norm = m + "input_layernorm.weight"
            check(np.array_equal(g[p + "attn_norm.weight"][2].view(np.float32),
                                 src_f32(norm)),
                  f"{fmt}: {p}attn_norm")
    # Quantizing here (--type q8_0 on the bf16 checkpoint) gives frugal quantize's
    # GGUF: every tensor the same but attn_k_b (f32: the bf16 values, not the Q8_0 ones).
    own = os.path.join(work, "bf16-q8_0.gguf")
    run(sys.executable, os.path.join(HERE, "to_gguf.py"), "-m", src, "-o", own, "--type", "q8_0", "--k-b", "f32")
    _, _, mine = read_gguf(own)
    _, _, theirs = read_gguf(os.path.join(work, "q8.gguf"))
    check(set(mine) == set(theirs), "--type q8_0: tensor names differ")
    for name in set(mine) & set(theirs):
        if "attn_k_b" not in name:
            check(mine[name][:2] == theirs[name][:2] and np.array_equal(mine[name][2], theirs[name][2]),
                  f"--type q8_0: {name} differs from the GGUF of frugal quantize's checkpoint")
    if FAILS:
        sys.exit(f"{len(FAILS)} checks failed")
    print("all checks passed")


if __name__ == "__main__":
    main()
