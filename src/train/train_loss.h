// Next-token cross-entropy over a logits buffer, with -1 targets masked, and the
// optional z-loss (logsumexp(logits)^2, PaLM's auxiliary loss) on the same rows.
//
// Legend: N rows, V vocabulary.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace frugal::train {

struct CeSums {
  double loss = 0;    // sum over unmasked rows of logsumexp - logit[target]
  double weighted = 0;  // the same sum with each row times its weight (when weights are given)
  double z = 0;       // sum over unmasked rows of logsumexp^2
  int64_t count = 0;  // unmasked rows
};

struct CeOptions {
  bool to_probs = false;              // replace unmasked rows of logits by their softmax (what the backward needs:
                                      // one exp per logit instead of two)
  const float* weights = nullptr;     // [N] per-row weights for CeSums::weighted (GRPO), or null
  float* target_logprob = nullptr;    // [N] out: logit[target] - logsumexp, 0 where masked; or null
};

// logits [N, V], targets [N] (-1: no loss). Saves lse [N].
template <typename S>
CeSums cross_entropy_fwd(S* logits, const int32_t* targets, int64_t N, int64_t V, std::vector<S>& lse,
                         const CeOptions& o, ThreadPool& pool);

// In place, probs (cross_entropy_fwd with to_probs) -> dlogits: for unmasked rows
//   ce_coef w_n (softmax - onehot(target)) + z_coef 2 lse softmax,
// zero for masked rows; w_n = weights[n], or 1 without weights.
// (ce_coef = 1 / count for a mean, 1 for the weighted sum.)
template <typename S>
void cross_entropy_bwd(S* probs, const int32_t* targets, const S* lse, int64_t N, int64_t V, double ce_coef,
                       double z_coef, const float* weights, ThreadPool& pool);

}  // namespace frugal::train
