// Feed-forward blocks for training: the dense SwiGLU MLP and DeepSeekMoE
// (V3 report Sec. 2.1.2, eqs. 12-20; spec "FFN" and "Load balancing").
//
// Legend: B rows of T tokens, N = B T, d hidden, I MLP width, E routed experts,
// K experts per token.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "train/train_ops.h"
#include "train/train_weights.h"

namespace frugal::train {

template <typename S>
struct MlpActs {
  std::vector<S> g, u, a;  // [n, I]: gate(x), up(x), silu(g) * u
};

// V3's low-precision storage for an MLP of an MoE layer (report Sec. 3.3.3);
// the default ({}) everywhere else and whenever the precision is not FP8.
struct MlpFp8Storage {
  // gate(x) and up(x) cached in E4M3 (1x128 tiles) and the SwiGLU recomputed
  // from them in the backward ("inputs of the SwiGLU operator in MoE").
  bool swiglu_inputs_fp8 = false;
  // Scale rule of x (the input of gate / up) and of dy (the gradient of down's
  // output): power-of-2 for the routed experts, whose inputs and output
  // gradients V3 dispatches in FP8 with round scales.
  Fp8Scale input = Fp8Scale::Amax, output_grad = Fp8Scale::Amax;
};

// y [n, d] = down(silu(gate(x)) * up(x))
template <typename S>
void mlp_fwd(GemmPrecision p, ThreadPool* pool, const TMlp<S>& w, const S* x, int64_t n, S* y, MlpActs<S>& a,
             const MlpFp8Storage& st = {});
// dx [n, d] +=, weight gradients +=
template <typename S>
void mlp_bwd(GemmPrecision p, ThreadPool* pool, const TMlp<S>& w, const S* x, const S* dy, int64_t n, S* dx,
             MlpActs<S>& a, const MlpFp8Storage& st = {});

template <typename S>
struct MoeActs {
  std::vector<S> logits, scores;     // [N, E] router logits, sigmoid / softmax scores
  std::vector<int32_t> experts;      // [N, K] chosen experts
  std::vector<S> weights;            // [N, K] gating weights (normalized, times routed_scaling_factor)
  std::vector<int64_t> slot_begin;   // [E + 1] expert e's (token, k) pairs: slots[slot_begin[e] ..)
  std::vector<int32_t> slots;        // [N K] pair ids n K + k, grouped by expert
  std::vector<int64_t> slot_of;      // [N K] place of pair n K + k in `slots`
  std::vector<S> xe, ye;             // [N K, d] gathered inputs and expert outputs, in slot order
  std::vector<MlpActs<S>> ex;        // per routed expert
  MlpActs<S> shared;
  std::vector<S> shared_y;           // [N, d]
  std::vector<int64_t> load;         // [E] tokens routed to each expert
  std::vector<double> f;             // [B, E] balance f_i of each row (no gradient)
  double balance = 0;                // mean over rows of sum_i f_i P_i (spec "Sequence-wise loss")
};

struct MoeShape {
  const ModelConfig& cfg;
  int64_t B, T;
  GemmPrecision precision;
};

// x [N, d] -> y [N, d]: sum_k w_k Expert_k(x) + Shared(x). Fills the routing,
// the expert load and the balance statistic.
template <typename S>
void moe_fwd(const MoeShape& sh, const TLayer<S>& w, const S* x, S* y, MoeActs<S>& a, ThreadPool& pool);
// dx [N, d] +=, weight gradients +=. balance_coef: dL / d(a.balance) (alpha x
// grad scale); 0 for no balance loss. Gradients reach the router through the
// gating weights of the chosen experts (and the balance loss's P_i) only: the
// selection itself is piecewise constant.
template <typename S>
void moe_bwd(const MoeShape& sh, const TLayer<S>& w, const S* x, const S* dy, S* dx, double balance_coef,
             MoeActs<S>& a, ThreadPool& pool);

}  // namespace frugal::train
