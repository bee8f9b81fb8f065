// The acceptance rule (infer/speculative_accept.h) on hand-made target and
// draft distributions: each branch, and the distribution of what it emits
// (which must be the target's, whatever the drafts' distribution).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "chi_square.h"
#include "infer/speculative_accept.h"

namespace frugal {
namespace {

// logits whose softmax at temperature 1 is p (log 0 -> a very negative logit).
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> l;
  for (double v : p) l.push_back(v > 0 ? float(std::log(v)) : -1e30f);
  return l;
}

std::vector<float> rows(std::initializer_list<std::vector<double>> ps, bool as_logits) {
  std::vector<float> out;
  for (const auto& p : ps) {
    std::vector<float> r = as_logits ? logits_of(p) : std::vector<float>(p.begin(), p.end());
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

TEST(SpecAccept, KeepsWhenTheTargetLikesTheDraftAtLeastAsMuch) {
  EXPECT_TRUE(spec_accept(0.5f, 0.5f, 0.999));
  EXPECT_TRUE(spec_accept(0.9f, 0.1f, 0.999));
}

TEST(SpecAccept, KeepsWithProbabilityPOverQOtherwise) {
  // p / q = 0.25
  EXPECT_TRUE(spec_accept(0.1f, 0.4f, 0.2499));
  EXPECT_FALSE(spec_accept(0.1f, 0.4f, 0.2501));
  EXPECT_FALSE(spec_accept(0.0f, 0.4f, 0.0));  // a token the target never emits
}

TEST(SpecAccept, ResidualIsTheNormalizedPositivePartOfPMinusQ) {
  const std::vector<float> p = {0.5f, 0.3f, 0.2f, 0.0f}, q = {0.2f, 0.5f, 0.1f, 0.2f};
  std::vector<float> r;
  spec_residual(p.data(), q.data(), 4, r);
  // max(0, p - q) = {0.3, 0, 0.1, 0}, sum 0.4
  EXPECT_NEAR(r[0], 0.75, 1e-6);
  EXPECT_EQ(r[1], 0.0f);
  EXPECT_NEAR(r[2], 0.25, 1e-6);
  EXPECT_EQ(r[3], 0.0f);
}

TEST(SpecAccept, EmptyResidualFallsBackToTheTarget) {
  const std::vector<float> p = {0.5f, 0.5f}, q = {0.5f, 0.5f};
  std::vector<float> r;
  spec_residual(p.data(), q.data(), 2, r);
  EXPECT_EQ(r, p);
}

TEST(SpecVerify, GreedyKeepsTheMatchingPrefixThenTheTargetsArgmax) {
  Sampler greedy({});
  SpecVerifyScratch s;
  // argmax per row: 2, 0, 3, 1
  const std::vector<float> l = rows({{0.1, 0.2, 0.6, 0.1}, {0.7, 0.1, 0.1, 0.1}, {0.1, 0.1, 0.1, 0.7}, {0.1, 0.6, 0.2, 0.1}}, true);
  const int32_t all_right[3] = {2, 0, 3};
  SpecVerdict v = spec_verify(l.data(), nullptr, all_right, 3, 4, greedy, s);
  EXPECT_EQ(v.accepted, 3);
  EXPECT_EQ(v.next, 1);  // the bonus token
  const int32_t second_wrong[3] = {2, 1, 3};
  v = spec_verify(l.data(), nullptr, second_wrong, 3, 4, greedy, s);
  EXPECT_EQ(v.accepted, 1);
  EXPECT_EQ(v.next, 0);  // the target's own choice where the draft went wrong
  const int32_t first_wrong[3] = {0, 0, 3};
  v = spec_verify(l.data(), nullptr, first_wrong, 3, 4, greedy, s);
  EXPECT_EQ(v.accepted, 0);
  EXPECT_EQ(v.next, 2);
  v = spec_verify(l.data(), nullptr, nullptr, 0, 4, greedy, s);  // no drafts: a plain step
  EXPECT_EQ(v.accepted, 0);
  EXPECT_EQ(v.next, 2);
}

TEST(SpecVerify, DraftTheTargetNeverEmitsIsAlwaysRejected) {
  Sampler sampler({.temperature = 1.0f, .seed = 5});
  SpecVerifyScratch s;
  const std::vector<float> l = rows({{0.6, 0.4, 0.0}, {0.2, 0.3, 0.5}}, true);
  const std::vector<float> q = rows({{0.0, 0.0, 1.0}}, false);
  const int32_t draft[1] = {2};
  for (int i = 0; i < 200; ++i) {
    SpecVerdict v = spec_verify(l.data(), q.data(), draft, 1, 3, sampler, s);
    EXPECT_EQ(v.accepted, 0);
    EXPECT_NE(v.next, 2);
  }
}

TEST(SpecVerify, DraftsFromTheTargetItselfAreAlwaysKept) {
  Sampler sampler({.temperature = 1.0f, .seed = 6});
  SpecVerifyScratch s;
  const std::vector<double> p0 = {0.25, 0.25, 0.5}, p1 = {0.1, 0.6, 0.3};
  const std::vector<float> l = rows({p0, p1, {1.0, 0.0, 0.0}}, true);
  std::vector<float> q = rows({p0, p1}, false);
  const int32_t drafts[2] = {1, 2};
  for (int i = 0; i < 200; ++i) {
    SpecVerdict v = spec_verify(l.data(), q.data(), drafts, 2, 3, sampler, s);
    EXPECT_EQ(v.accepted, 2);
    EXPECT_EQ(v.next, 0);  // the bonus token from the last row (p = {1, 0, 0})
  }
}

// Drafts drawn from q (not p): the first emitted token must follow p0, and the
// second (emitted when the first draft is kept) p1. With top-k 3 the target is
// the sampler's processed distribution (the 3 most likely, renormalized).
void expect_emits_target_distribution(const SamplerOptions& opt, const std::vector<double>& p0_raw,
                                      const std::vector<double>& p1_raw, const std::vector<double>& p0,
                                      const std::vector<double>& p1) {
  const int64_t V = int64_t(p0.size()), n = 60000;
  Sampler sampler(opt);
  SpecVerifyScratch s;
  const std::vector<double> q0 = {0.1, 0.5, 0.1, 0.3}, q1 = {0.4, 0.1, 0.4, 0.1};
  const std::vector<float> l = rows({p0_raw, p1_raw, p1_raw}, true), q = rows({q0, q1}, false);
  std::mt19937_64 rng(77);
  std::discrete_distribution<int32_t> draw0(q0.begin(), q0.end()), draw1(q1.begin(), q1.end());
  std::vector<int64_t> first(size_t(V), 0), second(size_t(V), 0);
  int64_t kept = 0, rejected = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t drafts[2] = {draw0(rng), draw1(rng)};
    SpecVerdict v = spec_verify(l.data(), q.data(), drafts, 2, V, sampler, s);
    ++first[size_t(v.accepted > 0 ? drafts[0] : v.next)];
    if (v.accepted > 0) ++second[size_t(v.accepted > 1 ? drafts[1] : v.next)];
    kept += v.accepted > 0;
    rejected += v.accepted == 0;
  }
  EXPECT_GT(kept, n / 10);  // both branches taken often
  EXPECT_GT(rejected, n / 10);
  test::ChiSquare c0 = test::chi_square_fit(first, p0), c1 = test::chi_square_fit(second, p1);
  EXPECT_TRUE(c0.ok()) << "first token: chi2 " << c0.stat << " > " << c0.critical() << " (df " << c0.df << ")";
  EXPECT_TRUE(c1.ok()) << "second token: chi2 " << c1.stat << " > " << c1.critical() << " (df " << c1.df << ")";
}

TEST(SpecVerify, SampledOutputFollowsTheTargetNotTheDraft) {
  const std::vector<double> p0 = {0.4, 0.1, 0.3, 0.2}, p1 = {0.05, 0.45, 0.2, 0.3};
  expect_emits_target_distribution({.temperature = 1.0f, .seed = 11}, p0, p1, p0, p1);
}

TEST(SpecVerify, SampledOutputFollowsTheProcessedTarget) {
  const std::vector<double> p0 = {0.4, 0.1, 0.3, 0.2}, p1 = {0.05, 0.45, 0.2, 0.3};
  // top-k 3 drops the least likely token and renormalizes
  expect_emits_target_distribution({.temperature = 1.0f, .top_k = 3, .seed = 12}, p0, p1,
                                   {0.4 / 0.9, 0.0, 0.3 / 0.9, 0.2 / 0.9}, {0.0, 0.45 / 0.95, 0.2 / 0.95, 0.3 / 0.95});
}

}  // namespace
}  // namespace frugal
