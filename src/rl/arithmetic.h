// Multi-digit arithmetic with written-out steps: a + b, a - b, a * b with
// operands of a given number of digits. The verifier checks the final integer;
// arithmetic_steps writes the school method out (the corpus teaches it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rl/countdown.h"  // TaskSplit

namespace frugal {

struct ArithmeticProblem {
  int64_t a = 0, b = 0;
  char op = '+';  // '+', '-' or '*'
  int64_t result() const { return op == '+' ? a + b : op == '-' ? a - b : a * b; }
};

struct ArithmeticBand {
  int min_digits = 2, max_digits = 3;  // of each operand
};
inline constexpr ArithmeticBand kArithmeticStandard{.min_digits = 2, .max_digits = 3};
inline constexpr ArithmeticBand kArithmeticHard{.min_digits = 4, .max_digits = 5};  // held out

ArithmeticProblem arithmetic_problem(uint64_t seed, TaskSplit split, const ArithmeticBand& band, int64_t index);
TaskSplit arithmetic_split_of(const ArithmeticProblem& p);

enum class ArithmeticVerdict { Correct, Wrong, Malformed };
// The answer must be one integer ("-42", " 1234 "); nothing else.
ArithmeticVerdict arithmetic_verify(const ArithmeticProblem& p, std::string_view answer);

std::string arithmetic_question(const ArithmeticProblem& p);  // "Compute 347 * 28."
// The school method, one line per step, ending with the result, e.g. for 47 + 85:
//   "7 + 5 = 12, write 2 carry 1\n4 + 8 + 1 = 13, write 13\nso 47 + 85 = 132"
std::string arithmetic_steps(const ArithmeticProblem& p);

}  // namespace frugal
