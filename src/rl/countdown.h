// Countdown (the TinyZero / R1-Zero reproduction task): reach `target` from the
// given numbers with + - * / and parentheses, every number used exactly once.
// Answers are judged with exact rational arithmetic (rl/rational.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frugal {

struct CountdownProblem {
  std::vector<int64_t> numbers;
  int64_t target = 0;
};

// The difficulty of a family of problems. Every generated problem is solvable.
struct CountdownBand {
  int n_numbers = 3;
  int64_t max_number = 20;  // numbers drawn from [1, max_number]
  int64_t max_target = 100; // targets in [1, max_target]
};
inline constexpr CountdownBand kCountdownStandard{.n_numbers = 3, .max_number = 20, .max_target = 100};
// Held out for extrapolation: one more number, larger values.
inline constexpr CountdownBand kCountdownHard{.n_numbers = 4, .max_number = 25, .max_target = 200};

enum class TaskSplit { Train, Test };

// Problem `index` of the stream (seed, split, band); train and test problems are
// disjoint whatever the seeds (membership is a hash of the problem itself).
CountdownProblem countdown_problem(uint64_t seed, TaskSplit split, const CountdownBand& band, int64_t index);
TaskSplit countdown_split_of(const CountdownProblem& p);

enum class CountdownVerdict {
  Correct,
  WrongValue,       // a valid expression over the numbers that misses the target
  NumbersMismatch,  // a number reused, missing or not given
  DivisionByZero,
  Malformed,        // not an expression of numbers, + - * / and parentheses
};
const char* countdown_verdict_name(CountdownVerdict v);

// Judges an answer such as "(25 - 5) * 3" or "(25 - 5) * 3 = 60" (a stated
// result after '=' must equal the expression's value). 'x', '×' and '÷' are
// accepted for * and /.
CountdownVerdict countdown_verify(const CountdownProblem& p, std::string_view answer);

// The exact value of an expression over any numbers (nullopt when malformed or
// dividing by zero), with the numbers it used in `used` when given.
struct CountdownValue {
  int64_t num = 0, den = 1;
};
std::optional<CountdownValue> countdown_eval(std::string_view expr, std::vector<int64_t>* used = nullptr,
                                             bool* divided_by_zero = nullptr);

// One solution (fully parenthesized, e.g. "((25 - 5) * 3)"), or nullopt.
std::optional<std::string> countdown_solve(const CountdownProblem& p);

// The user-facing question, e.g. "Using the numbers [3, 5, 7], create an
// equation that equals 22. ..."
std::string countdown_question(const CountdownProblem& p);

}  // namespace frugal
