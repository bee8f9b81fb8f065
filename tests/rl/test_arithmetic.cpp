#include <gtest/gtest.h>

#include "rl/arithmetic.h"

namespace frugal {
namespace {

TEST(Arithmetic, VerifyHandMade) {
  const ArithmeticProblem p{47, 85, '+'};
  EXPECT_EQ(arithmetic_verify(p, "132"), ArithmeticVerdict::Correct);
  EXPECT_EQ(arithmetic_verify(p, " 132\n"), ArithmeticVerdict::Correct);
  EXPECT_EQ(arithmetic_verify(p, "131"), ArithmeticVerdict::Wrong);
  EXPECT_EQ(arithmetic_verify(p, "-132"), ArithmeticVerdict::Wrong);
  for (const char* bad : {"", "1 32", "132.0", "13a", "+132", "-", "1,132", "99999999999999999999"})
    EXPECT_EQ(arithmetic_verify(p, bad), ArithmeticVerdict::Malformed) << bad;
  EXPECT_EQ(arithmetic_verify({12, 30, '-'}, "-18"), ArithmeticVerdict::Correct);
  EXPECT_EQ(arithmetic_verify({347, 28, '*'}, "9716"), ArithmeticVerdict::Correct);
}

TEST(Arithmetic, StepsWrittenOutByHand) {
  EXPECT_EQ(arithmetic_steps({47, 85, '+'}),
            "7 + 5 = 12, write 2 carry 1\n4 + 8 + 1 = 13, write 13\nso 47 + 85 = 132");
  EXPECT_EQ(arithmetic_steps({532, 47, '-'}),
            "2 - 7 needs a borrow: 12 - 7 = 5\n3 - 5 needs a borrow: 13 - 5 = 8\n5 - 1 = 4\nso 532 - 47 = 485");
  EXPECT_EQ(arithmetic_steps({347, 28, '*'}),
            "347 * 8 = 2776\n347 * 20 = 6940\n2776 + 6940 = 9716\nso 347 * 28 = 9716");
}

TEST(Arithmetic, GeneratedProblemsInBandAndDisjoint) {
  for (int64_t i = 0; i < 300; ++i) {
    ArithmeticProblem p = arithmetic_problem(5, TaskSplit::Test, kArithmeticStandard, i);
    ASSERT_EQ(arithmetic_split_of(p), TaskSplit::Test);
    ASSERT_TRUE(p.a >= 10 && p.a <= 999 && p.b >= 10 && p.b <= 999);
    ArithmeticProblem q = arithmetic_problem(5, TaskSplit::Train, kArithmeticStandard, i);
    ASSERT_EQ(arithmetic_split_of(q), TaskSplit::Train);
    if (q.op == '-') {
      ASSERT_GE(q.a, q.b);
    }
    // The written-out steps end with the true result.
    const std::string steps = arithmetic_steps(q);
    ASSERT_EQ(steps.substr(steps.rfind(' ') + 1), std::to_string(q.result()));
  }
  ArithmeticProblem hard = arithmetic_problem(5, TaskSplit::Test, kArithmeticHard, 0);
  EXPECT_GE(hard.a, 1000);
}

}  // namespace
}  // namespace frugal
