// A GRPO update as training rows: every sampled completion with its prompt as one
// row of a TrainBatch (padded to the longest), labels on completion tokens only,
// and the per-token weights that turn the weighted cross-entropy backward into
// the gradient of the GRPO loss (rl/grpo_objective.h):
//   w_t = c_i * d objective_t / d log pi(o_t),   L = sum_t w_t CE_t.
#pragma once

#include <cstdint>
#include <vector>

#include "rl/grpo_objective.h"
#include "train/trainable.h"

namespace frugal {

struct GrpoRollout {
  std::vector<int32_t> prompt, completion;  // completion: the sampled tokens (stop token included)
  float reward = 0, advantage = 0;
};

// Row i: inputs prompt + completion minus the last token; label at position t is
// token t + 1 where that token belongs to the completion, -1 elsewhere.
TrainBatch grpo_rows(const std::vector<GrpoRollout>& rollouts);

struct GrpoStepStats {
  double objective = 0;      // sum_t c_i (s_t - beta kl_t): the quantity maximized
  double kl = 0;             // mean k3 KL per completion token
  double clip_fraction = 0;  // share of completion tokens on the clipped branch
  int64_t tokens = 0;        // completion tokens
};

// Fills batch.label_weight. logp / logp_old / logp_ref: [B * T] log-probabilities of
// each label under the current, sampling and reference policies (LossStats::
// target_logprob); an empty logp_old means "equal to logp" (one update per batch,
// rho = 1), an empty logp means "equal to logp_old", an empty logp_ref means no KL
// term (beta must then be 0). seq_weight: c_i of each row (grpo_sequence_weights).
GrpoStepStats grpo_weights(TrainBatch& batch, const std::vector<GrpoRollout>& rollouts,
                           const std::vector<float>& seq_weight, const std::vector<float>& logp,
                           const std::vector<float>& logp_old, const std::vector<float>& logp_ref,
                           const GrpoTokenOptions& opt);

}  // namespace frugal
