// The aux-loss-free bias update (Wang et al. arXiv 2408.15664) on hand-made loads,
// and on a skewed synthetic routing stream where it must lower MaxVio.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "train/bias_balance.h"

namespace frugal {
namespace {

TEST(MaxViolation, HandValues) {
  EXPECT_DOUBLE_EQ(max_violation({10, 20, 30, 40}), 0.6);  // (40 - 25) / 25
  EXPECT_DOUBLE_EQ(max_violation({5, 5, 5, 5}), 0.0);
  EXPECT_DOUBLE_EQ(max_violation({0, 0, 8, 0}), 3.0);  // (8 - 2) / 2
  EXPECT_DOUBLE_EQ(max_violation({0, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(max_violation({}), 0.0);
}

// Two MoE layers of 4 experts (listed out of order) and an MTP layer's bias
// (layer 3 of a 3-layer model) that the rule must not touch.
struct Biases {
  ModelConfig cfg;
  std::vector<float> b1{0.1f, 0.2f, 0.3f, 0.4f}, b2{0, 0, 0, 0}, b_mtp{0, 0, 0, 0};
  std::vector<ParamTensor> params;
  Biases() {
    cfg.num_hidden_layers = 3;
    params = {{.name = "model.layers.2.mlp.gate.e_score_correction_bias", .shape = {4}, .value = b2.data(), .router_bias = true, .layer = 2},
              {.name = "model.layers.3.mlp.gate.e_score_correction_bias", .shape = {4}, .value = b_mtp.data(), .router_bias = true, .layer = 3},
              {.name = "model.layers.1.mlp.gate.e_score_correction_bias", .shape = {4}, .value = b1.data(), .router_bias = true, .layer = 1}};
  }
};

TEST(BiasBalancer, SignRulePerLayer) {
  Biases t;
  BiasBalancer bb(t.params, t.cfg, {.gamma = 0.001});
  ASSERT_EQ(bb.layers(), 2u);
  bb.add_load({{1, 5, 3, 3}, {0, 0, 0, 12}});  // layer 1 (mean 3), layer 2 (mean 3)
  EXPECT_TRUE(bb.update(0));
  // Underloaded experts go up by gamma, overloaded down, those at the mean stay.
  EXPECT_EQ(t.b1, (std::vector<float>{float(double(0.1f) + 0.001), float(double(0.2f) - 0.001), 0.3f, 0.4f}));
  EXPECT_EQ(t.b2, (std::vector<float>{0.001f, 0.001f, 0.001f, -0.001f}));
  EXPECT_EQ(t.b_mtp, (std::vector<float>{0, 0, 0, 0}));
}

TEST(BiasBalancer, MtpLayersWhenTheModelReportsThem) {
  Biases t;
  BiasBalancer bb(t.params, t.cfg, {.gamma = 0.25});
  EXPECT_EQ(bb.all_layers(), 3u);
  bb.add_load({{3, 3, 3, 3}, {3, 3, 3, 3}, {0, 9, 1, 2}});  // main layers 1, 2, then the MTP layer (mean 3)
  EXPECT_TRUE(bb.update(0));
  EXPECT_EQ(t.b_mtp, (std::vector<float>{0.25f, -0.25f, 0.25f, 0.25f}));
  EXPECT_EQ(t.b1, (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
}

TEST(BiasBalancer, ZeroMeanUpdateKeepsTheSum) {
  Biases t;
  BiasBalancer bb(t.params, t.cfg, {.gamma = 0.01, .zero_mean = true});
  bb.add_load({{1, 5, 5, 5}, {3, 3, 3, 3}});  // signs +,-,-,-: mean update -0.005
  EXPECT_TRUE(bb.update(0));
  EXPECT_FLOAT_EQ(t.b1[0], 0.1f + 0.015f);
  EXPECT_FLOAT_EQ(t.b1[1], 0.2f - 0.005f);
  EXPECT_FLOAT_EQ(t.b1[2], 0.3f - 0.005f);
  EXPECT_FLOAT_EQ(t.b1[3], 0.4f - 0.005f);
  EXPECT_NEAR(std::accumulate(t.b1.begin(), t.b1.end(), 0.0), 1.0, 1e-6);
  EXPECT_EQ(t.b2, (std::vector<float>{0, 0, 0, 0}));  // balanced: no change
}

TEST(BiasBalancer, AccumulatesLoadsOverSteps) {
  Biases t;
  BiasBalancer bb(t.params, t.cfg, {.gamma = 0.5, .accumulate_steps = 2});
  bb.add_load({{4, 0, 0, 0}, {0, 0, 0, 0}});
  EXPECT_FALSE(bb.update(0));
  EXPECT_EQ(t.b1, (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(bb.pending_steps(), 1);
  bb.add_load({{0, 2, 7, 3}, {0, 0, 0, 0}});  // sums {4, 2, 7, 3}, mean 4
  EXPECT_TRUE(bb.update(1));
  EXPECT_EQ(t.b1, (std::vector<float>{0.1f, 0.7f, float(0.3f - 0.5), 0.9f}));
  EXPECT_EQ(bb.pending_steps(), 0);
  EXPECT_EQ(bb.pending_load()[0], (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(BiasBalancer, GammaZeroAtTheEnd) {
  Biases t;
  BiasBalancer bb(t.params, t.cfg, {.gamma = 0.001, .gamma_zero_from = 10});
  EXPECT_EQ(bb.gamma_at(9), 0.001);
  EXPECT_EQ(bb.gamma_at(10), 0.0);
  bb.add_load({{1, 5, 3, 3}, {0, 0, 0, 12}});
  EXPECT_TRUE(bb.update(10));
  EXPECT_EQ(t.b1, (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
}

// A router with skewed affinities (expert i's mean score grows with i) picks the
// top-K of s + b per token. With gamma = 0 the high experts take most tokens;
// the bias rule must bring MaxVio down.
double skewed_stream_max_vio(double gamma) {
  constexpr int E = 8, K = 2, T = 256, steps = 300;
  std::vector<float> bias(E, 0.0f);
  ModelConfig cfg;
  cfg.num_hidden_layers = 1;
  std::vector<ParamTensor> params{{.name = "b", .shape = {E}, .value = bias.data(), .router_bias = true, .layer = 0}};
  BiasBalancer bb(params, cfg, {.gamma = gamma});
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  double vio_sum = 0;
  int vio_n = 0;
  for (int step = 0; step < steps; ++step) {
    std::vector<int64_t> load(E, 0);
    for (int t = 0; t < T; ++t) {
      std::vector<std::pair<float, int>> s(E);
      for (int i = 0; i < E; ++i) s[i] = {0.5f + 0.02f * i + noise(rng) + bias[i], i};
      std::partial_sort(s.begin(), s.begin() + K, s.end(), std::greater<>());
      for (int k = 0; k < K; ++k) ++load[size_t(s[k].second)];
    }
    if (step >= steps - 50) {
      vio_sum += max_violation(load);
      ++vio_n;
    }
    bb.add_load({load});
    bb.update(step);
  }
  return vio_sum / vio_n;
}

TEST(BiasBalancer, LowersMaxVioOnASkewedStream) {
  const double without = skewed_stream_max_vio(0.0);
  const double with = skewed_stream_max_vio(0.001);
  std::printf("MaxVio over the last 50 of 300 steps: gamma 0: %.3f, gamma 0.001: %.3f\n", without, with);
  EXPECT_GT(without, 1.0);       // the skew is real: the busiest expert takes > 2x its share
  EXPECT_LT(with, 0.3 * without);
  EXPECT_LT(with, 0.3);
}

}  // namespace
}  // namespace frugal
