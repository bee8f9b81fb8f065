// Multi-head Latent Attention for training, naive form (spec "Multi-head Latent
// Attention"; V2 report Sec. 2.1, eqs. 9-19): k_nope and v are decompressed
// per head from the normed latent, causal attention within each packed row.
//
// Legend: B rows of T tokens, N = B T, H heads, d hidden, dn / dr / dv =
// qk_nope / qk_rope / v head dims, dq = dn + dr, r_q / r_kv = LoRA ranks.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "train/train_ops.h"
#include "train/train_weights.h"

namespace frugal::train {

// Saved activations of one MLA call.
template <typename S>
struct MlaActs {
  std::vector<S> q_a, q_a_rstd, q_a_n;  // [N, r_q] before / after q_a_layernorm (LoRA only)
  std::vector<S> q;                     // [N, H*dq], q_pe rotated
  std::vector<S> kv_a;                  // [N, r_kv + dr] as projected (before norm and RoPE)
  std::vector<S> kv_rstd;               // [N]
  std::vector<S> c_kv;                  // [N, r_kv] normed latent
  std::vector<S> k_pe;                  // [N, dr] rotated, shared by the heads
  std::vector<S> kv;                    // [N, H*(dn+dv)] per head [k_nope | v]
  std::vector<S> probs;                 // [B, H, T, T] softmax (zero above the diagonal)
  std::vector<S> attn;                  // [N, H*dv] concatenated head outputs
};

struct MlaShape {
  const ModelConfig& cfg;
  int64_t B, T;
  GemmPrecision precision;
};

// RoPE tables for positions 0..T-1: [T, dr/2] each, from model/rope.h.
template <typename S>
void rope_tables(const ModelConfig& c, int64_t T, std::vector<S>& cos, std::vector<S>& sin);

// x: [N, d] (normed) -> y: [N, d]
template <typename S>
void mla_fwd(const MlaShape& sh, const TLayer<S>& w, const std::vector<S>& cos, const std::vector<S>& sin, const S* x,
             S* y, MlaActs<S>& a, ThreadPool& pool);
// dy: [N, d] -> dx [N, d] +=, weight gradients +=.
template <typename S>
void mla_bwd(const MlaShape& sh, const TLayer<S>& w, const std::vector<S>& cos, const std::vector<S>& sin, const S* x,
             const S* dy, S* dx, MlaActs<S>& a, ThreadPool& pool);

}  // namespace frugal::train
