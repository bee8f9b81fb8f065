// GRPO's pieces against values computed by hand (and one finite difference).
#include <gtest/gtest.h>

#include <cmath>

#include "rl/grpo_objective.h"
#include "rl/pass_at_k.h"

namespace frugal {
namespace {

TEST(GrpoAdvantages, HandComputed) {
  // mean 0.5, sample std sqrt(4 * 0.25 / 3) = 0.577350
  std::vector<float> a = grpo_advantages({1, 0, 0, 1}, true);
  EXPECT_NEAR(a[0], 0.5 / (0.5773503 + 1e-4), 1e-6);
  EXPECT_NEAR(a[1], -0.5 / (0.5773503 + 1e-4), 1e-6);
  a = grpo_advantages({1, 0, 0, 1}, false);  // Dr. GRPO: no std
  EXPECT_FLOAT_EQ(a[0], 0.5f);
  EXPECT_FLOAT_EQ(a[2], -0.5f);
  a = grpo_advantages({0.3f, 0.3f, 0.3f}, true);  // all equal: no signal
  for (float x : a) EXPECT_FLOAT_EQ(x, 0.0f);
  // rewards 2, 0, 1: mean 1, std 1
  a = grpo_advantages({2, 0, 1}, true);
  EXPECT_NEAR(a[0], 1 / 1.0001, 1e-6);
  EXPECT_NEAR(a[1], -1 / 1.0001, 1e-6);
  EXPECT_FLOAT_EQ(a[2], 0.0f);
}

TEST(GrpoAggregation, UnequalLengthsByHand) {
  const std::vector<int64_t> lengths = {2, 4, 0, 10};  // the empty one gets no weight
  std::vector<float> c = grpo_sequence_weights(lengths, GrpoAggregation::Grpo, 0);
  EXPECT_FLOAT_EQ(c[0], 1.0f / (4 * 2));
  EXPECT_FLOAT_EQ(c[1], 1.0f / (4 * 4));
  EXPECT_FLOAT_EQ(c[2], 0.0f);
  EXPECT_FLOAT_EQ(c[3], 1.0f / (4 * 10));
  c = grpo_sequence_weights(lengths, GrpoAggregation::Dapo, 0);
  EXPECT_FLOAT_EQ(c[0], 1.0f / 16);
  EXPECT_FLOAT_EQ(c[3], 1.0f / 16);
  c = grpo_sequence_weights(lengths, GrpoAggregation::DrGrpo, 32);
  EXPECT_FLOAT_EQ(c[1], 1.0f / (4 * 32));
  EXPECT_FLOAT_EQ(c[3], 1.0f / (4 * 32));
  EXPECT_EQ(grpo_aggregation_parse("dapo"), GrpoAggregation::Dapo);
  EXPECT_THROW(grpo_aggregation_parse("ppo"), std::exception);
}

TEST(GrpoToken, KlIsZeroWhenPolicyEqualsReference) {
  GrpoToken t = grpo_token(-1.3f, -1.3f, -1.3f, 0.7f, {.beta = 0.5f});
  EXPECT_FLOAT_EQ(t.kl, 0.0f);
  EXPECT_FLOAT_EQ(t.objective, 0.7f);   // rho = 1
  EXPECT_FLOAT_EQ(t.dobj_dlogp, 0.7f);  // rho A, and dKL = 0
  // k3 >= 0 elsewhere: ratio e^{0.4}: e^{0.4} - 0.4 - 1
  t = grpo_token(-1.3f, -1.3f, -0.9f, 0.0f, {.beta = 1.0f});
  EXPECT_NEAR(t.kl, std::exp(0.4) - 0.4 - 1, 1e-6);
}

TEST(GrpoToken, ClipBranches) {
  const GrpoTokenOptions opt{.eps_low = 0.2f, .eps_high = 0.28f};
  const float up = 0.5f, down = -0.5f;  // log rho: rho = 1.6487 or 0.6065
  // A > 0, rho above 1 + eps_high: clipped, objective 1.28 A, no gradient.
  GrpoToken t = grpo_token(up, 0, 0, 2.0f, opt);
  EXPECT_TRUE(t.clipped);
  EXPECT_NEAR(t.objective, 1.28 * 2.0, 1e-6);
  EXPECT_EQ(t.dobj_dlogp, 0.0f);
  // A > 0, rho below 1 - eps_low: the unclipped term is the smaller: gradient rho A.
  t = grpo_token(down, 0, 0, 2.0f, opt);
  EXPECT_FALSE(t.clipped);
  EXPECT_NEAR(t.dobj_dlogp, std::exp(-0.5) * 2.0, 1e-6);
  // A < 0, rho below 1 - eps_low: clipped at 0.8 A.
  t = grpo_token(down, 0, 0, -2.0f, opt);
  EXPECT_TRUE(t.clipped);
  EXPECT_NEAR(t.objective, 0.8 * -2.0, 1e-6);
  EXPECT_EQ(t.dobj_dlogp, 0.0f);
  // A < 0, rho above 1 + eps_high: unclipped, gradient rho A (pushes rho down).
  t = grpo_token(up, 0, 0, -2.0f, opt);
  EXPECT_FALSE(t.clipped);
  EXPECT_NEAR(t.dobj_dlogp, std::exp(0.5) * -2.0, 1e-5);
}

TEST(GrpoToken, GradientMatchesCentralDifference) {
  const GrpoTokenOptions opt{.eps_low = 0.2f, .eps_high = 0.2f, .beta = 0.04f};
  for (float logp : {-2.1f, -1.95f, -1.8f})
    for (float adv : {-1.5f, 0.8f}) {
      const float logp_old = -2.0f, logp_ref = -1.7f, h = 1e-3f;
      GrpoToken t = grpo_token(logp, logp_old, logp_ref, adv, opt);
      double numeric = (double(grpo_token(logp + h, logp_old, logp_ref, adv, opt).objective) -
                        double(grpo_token(logp - h, logp_old, logp_ref, adv, opt).objective)) /
                       (2 * h);
      EXPECT_NEAR(t.dobj_dlogp, numeric, 2e-3) << logp << " " << adv;
    }
}

TEST(PassAtK, HandComputed) {
  EXPECT_DOUBLE_EQ(pass_at_k(2, 1, 1), 0.5);
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 2), 0.5);  // 1 - C(3,2)/C(4,2) = 1 - 3/6
  EXPECT_NEAR(pass_at_k(10, 3, 4), 1.0 - 35.0 / 210.0, 1e-12);  // 1 - C(7,4)/C(10,4)
  EXPECT_DOUBLE_EQ(pass_at_k(10, 0, 5), 0.0);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 5, 1), 1.0);
  EXPECT_DOUBLE_EQ(pass_at_k(8, 4, 5), 1.0);  // every draw of 5 contains a correct one
}

}  // namespace
}  // namespace frugal
