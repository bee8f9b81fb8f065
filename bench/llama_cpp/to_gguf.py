#!/usr/bin/python3
"""Convert a frugal / Hugging Face DeepSeek-V2/V3 checkpoint to a GGUF file that
llama.cpp loads as architecture `deepseek2` (written from the GGUF spec in
ggml's docs/gguf.md and from reading llama.cpp's src/models/deepseek2.cpp;
no llama.cpp code is used).

Inputs: a checkpoint directory (config.json + *.safetensors) in f32 / bf16 / f16,
or one written by `frugal quantize --type q8|q4` (block tensors stored as U8
[rows, row bytes]). frugal's Q8_0 / Q4_0 blocks are ggml's byte for byte
(fp16 d + 32 int8, fp16 d + 16 bytes of nibbles, low nibbles first), so a
quantized checkpoint is copied verbatim: both engines read the very same weights.

  to_gguf.py -m CKPT -o OUT.gguf [--type auto|f32|f16|bf16|q8_0|q4_0] [--k-b same|f32]

--type auto keeps every tensor's format (quantized checkpoints); q8_0 / q4_0
quantize an unquantized checkpoint here with frugal's rounding rule
(quantize_rows below), the tensors `frugal quantize` would quantize.

The one tensor that cannot be copied: llama.cpp's absorbed MLA wants kv_b_proj
split per head into attn_k_b [n_head, kv_lora_rank, qk_nope] (transposed, so its
rows run along qk_nope) and attn_v_b [n_head, v_head_dim, kv_lora_rank] (rows
unchanged: copied). --k-b same re-quantizes the transposed k_b in the checkpoint's
block format (what llama.cpp's own converter + quantizer produce, same bytes per
token as frugal's kv_b); --k-b f32 writes it dequantized, exactly frugal's values.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

# ggml tensor types (ggml.h enum ggml_type) and their block shapes.
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
QBLOCK = 32
BLOCK_BYTES = {GGML_Q8_0: 34, GGML_Q4_0: 18}
TYPE_NAMES = {"f32": GGML_F32, "f16": GGML_F16, "bf16": GGML_BF16, "q8_0": GGML_Q8_0, "q4_0": GGML_Q4_0}

# GGUF metadata value types (gguf.md).
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_U64 = 4, 5, 6, 7, 8, 9, 10
GGUF_ALIGNMENT = 32

# llama.cpp token types (llama_token_type): normal, control, unused.
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_UNUSED = 1, 3, 5


def fail(msg):
    sys.exit(f"to_gguf: {msg}")


# ---------------------------------------------------------------- safetensors

def safetensors_open(ckpt_dir):
    """name -> (dtype string, shape, memmapped uint8 bytes) over every shard."""
    files = sorted(f for f in os.listdir(ckpt_dir) if f.endswith(".safetensors"))
    if not files:
        fail(f"{ckpt_dir}: no .safetensors files")
    tensors = {}
    for f in files:
        path = os.path.join(ckpt_dir, f)
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            tensors[name] = (info["dtype"], tuple(info["shape"]), data[b:e])
    return tensors


def to_f32(dtype, raw, shape):
    if dtype == "F32":
        return raw.view(np.float32).reshape(shape)
    if dtype == "F16":
        return raw.view(np.float16).astype(np.float32).reshape(shape)
    if dtype == "BF16":  # bf16 is the top half of an fp32: exact
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    fail(f"tensor dtype {dtype} is not supported (quantize fp8 checkpoints with `frugal quantize` first)")


# ---------------------------------------------------------------- block formats

def quantize_rows(x, gtype):
    """Q8_0 / Q4_0 blocks of the rows of x (float32 [rows, cols], cols % 32 == 0),
    with frugal's rule (src/kernels/quantize.h): the fp16 scale is rounded first
    and the values divided by the rounded scale, in fp32, round half to even.
    Q8_0: d = amax / 127. Q4_0: d = m / -8, m the value of largest magnitude
    (first one on ties), codes round(x / d) + 8 clamped to [0, 15]; a zero block
    stores d = 0 and codes 0."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, cols = x.shape
    if cols % QBLOCK:
        fail(f"rows of {cols} values are not whole blocks of {QBLOCK}")
    b = x.reshape(rows, cols // QBLOCK, QBLOCK)
    if gtype == GGML_Q8_0:
        d16 = (np.abs(b).max(axis=2) / np.float32(127)).astype(np.float16)
    else:
        idx = np.abs(b).argmax(axis=2)
        m = np.take_along_axis(b, idx[..., None], axis=2)[..., 0]
        d16 = (m / np.float32(-8)).astype(np.float16)
    if not np.isfinite(d16).all():
        fail("a block scale overflows fp16")
    d = d16.astype(np.float32)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.rint(np.where(d == 0, np.float32(0), b / np.where(d == 0, np.float32(1), d)))
    out = np.empty((rows, cols // QBLOCK, BLOCK_BYTES[gtype]), dtype=np.uint8)
    out[..., :2] = d16.view(np.uint8).reshape(rows, cols // QBLOCK, 2)
    if gtype == GGML_Q8_0:
        out[..., 2:] = np.clip(q, -127, 127).astype(np.int8).view(np.uint8)
    else:
        n = np.where(d == 0, 0, np.clip(q + 8, 0, 15)).astype(np.uint8)
        out[..., 2:] = n[..., :16] | (n[..., 16:] << 4)
    return out.reshape(rows, -1)


def dequantize_rows(blocks, gtype, cols):
    """float32 [rows, cols] of Q8_0 / Q4_0 rows (ggml's definition of the formats)."""
    rows = blocks.shape[0]
    b = np.ascontiguousarray(blocks).reshape(rows, cols // QBLOCK, BLOCK_BYTES[gtype])
    d = b[..., :2].copy().view(np.float16).astype(np.float32)
    if gtype == GGML_Q8_0:
        q = b[..., 2:].view(np.int8).astype(np.float32)
    else:
        lo, hi = b[..., 2:] & 15, b[..., 2:] >> 4
        q = np.concatenate([lo, hi], axis=2).astype(np.float32) - 8
    return (q * d).reshape(rows, cols)


# ---------------------------------------------------------------- names

def gguf_name(hf):
    """llama.cpp's tensor name for a Hugging Face DeepSeek name (None: skipped)."""
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if hf in top:
        return top[hf]
    parts = hf.split(".")
    if parts[:2] != ["model", "layers"]:
        return None
    i, rest = parts[2], ".".join(parts[3:])
    per_layer = {
        "input_layernorm.weight": "attn_norm.weight",
        "post_attention_layernorm.weight": "ffn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight",
        "self_attn.q_a_proj.weight": "attn_q_a.weight",
        "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
        "self_attn.q_b_proj.weight": "attn_q_b.weight",
        "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
        "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
        "self_attn.o_proj.weight": "attn_output.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
        "mlp.gate.weight": "ffn_gate_inp.weight",
        "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
        "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
        "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
        "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
    }
    return f"blk.{i}.{per_layer[rest]}" if rest in per_layer else None


# ---------------------------------------------------------------- GGUF writer

def kv_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv_value(vtype, v):
    if vtype == GGUF_STRING:
        return kv_string(v)
    if vtype == GGUF_ARRAY:
        etype, items = v
        head = struct.pack("<IQ", etype, len(items))
        if etype == GGUF_STRING:
            return head + b"".join(kv_string(s) for s in items)
        return head + np.asarray(items, dtype={GGUF_I32: "<i4", GGUF_F32: "<f4", GGUF_U32: "<u4"}[etype]).tobytes()
    fmt = {GGUF_U32: "<I", GGUF_I32: "<i", GGUF_F32: "<f", GGUF_BOOL: "<?", GGUF_U64: "<Q"}[vtype]
    return struct.pack(fmt, v)


class Tensor:
    """One GGUF tensor: ne (ggml order, innermost first), type, and a function
    producing its bytes (called once, while writing)."""

    def __init__(self, name, ne, gtype, produce):
        self.name, self.ne, self.gtype, self.produce = name, list(ne), gtype, produce

    def nbytes(self):
        n = int(np.prod(self.ne))
        if self.gtype in BLOCK_BYTES:
            return n // QBLOCK * BLOCK_BYTES[self.gtype]
        return n * (4 if self.gtype == GGML_F32 else 2)


def gguf_write(path, kvs, tensors):
    def pad(n):
        return (GGUF_ALIGNMENT - n % GGUF_ALIGNMENT) % GGUF_ALIGNMENT

    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
        for key, vtype, v in kvs:
            f.write(kv_string(key) + struct.pack("<I", vtype) + kv_value(vtype, v))
        offset = 0
        for t in tensors:
            f.write(kv_string(t.name) + struct.pack("<I", len(t.ne)) + struct.pack(f"<{len(t.ne)}Q", *t.ne))
            f.write(struct.pack("<IQ", t.gtype, offset))
            offset += t.nbytes() + pad(t.nbytes())
        f.write(b"\0" * pad(f.tell()))
        for t in tensors:
            data = np.ascontiguousarray(t.produce()).view(np.uint8).reshape(-1)
            if data.size != t.nbytes():
                fail(f"{t.name}: {data.size} bytes, expected {t.nbytes()}")
            f.write(data.tobytes())
            f.write(b"\0" * pad(t.nbytes()))
    os.replace(tmp, path)


# ---------------------------------------------------------------- conversion

class Source:
    """A checkpoint tensor as float32 or as block bytes."""

    def __init__(self, tensors, packed):
        self.t, self.packed = tensors, packed  # packed: GGML_Q8_0 / GGML_Q4_0 / None

    def is_block(self, name):
        return self.packed is not None and self.t[name][0] == "U8"

    def shape(self, name):
        dtype, shape, _ = self.t[name]
        if dtype == "U8" and self.packed is not None:
            return (shape[0], shape[1] // BLOCK_BYTES[self.packed] * QBLOCK)
        return shape

    def f32(self, name):
        dtype, shape, raw = self.t[name]
        if dtype == "U8" and self.packed is not None:
            return dequantize_rows(raw.reshape(shape), self.packed, self.shape(name)[1])
        return to_f32(dtype, raw, shape)

    def encode(self, name, gtype):
        """Bytes of `name` in gtype: verbatim when already stored so."""
        dtype, shape, raw = self.t[name]
        if self.is_block(name) and gtype == self.packed:
            return raw
        src_type = {"F32": GGML_F32, "F16": GGML_F16, "BF16": GGML_BF16}.get(dtype)
        if gtype == src_type:
            return raw
        return encode_f32(self.f32(name), gtype)


def encode_f32(x, gtype):
    x = np.asarray(x, dtype=np.float32)
    if gtype in BLOCK_BYTES:
        return quantize_rows(x.reshape(-1, x.shape[-1]), gtype)
    if gtype == GGML_F32:
        return x
    if gtype == GGML_F16:
        return x.astype(np.float16)
    # bf16, round to nearest even (inputs here are finite)
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def choose_type(src, name, want, quantizable):
    """Output type of a 2-D tensor: block tensors stay blocks; `want` applies to
    the tensors `frugal quantize` quantizes (projections, embeddings)."""
    if src.is_block(name):
        return src.packed
    dtype = src.t[name][0]
    keep = {"F32": GGML_F32, "F16": GGML_F16, "BF16": GGML_BF16}[dtype]
    if want is None:
        return keep
    if want in BLOCK_BYTES and not (quantizable and src.shape(name)[1] % QBLOCK == 0):
        return keep
    return want


def build(ckpt, cfg, want, k_b_mode):
    src_t = safetensors_open(ckpt)
    qc = cfg.get("quantization_config") or {}
    packed = None
    if qc.get("quant_method") == "frugal":
        packed = {"q8_0": GGML_Q8_0, "q4_0": GGML_Q4_0}[qc["format"]]
    elif qc:
        fail(f"{ckpt}: quantization {qc.get('quant_method')} is not supported (use `frugal quantize`)")
    if packed is not None and want is not None and want != packed:
        fail("--type of a frugal-quantized checkpoint must be auto (its blocks are copied as they are)")
    src = Source(src_t, packed)
    n_layers = cfg["num_hidden_layers"]
    n_head, nope, vdim = cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["v_head_dim"]
    kv_lora = cfg["kv_lora_rank"]
    tensors = []

    def add_plain(hf, gname):
        shape = src.shape(hf)
        if len(shape) == 1:  # norms, correction bias: fp32 like llama.cpp's converter
            tensors.append(Tensor(gname, shape, GGML_F32, lambda: src.f32(hf)))
            return
        quantizable = not gname.endswith("ffn_gate_inp.weight")  # the router stays unquantized
        gtype = choose_type(src, hf, want, quantizable)
        tensors.append(Tensor(gname, shape[::-1], gtype, lambda: src.encode(hf, gtype)))

    for hf in sorted(src_t):
        layer = int(hf.split(".")[2]) if hf.startswith("model.layers.") else -1
        if layer >= n_layers or hf.endswith("_scale_inv"):
            continue  # MTP modules (llama.cpp's deepseek2 converter skips them too)
        g = gguf_name(hf)
        if g is not None:
            add_plain(hf, g)
    for i in range(n_layers):
        pre = f"model.layers.{i}."
        # Routed experts: one 3-D tensor per projection, [n_expert, rows, cols].
        n_exp = cfg.get("n_routed_experts") or 0
        for proj, gn in (("gate_proj", "ffn_gate_exps"), ("up_proj", "ffn_up_exps"), ("down_proj", "ffn_down_exps")):
            names = [f"{pre}mlp.experts.{e}.{proj}.weight" for e in range(n_exp)]
            if not names or names[0] not in src_t:
                continue
            rows, cols = src.shape(names[0])
            gtype = choose_type(src, names[0], want, True)
            tensors.append(Tensor(f"blk.{i}.{gn}.weight", (cols, rows, n_exp), gtype,
                                  lambda ns=names, gt=gtype: np.concatenate(
                                      [np.asarray(src.encode(n, gt)).view(np.uint8).reshape(-1) for n in ns])))
        # kv_b_proj [n_head * (nope + v), kv_lora] -> attn_k_b, attn_v_b.
        kvb = pre + "self_attn.kv_b_proj.weight"
        gtype = choose_type(src, kvb, want, True)
        row_bytes = Tensor("", (kv_lora,), gtype, None).nbytes()

        def v_b(kvb=kvb, gtype=gtype, row_bytes=row_bytes):
            raw = np.asarray(src.encode(kvb, gtype)).view(np.uint8).reshape(n_head, nope + vdim, row_bytes)
            return raw[:, nope:, :]

        def k_b(kvb=kvb, gtype=gtype):
            w = src.f32(kvb).reshape(n_head, nope + vdim, kv_lora)[:, :nope, :]
            kt = np.ascontiguousarray(w.transpose(0, 2, 1))  # [n_head, kv_lora, nope]
            return encode_f32(kt, GGML_F32 if k_b_mode == "f32" else gtype)

        k_type = GGML_F32 if k_b_mode == "f32" else gtype
        tensors.append(Tensor(f"blk.{i}.attn_k_b.weight", (nope, kv_lora, n_head), k_type, k_b))
        tensors.append(Tensor(f"blk.{i}.attn_v_b.weight", (kv_lora, vdim, n_head), gtype, v_b))
    return tensors


def vocab(ckpt, cfg):
    """Token strings, types and merges for tokenizer.ggml.* (gpt2-style BPE)."""
    n = cfg["vocab_size"]
    path = os.path.join(ckpt, "tokenizer.json")
    tokens, types, merges = [None] * n, [TOKEN_NORMAL] * n, []
    if os.path.exists(path):
        tj = json.load(open(path, encoding="utf-8"))
        if tj["model"]["type"] != "BPE":
            fail(f"{path}: model type {tj['model']['type']} is not BPE")
        for tok, i in tj["model"]["vocab"].items():
            if i < n:
                tokens[i] = tok
        for a in tj.get("added_tokens", []):
            if a["id"] < n:
                tokens[a["id"]] = a["content"]
                types[a["id"]] = TOKEN_CONTROL if a.get("special") else TOKEN_NORMAL
        merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    else:
        # No tokenizer (a `frugal synth` checkpoint): the 256 byte tokens in GPT-2's
        # byte-to-unicode spelling, which is what llama.cpp's gpt2 vocab decodes.
        printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
        extra = 0
        for b in range(256):
            if b in printable:
                tokens[b] = chr(b)
            else:
                tokens[b] = chr(256 + extra)
                extra += 1
    for i in range(n):
        if tokens[i] is None:
            tokens[i], types[i] = f"[PAD{i}]", TOKEN_UNUSED
    for key in ("bos_token_id", "eos_token_id"):
        i = cfg.get(key)
        if isinstance(i, int) and i < n and types[i] == TOKEN_UNUSED:
            tokens[i], types[i] = f"<|{key[:3]}|>", TOKEN_CONTROL
    return tokens, types, merges


def metadata(ckpt, cfg, tensors, pre):
    a = "deepseek2"
    n_layers = cfg["num_hidden_layers"]
    kv_lora, rope = cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
    kvs = [("general.architecture", GGUF_STRING, a),
           ("general.name", GGUF_STRING, os.path.basename(os.path.normpath(ckpt))),
           ("general.alignment", GGUF_U32, GGUF_ALIGNMENT),
           (f"{a}.block_count", GGUF_U32, n_layers),
           (f"{a}.context_length", GGUF_U32, cfg.get("max_position_embeddings", 4096)),
           (f"{a}.embedding_length", GGUF_U32, cfg["hidden_size"]),
           (f"{a}.feed_forward_length", GGUF_U32, cfg["intermediate_size"]),
           (f"{a}.attention.head_count", GGUF_U32, cfg["num_attention_heads"]),
           # Absorbed MLA is MQA over the latent: one KV head of kv_lora + rope values.
           (f"{a}.attention.head_count_kv", GGUF_U32, 1),
           (f"{a}.attention.key_length", GGUF_U32, kv_lora + rope),
           (f"{a}.attention.value_length", GGUF_U32, kv_lora),
           (f"{a}.attention.key_length_mla", GGUF_U32, cfg["qk_nope_head_dim"] + rope),
           (f"{a}.attention.value_length_mla", GGUF_U32, cfg["v_head_dim"]),
           (f"{a}.attention.kv_lora_rank", GGUF_U32, kv_lora),
           (f"{a}.attention.layer_norm_rms_epsilon", GGUF_F32, cfg.get("rms_norm_eps", 1e-6)),
           (f"{a}.rope.freq_base", GGUF_F32, cfg.get("rope_theta", 10000.0)),
           (f"{a}.rope.dimension_count", GGUF_U32, rope),
           (f"{a}.vocab_size", GGUF_U32, cfg["vocab_size"]),
           (f"{a}.leading_dense_block_count", GGUF_U32, cfg.get("first_k_dense_replace", 0)),
           (f"{a}.expert_feed_forward_length", GGUF_U32, cfg["moe_intermediate_size"]),
           (f"{a}.expert_count", GGUF_U32, cfg["n_routed_experts"]),
           (f"{a}.expert_used_count", GGUF_U32, cfg["num_experts_per_tok"]),
           (f"{a}.expert_shared_count", GGUF_U32, cfg.get("n_shared_experts") or 0),
           (f"{a}.expert_weights_scale", GGUF_F32, cfg.get("routed_scaling_factor", 1.0)),
           (f"{a}.expert_gating_func", GGUF_U32, 2 if cfg.get("scoring_func") == "sigmoid" else 1)]
    # Always written: llama.cpp requires the key unless the model has V2-Lite's 27
    # layers; 0 selects the plain q_proj (attn_q) path.
    kvs.append((f"{a}.attention.q_lora_rank", GGUF_U32, cfg.get("q_lora_rank") or 0))
    if cfg.get("norm_topk_prob"):
        kvs.append((f"{a}.expert_weights_norm", GGUF_BOOL, True))
    if (cfg.get("n_group") or 1) > 1:
        kvs += [(f"{a}.expert_group_count", GGUF_U32, cfg["n_group"]),
                (f"{a}.expert_group_used_count", GGUF_U32, cfg["topk_group"])]
    rs = cfg.get("rope_scaling") or {}
    if rs.get("type", rs.get("rope_type")) == "yarn":
        kvs += [(f"{a}.rope.scaling.type", GGUF_STRING, "yarn"),
                (f"{a}.rope.scaling.factor", GGUF_F32, rs["factor"]),
                (f"{a}.rope.scaling.original_context_length", GGUF_U32, rs["original_max_position_embeddings"]),
                (f"{a}.rope.scaling.yarn_beta_fast", GGUF_F32, rs.get("beta_fast", 32)),
                (f"{a}.rope.scaling.yarn_beta_slow", GGUF_F32, rs.get("beta_slow", 1))]
        if rs.get("mscale_all_dim"):
            # llama.cpp divides this key by 0.1 on load (its converter writes 0.1 * mscale_all_dim).
            kvs.append((f"{a}.rope.scaling.yarn_log_multiplier", GGUF_F32, 0.1 * rs["mscale_all_dim"]))
    tokens, types, merges = vocab(ckpt, cfg)
    kvs += [("tokenizer.ggml.model", GGUF_STRING, "gpt2"),
            ("tokenizer.ggml.pre", GGUF_STRING, pre),
            ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
            ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, types)),
            ("tokenizer.ggml.merges", GGUF_ARRAY, (GGUF_STRING, merges))]
    for key, gkey in (("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id")):
        if isinstance(cfg.get(key), int):
            kvs.append((f"tokenizer.ggml.{gkey}", GGUF_U32, cfg[key]))
    kvs.append(("tokenizer.ggml.add_bos_token", GGUF_BOOL, False))
    return kvs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", required=True, help="checkpoint directory")
    p.add_argument("-o", "--out", required=True, help="output .gguf")
    p.add_argument("--type", default="auto", choices=["auto"] + list(TYPE_NAMES))
    p.add_argument("--k-b", default="same", choices=["same", "f32"],
                   help="attn_k_b (kv_b_proj's k part, transposed): re-quantized in the checkpoint's format, or fp32")
    p.add_argument("--tokenizer-pre", default="default",
                   help="tokenizer.ggml.pre (e.g. deepseek-llm for V2, deepseek-v3 for V3)")
    args = p.parse_args()
    cfg_path = os.path.join(args.model, "config.json")
    if not os.path.exists(cfg_path):
        fail(f"{cfg_path}: not found")
    cfg = json.load(open(cfg_path))
    want = None if args.type == "auto" else TYPE_NAMES[args.type]
    tensors = build(args.model, cfg, want, args.k_b)
    gguf_write(args.out, metadata(args.model, cfg, tensors, args.tokenizer_pre), tensors)
    total = sum(t.nbytes() for t in tensors)
    print(f"{args.out}: {len(tensors)} tensors, {total / 1e9:.3f} GB")


if __name__ == "__main__":
    main()
