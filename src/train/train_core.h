// The DeepSeek-V2/V3 training forward and backward over a batch of packed rows,
// templated on the scalar type (float: TrainModel; double: the finite-
// difference tests). Objective (src/train/trainable.h, V3 report Sec. 2):
//
//   L = L_main + lambda / D sum_k L_k + alpha L_bal + z_coef L_z
//
//  - L_main: next-token cross-entropy, mean over targets != -1; with
//    TrainBatch::label_weight (GRPO) the weighted sum sum_t w_t CE_t instead;
//  - L_k (MTP depth k = 1..D, V3 Sec. 2.2): module k at position i reads
//    h^{k-1}_i (k = 1: the main model's FINAL-NORMED state, as inference's
//    mtp_fwd; k > 1: module k-1's block output) and the embedding of token
//    i + k, predicts labels[i + k] (the token i + k + 1); masked when i + k is
//    in another document or its label is -1. Module k runs causally over the
//    first T - k positions of each row, at RoPE positions 0 .. T-k-1. With
//    lambda = 0 the modules are not run (LossStats::mtp = 0, no MTP gradients);
//  - L_bal: sum over the MoE layers (main model and MTP modules) of the mean
//    over rows of sum_i f_i P_i (spec "Sequence-wise loss");
//  - L_z: mean over main targets of logsumexp(logits)^2.
// Attention is causal over the whole packed row (documents are not isolated
// from each other; RoPE positions restart at 0 at each row).
//
// Legend: B rows, T tokens per row, N = B T, d hidden, V vocabulary.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "train/train_attention.h"
#include "train/train_ffn.h"
#include "train/train_ops.h"
#include "train/train_weights.h"
#include "train/trainable.h"

namespace frugal::train {

template <typename S>
struct LayerActs {
  std::vector<S> h_in, x_attn, rstd_attn;   // [N, d] residual in, RMSNorm(h_in); [N]
  std::vector<S> h_mid, x_ffn, rstd_ffn;    // after the attention residual
  MlaActs<S> mla;
  MlpActs<S> mlp;
  MoeActs<S> moe;
};

template <typename S>
struct MtpActs {
  int64_t T = 0;                           // positions of this depth: T - k
  std::vector<int32_t> tokens, targets;    // [B T_k] input token i + k, target labels[i + k] or -1
  std::vector<S> emb, e_rstd, h_prev, hp_rstd, cat;  // cat [B T_k, 2d] = [enorm(emb) | hnorm(h_prev)]
  std::vector<S> h;                        // [B T_k, d] block output h^k
  std::vector<S> hn, hn_rstd, logits, lse; // shared_head.norm(h^k), head logits
  LayerActs<S> layer;
  double loss = 0;
  int64_t count = 0;
};

template <typename S>
class TrainCore {
 public:
  TrainCore(const ModelConfig& cfg, GemmPrecision precision);

  const ModelConfig cfg;
  const ParamLayout layout;
  std::vector<S> values, grads;  // flat, layout order
  const TWeights<S> w;
  GemmPrecision precision;

  // Forward; with `backward` also accumulates grad_scale dL/dparam into grads.
  LossStats run(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool, bool backward);
  // [N, V] main logits of the last run without backward.
  const std::vector<S>& main_logits() const { return logits_; }
  // [B (T - k - 1), V] logits of MTP module k of the last run without backward.
  const std::vector<S>& mtp_logits(int64_t k) const { return mtp_[size_t(k)].logits; }
  // Every chosen expert of the last run (main layers, then MTP), for tests that
  // must keep the piecewise-constant selection fixed under perturbation.
  std::vector<int32_t> routing() const;

 private:
  void layer_fwd(const TLayer<S>& lw, S* h, LayerActs<S>& a, int64_t B, int64_t T, ThreadPool& pool);
  void layer_bwd(const TLayer<S>& lw, S* dh, LayerActs<S>& a, int64_t B, int64_t T, double balance_coef,
                 ThreadPool& pool);
  void mtp_fwd(int64_t k, const TrainBatch& batch, bool backward, ThreadPool& pool);
  // dh_prev: gradient of module k's h_prev input, [B T_k, d] (written).
  void mtp_bwd(int64_t k, const LossOptions& opt, std::vector<S>& dh_out, std::vector<S>& dh_prev, ThreadPool& pool);
  const std::vector<S>& rope_cos(int64_t T);

  int64_t B_ = 0, T_ = 0;
  std::vector<S> cos_, sin_;
  int64_t rope_T_ = -1;
  std::vector<S> h_, hf_, hf_rstd_, logits_, lse_;  // residual after the last layer, final norm, head
  std::vector<S> dh_out_, dh_prev_;                 // MTP backward (run)
  std::vector<LayerActs<S>> layers_;
  std::vector<MtpActs<S>> mtp_;
};

}  // namespace frugal::train
