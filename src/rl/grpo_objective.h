// The GRPO objective (DeepSeekMath Eq. 3, with the R1 / DAPO / Dr. GRPO
// variants; spec/training.md "GRPO"), reduced to per-token weights:
//
//   rho_t   = pi(o_t) / pi_old(o_t)
//   s_t     = min(rho_t A_i, clip(rho_t, 1 - eps_low, 1 + eps_high) A_i)
//   kl_t    = pi_ref/pi - log(pi_ref/pi) - 1                 (k3 estimator, >= 0)
//   L       = - sum_{i,t} c_{i,t} (s_t - beta kl_t)
//
// with c the aggregation: grpo 1 / (n_seqs |o_i|) (mean per sequence, then
// mean), dapo 1 / sum_i |o_i| (token level), dr_grpo 1 / (n_seqs * budget).
// Since log pi(o_t) = -CE_t, dL/dlogits_t = w_t dCE_t/dlogits_t with
// w_t = -dL/dlog pi(o_t): the policy step is a weighted cross-entropy backward.
#pragma once

#include <cstdint>
#include <vector>

namespace frugal {

enum class GrpoAggregation { Grpo, DrGrpo, Dapo };
// "grpo" | "dr_grpo" | "dapo"; throws frugal::Error otherwise.
GrpoAggregation grpo_aggregation_parse(const char* name);

// Group-relative advantages: r_i - mean(r), divided by (std(r) + 1e-4) when
// std_normalize (std with Bessel's correction, as TRL and DeepSeekMath's code do).
std::vector<float> grpo_advantages(const std::vector<float>& rewards, bool std_normalize);

struct GrpoTokenOptions {
  float eps_low = 0.2f, eps_high = 0.2f;  // DAPO clip-higher: 0.2 / 0.28
  float beta = 0.0f;                      // KL coefficient (R1-Zero: 0.001)
};

struct GrpoToken {
  float objective = 0;   // s_t - beta kl_t (to be maximized)
  float kl = 0;          // k3
  float dobj_dlogp = 0;  // d objective / d log pi(o_t)
  bool clipped = false;  // the clipped branch is the minimum: no policy gradient
};

// One token from the log-probabilities of the sampled token under the current,
// old (sampling) and reference policies.
GrpoToken grpo_token(float logp, float logp_old, float logp_ref, float advantage, const GrpoTokenOptions& opt);

// The aggregation weight c of every token of sequence i: lengths[i] tokens each.
// budget: dr_grpo's constant (the max new tokens).
std::vector<float> grpo_sequence_weights(const std::vector<int64_t>& lengths, GrpoAggregation agg, int64_t budget);

}  // namespace frugal
