// Speculative sampling on a tiny model emits tokens with the distribution of
// plain sampling: over many seeds, the first two generated tokens against their
// exact distributions (computed from the model's logits), the third against
// plain sampling's frequencies; chi-square at the 1e-4 level (chi_square.h).
#include <gtest/gtest.h>

#include "chi_square.h"
#include "spec_test_model.h"

namespace frugal {
namespace {

using test::ChiSquare;

// The sampler's processed distribution after `ids` (one forward pass).
std::vector<double> next_distribution(const Model& m, const std::vector<int32_t>& ids, const SamplerOptions& opt,
                                      ThreadPool& pool) {
  LatentKvCache cache = m.new_cache(int64_t(ids.size()));
  ForwardScratch s;
  ForwardResult r;
  transformer_fwd(m, ids.data(), int64_t(ids.size()), cache, {.all_logits = false}, r, s, pool);
  Sampler sampler(opt);
  std::vector<float> p;
  sampler.distribution(r.logits.data(), m.config.vocab_size, p);
  return std::vector<double>(p.begin(), p.end());
}

TEST(SpeculativeSampling, SameDistributionAsPlainSampling) {
  // A 32-token vocabulary keeps every bin populated; alpha 0.2 makes the drafts
  // right often but not always, so both acceptance and resampling are taken.
  auto t = test::spec_test_model(0.2f, 9, {{"vocab_size", 32}});
  const Model& m = *t.model;
  ThreadPool pool(1);
  const int64_t V = m.config.vocab_size, runs = 4000, depth = 3;
  const std::vector<int32_t> prompt = {5, 17, 3, 29, 11};
  const SamplerOptions base{.temperature = 0.8f, .top_p = 0.9f, .min_p = 0.02f};

  std::vector<std::vector<int64_t>> spec(3, std::vector<int64_t>(size_t(V), 0)), plain = spec;
  SpecCounters counts;
  for (int64_t seed = 0; seed < runs; ++seed) {
    SamplerOptions o = base;
    o.seed = uint64_t(seed);
    const auto s = test::generate_spec(m, prompt, 3, depth, o, pool, &counts);
    const auto p = test::generate_plain(m, prompt, 3, o, pool);
    ASSERT_EQ(s.size(), 3u);
    for (size_t i = 0; i < 3; ++i) ++spec[i][size_t(s[i])], ++plain[i][size_t(p[i])];
  }
  const double first = double(counts.accepted[0]) / double(counts.reached[0]);
  std::printf("[ measured ] first-draft acceptance %.3f, %.2f tokens per step\n", first, counts.tokens_per_step());
  EXPECT_GT(first, 0.2);  // both branches of the rule are taken many times
  EXPECT_LT(first, 0.9);

  // Exact: p(x1 | prompt) and p(x2) = sum_x1 p(x1) p(x2 | prompt, x1).
  const std::vector<double> p1 = next_distribution(m, prompt, base, pool);
  std::vector<double> p2(size_t(V), 0.0);
  for (int32_t x1 = 0; x1 < V; ++x1) {
    if (p1[size_t(x1)] == 0) continue;
    std::vector<int32_t> ids = prompt;
    ids.push_back(x1);
    const std::vector<double> q = next_distribution(m, ids, base, pool);
    for (int64_t j = 0; j < V; ++j) p2[size_t(j)] += p1[size_t(x1)] * q[size_t(j)];
  }
  const ChiSquare c1 = test::chi_square_fit(spec[0], p1), c2 = test::chi_square_fit(spec[1], p2);
  const ChiSquare c3 = test::chi_square_two_sample(spec[2], plain[2]);
  // The same statistics for plain sampling: the reference passes its own test.
  const ChiSquare r1 = test::chi_square_fit(plain[0], p1), r2 = test::chi_square_fit(plain[1], p2);
  std::printf("[ measured ] chi2 token 1: %.1f (df %lld), token 2: %.1f (df %lld), token 3 vs plain: %.1f (df %lld)\n",
              c1.stat, (long long)c1.df, c2.stat, (long long)c2.df, c3.stat, (long long)c3.df);
  EXPECT_TRUE(c1.ok()) << c1.stat << " >= " << c1.critical();
  EXPECT_TRUE(c2.ok()) << c2.stat << " >= " << c2.critical();
  EXPECT_TRUE(c3.ok()) << c3.stat << " >= " << c3.critical();
  EXPECT_TRUE(r1.ok()) << r1.stat << " >= " << r1.critical();
  EXPECT_TRUE(r2.ok()) << r2.stat << " >= " << r2.critical();
  EXPECT_GE(c1.df, 5);  // enough bins for the test to have power
  EXPECT_GE(c2.df, 5);
}

}  // namespace
}  // namespace frugal
