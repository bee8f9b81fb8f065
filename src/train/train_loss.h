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
  double z = 0;       // sum over unmasked rows of logsumexp^2
  int64_t count = 0;  // unmasked rows
};

// logits [N, V], targets [N] (-1: no loss). Saves lse [N]. to_probs: the
// unmasked rows of logits are replaced by their softmax, which the backward
// needs (one exp per logit instead of two).
template <typename S>
CeSums cross_entropy_fwd(S* logits, const int32_t* targets, int64_t N, int64_t V, std::vector<S>& lse, bool to_probs,
                         ThreadPool& pool);

// In place, probs (cross_entropy_fwd with to_probs) -> dlogits: for unmasked rows
//   ce_coef (softmax - onehot(target)) + z_coef 2 lse softmax,
// zero for masked rows. (ce_coef = weight / count for a mean.)
template <typename S>
void cross_entropy_bwd(S* probs, const int32_t* targets, const S* lse, int64_t N, int64_t V, double ce_coef,
                       double z_coef, ThreadPool& pool);

}  // namespace frugal::train
