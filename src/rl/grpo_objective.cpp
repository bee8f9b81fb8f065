#include "rl/grpo_objective.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace frugal {

GrpoAggregation grpo_aggregation_parse(const char* name) {
  if (std::strcmp(name, "grpo") == 0) return GrpoAggregation::Grpo;
  if (std::strcmp(name, "dr_grpo") == 0) return GrpoAggregation::DrGrpo;
  if (std::strcmp(name, "dapo") == 0) return GrpoAggregation::Dapo;
  fail("unknown aggregation '{}': expected grpo, dr_grpo or dapo", name);
}

std::vector<float> grpo_advantages(const std::vector<float>& rewards, bool std_normalize) {
  const size_t G = rewards.size();
  std::vector<float> adv(G, 0.0f);
  if (G == 0) return adv;
  double mean = 0;
  for (float r : rewards) mean += r;
  mean /= double(G);
  double var = 0;
  for (float r : rewards) var += (r - mean) * (r - mean);
  const double std_dev = G > 1 ? std::sqrt(var / double(G - 1)) : 0.0;
  for (size_t i = 0; i < G; ++i) {
    double a = rewards[i] - mean;
    adv[i] = float(std_normalize ? a / (std_dev + 1e-4) : a);
  }
  return adv;
}

GrpoToken grpo_token(float logp, float logp_old, float logp_ref, float advantage, const GrpoTokenOptions& opt) {
  GrpoToken t;
  const double rho = std::exp(double(logp) - double(logp_old));
  const double clipped_rho = std::clamp(rho, 1.0 - opt.eps_low, 1.0 + opt.eps_high);
  const double unclipped = rho * advantage, clipped = clipped_rho * advantage;
  // min(): the clipped term wins only when it is strictly smaller, i.e. rho left
  // the trust region in the direction the advantage pushes it.
  t.clipped = clipped < unclipped;
  const double surrogate = t.clipped ? clipped : unclipped;
  const double dsurrogate = t.clipped ? 0.0 : unclipped;  // d(rho A)/dlogp = rho A

  const double log_ratio = double(logp_ref) - double(logp);  // log(pi_ref / pi)
  const double ratio = std::exp(log_ratio);
  t.kl = float(ratio - log_ratio - 1.0);
  const double dkl = 1.0 - ratio;  // d kl / d logp
  t.objective = float(surrogate - opt.beta * t.kl);
  t.dobj_dlogp = float(dsurrogate - opt.beta * dkl);
  return t;
}

std::vector<float> grpo_sequence_weights(const std::vector<int64_t>& lengths, GrpoAggregation agg, int64_t budget) {
  const double n = double(lengths.size());
  int64_t total = 0;
  for (int64_t l : lengths) total += l;
  std::vector<float> c(lengths.size(), 0.0f);
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] == 0) continue;
    switch (agg) {
      case GrpoAggregation::Grpo: c[i] = float(1.0 / (n * double(lengths[i]))); break;
      case GrpoAggregation::Dapo: c[i] = float(1.0 / double(total)); break;
      case GrpoAggregation::DrGrpo:
        FRUGAL_CHECK(budget > 0, "dr_grpo needs a positive token budget");
        c[i] = float(1.0 / (n * double(budget)));
        break;
    }
  }
  return c;
}

}  // namespace frugal
