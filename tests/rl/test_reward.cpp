#include <gtest/gtest.h>

#include "rl/reward.h"

namespace frugal {
namespace {

TEST(CompletionParse, WellFormed) {
  CompletionParts p = completion_parse("<think>\ntry 3 + 5 = 8, no\n</think>\n<answer>(25 - 5) * 3</answer>\n", false);
  EXPECT_TRUE(p.format_ok);
  EXPECT_TRUE(p.has_answer);
  EXPECT_EQ(p.answer, "(25 - 5) * 3");
  EXPECT_EQ(p.thinking, "\ntry 3 + 5 = 8, no\n");
  // R1's template opens the block in the prompt: the completion starts inside it.
  p = completion_parse("let me see</think> <answer>7</answer>", true);
  EXPECT_TRUE(p.format_ok);
  EXPECT_EQ(p.answer, "7");
}

TEST(CompletionParse, Malformed) {
  for (const char* text : {
           "<answer>7</answer>",                           // no reasoning block
           "<think>x</think>",                             // no answer
           "<think>x</think> 7",                           // answer not tagged
           "<think>x</think><answer>7</answer> more",      // text after the answer
           "<think>x<think>y</think><answer>7</answer>",   // nested block
           "<think>x</think><answer>7",                    // unclosed answer
           "<think>x</think><answer><answer>7</answer>",   // doubled tag
           "hello <think>x</think><answer>7</answer>",     // text before the block
       })
    EXPECT_FALSE(completion_parse(text, false).format_ok) << text;
  EXPECT_FALSE(completion_parse("<think>x</think><answer>7</answer>", true).format_ok);  // block opened twice
  CompletionParts p = completion_parse("<think>x</think> blah <answer>1</answer> <answer>2</answer>", false);
  EXPECT_FALSE(p.format_ok);
  EXPECT_TRUE(p.has_answer);
  EXPECT_EQ(p.answer, "2");  // the last answer is judged
}

TEST(Reward, WeightsAndRandomControl) {
  CompletionParts good = completion_parse("<think>x</think><answer>7</answer>", false);
  RewardOptions opt{.accuracy_weight = 1.0f, .format_weight = 0.25f};
  EXPECT_FLOAT_EQ(reward_compute(good, true, opt, 0).total, 1.25f);
  EXPECT_FLOAT_EQ(reward_compute(good, false, opt, 0).total, 0.25f);
  CompletionParts bad = completion_parse("7", false);
  EXPECT_FLOAT_EQ(reward_compute(bad, true, opt, 0).total, 0.0f);  // no answer tag: nothing to judge

  opt.random = true;
  opt.random_p = 0.3f;
  int hits = 0;
  for (uint64_t i = 0; i < 10000; ++i) {
    float r = reward_compute(bad, false, opt, i).total;
    ASSERT_TRUE(r == 0.0f || r == 1.25f);
    hits += r > 0;
    ASSERT_EQ(r, reward_compute(good, true, opt, i).total);  // independent of the completion
  }
  EXPECT_NEAR(hits / 10000.0, 0.3, 0.02);  // 4.4 standard deviations
}

}  // namespace
}  // namespace frugal
