// GRPO rows and token weights: the weighted cross-entropy gradient they define
// equals the gradient of the GRPO loss written out naively from its formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "rl/grpo_batch.h"

namespace frugal {
namespace {

TEST(GrpoRows, LabelsOnCompletionTokensOnly) {
  std::vector<GrpoRollout> rs = {{.prompt = {1, 2, 3}, .completion = {4, 5}}, {.prompt = {7}, .completion = {8, 9, 10}}};
  TrainBatch b = grpo_rows(rs);
  ASSERT_EQ(b.B, 2);
  ASSERT_EQ(b.T, 4);
  EXPECT_EQ(b.tokens, (std::vector<int32_t>{1, 2, 3, 4, 7, 8, 9, 0}));
  EXPECT_EQ(b.labels, (std::vector<int32_t>{-1, -1, 4, 5, 8, 9, 10, -1}));
  EXPECT_EQ(b.doc, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 1}));
}

// The GRPO objective from its definition (spec/training.md), per token.
double naive_objective(double logp, double old, double ref, double A, double el, double eh, double beta) {
  const double rho = std::exp(logp - old);
  const double s = std::min(rho * A, std::clamp(rho, 1 - el, 1 + eh) * A);
  const double kl = std::exp(ref - logp) - (ref - logp) - 1;
  return s - beta * kl;
}

TEST(GrpoWeights, WeightedCrossEntropyGradientIsTheGrpoGradient) {
  // A free "policy": one logit vector per label position.
  const int V = 5;
  std::vector<GrpoRollout> rs = {{.prompt = {1, 2}, .completion = {3, 0, 4}, .advantage = 1.3f},
                                 {.prompt = {2}, .completion = {1, 1}, .advantage = -0.7f},
                                 {.prompt = {4, 4, 4}, .completion = {2}, .advantage = 0.4f}};
  TrainBatch b = grpo_rows(rs);
  const size_t n = size_t(b.B * b.T);
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0, 1);
  std::vector<double> z(n * V);
  for (double& x : z) x = nd(rng);
  std::vector<float> logp_old(n, 0), logp_ref(n, 0);
  for (size_t i = 0; i < n; ++i) logp_old[i] = float(-1.6 + 0.4 * nd(rng)), logp_ref[i] = float(-1.6 + 0.4 * nd(rng));
  auto log_softmax_at = [&](const std::vector<double>& zz, size_t at, int label) {
    double mx = *std::max_element(zz.begin() + long(at * V), zz.begin() + long(at * V + V)), s = 0;
    for (int v = 0; v < V; ++v) s += std::exp(zz[at * V + v] - mx);
    return zz[at * V + label] - mx - std::log(s);
  };
  for (GrpoAggregation agg : {GrpoAggregation::Grpo, GrpoAggregation::Dapo, GrpoAggregation::DrGrpo}) {
    const GrpoTokenOptions opt{.eps_low = 0.2f, .eps_high = 0.28f, .beta = 0.05f};
    std::vector<int64_t> lengths;
    for (const GrpoRollout& r : rs) lengths.push_back(int64_t(r.completion.size()));
    const std::vector<float> c = grpo_sequence_weights(lengths, agg, 6);
    auto loss = [&](const std::vector<double>& zz) {  // L = -J
      double J = 0;
      for (int64_t i = 0; i < b.B; ++i)
        for (int64_t t = 0; t < b.T; ++t) {
          const size_t at = size_t(i * b.T + t);
          if (b.labels[at] < 0) continue;
          J += c[size_t(i)] * naive_objective(log_softmax_at(zz, at, b.labels[at]), logp_old[at], logp_ref[at],
                                              rs[size_t(i)].advantage, 0.2, 0.28, 0.05);
        }
      return -J;
    };
    std::vector<float> logp(n, 0);
    for (size_t at = 0; at < n; ++at)
      if (b.labels[at] >= 0) logp[at] = float(log_softmax_at(z, at, b.labels[at]));
    GrpoStepStats st = grpo_weights(b, rs, c, logp, logp_old, logp_ref, opt);
    EXPECT_EQ(st.tokens, 6);
    EXPECT_NEAR(st.objective, -loss(z), 1e-5);
    // dL/dz = w_t (softmax(z_t) - onehot(label_t)): the weighted CE backward.
    for (size_t at = 0; at < n; ++at) {
      if (b.labels[at] < 0) {
        EXPECT_EQ(b.label_weight[at], 0.0f);
        continue;
      }
      for (int v = 0; v < V; ++v) {
        const double p = std::exp(log_softmax_at(z, at, v));
        const double analytic = b.label_weight[at] * (p - (v == b.labels[at] ? 1.0 : 0.0));
        std::vector<double> zp = z, zm = z;
        zp[at * V + v] += 1e-5, zm[at * V + v] -= 1e-5;
        const double numeric = (loss(zp) - loss(zm)) / 2e-5;
        EXPECT_NEAR(analytic, numeric, 1e-6) << "position " << at << " logit " << v;
      }
    }
  }
}

TEST(GrpoWeights, OneUpdatePerBatchIsAdvantageTimesAggregation) {
  std::vector<GrpoRollout> rs = {{.prompt = {1}, .completion = {2, 3}, .advantage = 2.0f},
                                 {.prompt = {1}, .completion = {4}, .advantage = -1.0f}};
  TrainBatch b = grpo_rows(rs);
  GrpoStepStats st = grpo_weights(b, rs, {0.25f, 0.5f}, {}, {}, {}, {});
  EXPECT_EQ(b.label_weight, (std::vector<float>{0.5f, 0.5f, -0.5f, 0.0f}));
  EXPECT_EQ(st.clip_fraction, 0.0);
  EXPECT_EQ(st.kl, 0.0);
}

}  // namespace
}  // namespace frugal
