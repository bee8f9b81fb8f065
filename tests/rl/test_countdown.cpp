// The Countdown verifier on hand-made answers, the solver against the verifier,
// and the generator's determinism and split disjointness.
#include <gtest/gtest.h>

#include <set>

#include "rl/countdown.h"

namespace frugal {
namespace {

using V = CountdownVerdict;

TEST(CountdownVerify, HandMadeAnswers) {
  const CountdownProblem p{{25, 5, 3}, 60};
  EXPECT_EQ(countdown_verify(p, "(25 - 5) * 3"), V::Correct);
  EXPECT_EQ(countdown_verify(p, " (25-5)*3 = 60 "), V::Correct);
  EXPECT_EQ(countdown_verify(p, "3 x (25 - 5)"), V::Correct);
  EXPECT_EQ(countdown_verify(p, "3 \u00d7 (25 - 5)"), V::Correct);
  EXPECT_EQ(countdown_verify(p, "(25 - 5) * 3 = 61"), V::WrongValue);  // a false stated result
  EXPECT_EQ(countdown_verify(p, "25 + 5 + 3"), V::WrongValue);
  EXPECT_EQ(countdown_verify(p, "25 * 3 - 5 - 5"), V::NumbersMismatch);  // 5 reused, 3 ... used once
  EXPECT_EQ(countdown_verify(p, "(25 + 5) * 2"), V::NumbersMismatch);    // 2 not given, 3 missing
  EXPECT_EQ(countdown_verify(p, "25 * 3"), V::NumbersMismatch);          // 5 missing
  EXPECT_EQ(countdown_verify(p, "(25 - 5) * 3 + 0"), V::NumbersMismatch);
  EXPECT_EQ(countdown_verify(p, "250 - 5 * 3"), V::NumbersMismatch);     // digits glued together
  for (const char* bad : {"", "   ", "25 5 3", "(25 - 5 * 3", "25 - 5) * 3", "abc", "25 ** 5 - 3",
                          "-25 + 5 * 3", "(25 - 5) * 3 =", "(25 - 5) * 3 = x"})
    EXPECT_EQ(countdown_verify(p, bad), V::Malformed) << "'" << bad << "'";
}

TEST(CountdownVerify, DivisionByZeroAndExactFractions) {
  EXPECT_EQ(countdown_verify({{3, 3, 7}, 7}, "7 / (3 - 3)"), V::DivisionByZero);
  EXPECT_EQ(countdown_verify({{3, 3, 7}, 1}, "(3 - 3) / 7 + 1"), V::NumbersMismatch);  // 1 not given
  // Intermediate fractions are exact: 6 / (1 - 3/4) = 24, 8 / (3 - 8/3) = 24.
  EXPECT_EQ(countdown_verify({{1, 3, 4, 6}, 24}, "6 / (1 - 3 / 4)"), V::Correct);
  EXPECT_EQ(countdown_verify({{8, 3, 8, 3}, 24}, "8 / (3 - 8 / 3)"), V::Correct);
  EXPECT_EQ(countdown_verify({{2, 3, 6}, 1}, "6 / 3 / 2"), V::Correct);   // left associative: (6/3)/2
  EXPECT_EQ(countdown_verify({{2, 3, 6}, 4}, "6 / 3 / 2"), V::WrongValue);
  EXPECT_EQ(countdown_verify({{2, 3, 7}, 3}, "7 / 2 * 3 - 7"), V::NumbersMismatch);
  EXPECT_EQ(countdown_verify({{2, 3, 7}, 10}, "7 / 2 * 3 - 0"), V::NumbersMismatch);
  // 7 / 2 + 3 = 6.5: not the whole number 6 or 7.
  EXPECT_EQ(countdown_verify({{2, 3, 7}, 6}, "7 / 2 + 3"), V::WrongValue);
  EXPECT_EQ(countdown_verify({{2, 3, 7}, 7}, "7 / 2 + 3"), V::WrongValue);
}

TEST(CountdownSolve, SolutionsVerifyAndImpossibleProblemsHaveNone) {
  EXPECT_FALSE(countdown_solve({{1, 1, 1}, 100}).has_value());
  std::optional<std::string> s = countdown_solve({{8, 3, 8, 3}, 24});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(countdown_verify({{8, 3, 8, 3}, 24}, *s), V::Correct) << *s;
}

TEST(CountdownGenerate, DeterministicSolvableInBandAndSplitsDisjoint) {
  std::set<std::vector<int64_t>> train, test;
  auto key = [](const CountdownProblem& p) {
    std::vector<int64_t> k = p.numbers;
    std::sort(k.begin(), k.end());
    k.push_back(p.target);
    return k;
  };
  for (int64_t i = 0; i < 600; ++i) {
    CountdownProblem p = countdown_problem(1, TaskSplit::Train, kCountdownStandard, i);
    CountdownProblem again = countdown_problem(1, TaskSplit::Train, kCountdownStandard, i);
    ASSERT_EQ(p.numbers, again.numbers);
    ASSERT_EQ(p.target, again.target);
    ASSERT_EQ(p.numbers.size(), 3u);
    for (int64_t n : p.numbers) ASSERT_TRUE(n >= 1 && n <= kCountdownStandard.max_number);
    ASSERT_TRUE(p.target >= 1 && p.target <= kCountdownStandard.max_target);
    std::optional<std::string> s = countdown_solve(p);
    ASSERT_TRUE(s.has_value()) << "unsolvable problem generated";
    ASSERT_EQ(countdown_verify(p, *s), V::Correct);
    train.insert(key(p));
  }
  for (uint64_t seed : {1, 2, 3})
    for (int64_t i = 0; i < 200; ++i) {
      CountdownProblem p = countdown_problem(seed, TaskSplit::Test, kCountdownStandard, i);
      ASSERT_EQ(countdown_split_of(p), TaskSplit::Test);
      test.insert(key(p));
    }
  for (const auto& k : test) EXPECT_EQ(train.count(k), 0u) << "a test problem is also a train problem";
  EXPECT_GT(train.size(), 400u);  // not a handful of repeats
  EXPECT_GT(test.size(), 200u);

  CountdownProblem hard = countdown_problem(1, TaskSplit::Test, kCountdownHard, 0);
  EXPECT_EQ(hard.numbers.size(), 4u);
  EXPECT_TRUE(countdown_solve(hard).has_value());
}

TEST(CountdownQuestion, NamesNumbersAndTarget) {
  EXPECT_EQ(countdown_question({{3, 5, 7}, 22}),
            "Using the numbers [3, 5, 7], create an equation that equals 22. You can use basic arithmetic "
            "operations (+, -, *, /) and each number must be used exactly once.");
}

}  // namespace
}  // namespace frugal
