// Batched offline generation against the one-sequence generate(): the same
// tokens for every sample, greedy or sampled, whatever the batch composition.
#include <gtest/gtest.h>

#include "infer/batch_generate.h"
#include "infer/generate.h"
#include "tiny_chat_model.h"

namespace frugal {
namespace {

std::vector<int32_t> generate_one(const Model& m, const std::vector<int32_t>& prompt, const BatchGenerateOptions& opt,
                                  uint64_t seed, ThreadPool& pool) {
  GenerateOptions g{.max_tokens = opt.max_new_tokens, .sampling = opt.sampling, .stop_tokens = opt.stop_tokens};
  g.sampling.seed = seed;
  std::vector<int32_t> out;
  generate(m, prompt, g, [&](int32_t t) { out.push_back(t); return true; }, pool);
  return out;
}

class BatchGenerate : public ::testing::Test {
 protected:
  test::TinyChatModel tiny;
  ThreadPool pool{2};
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9, 2}, {7}, {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 11}, {40, 2}};
};

TEST_F(BatchGenerate, GreedyEqualsOneSequenceGeneration) {
  const Model& m = *tiny.model;
  BatchGenerateOptions opt{.max_new_tokens = 12};
  std::vector<Generation> gens = batch_generate(m, prompts, 3, opt, pool);
  ASSERT_EQ(gens.size(), prompts.size() * 3);
  for (size_t p = 0; p < prompts.size(); ++p) {
    std::vector<int32_t> want = generate_one(m, prompts[p], opt, 0, pool);
    for (size_t g = 0; g < 3; ++g) EXPECT_EQ(gens[p * 3 + g].tokens, want) << "prompt " << p << " sample " << g;
  }
}

TEST_F(BatchGenerate, SampledTokensDependOnlyOnTheSampleSeed) {
  const Model& m = *tiny.model;
  BatchGenerateOptions opt{.max_new_tokens = 10, .sampling = {.temperature = 1.0f, .top_p = 0.95f, .seed = 77}};
  std::vector<Generation> wide = batch_generate(m, prompts, 4, opt, pool);
  opt.max_sequences = 4;  // one prompt per round
  std::vector<Generation> narrow = batch_generate(m, prompts, 4, opt, pool);
  int distinct = 0;
  for (size_t p = 0; p < prompts.size(); ++p)
    for (size_t g = 0; g < 4; ++g) {
      const std::vector<int32_t>& t = wide[p * 4 + g].tokens;
      EXPECT_EQ(t, narrow[p * 4 + g].tokens);
      EXPECT_EQ(t, generate_one(m, prompts[p], opt, batch_generate_seed(77, int64_t(p), int64_t(g)), pool));
      distinct += g > 0 && t != wide[p * 4].tokens;
    }
  EXPECT_GT(distinct, 0);  // the samples of a prompt differ
}

TEST_F(BatchGenerate, StopsAtStopTokensAndLength) {
  const Model& m = *tiny.model;
  BatchGenerateOptions opt{.max_new_tokens = 16, .sampling = {.temperature = 1.5f, .seed = 5}};
  std::vector<Generation> free_run = batch_generate(m, prompts, 2, opt, pool);
  // Stop on the third token each sample drew when running free.
  for (const Generation& g : free_run) {
    ASSERT_EQ(g.tokens.size(), 16u);
    EXPECT_FALSE(g.stopped);
  }
  opt.stop_tokens = {free_run[0].tokens[2]};
  std::vector<Generation> stopped = batch_generate(m, prompts, 2, opt, pool);
  EXPECT_TRUE(stopped[0].stopped);
  EXPECT_LE(stopped[0].tokens.size(), 3u);
  EXPECT_EQ(stopped[0].tokens.back(), free_run[0].tokens[2]);
  for (size_t i = 0; i < stopped.size(); ++i) {
    const auto& t = stopped[i].tokens;
    // Up to its stop token, each sample is its free run.
    EXPECT_TRUE(std::equal(t.begin(), t.end(), free_run[i].tokens.begin()));
    EXPECT_EQ(stopped[i].stopped, t.size() < 16u || t.back() == opt.stop_tokens[0]);
  }
}

TEST_F(BatchGenerate, RejectsBadInput) {
  const Model& m = *tiny.model;
  EXPECT_THROW(batch_generate(m, {{}}, 1, {}, pool), Error);
  EXPECT_THROW(batch_generate(m, {{1, 999999}}, 1, {}, pool), Error);
  EXPECT_THROW(batch_generate(m, {{1}}, 0, {}, pool), Error);
}

}  // namespace
}  // namespace frugal
