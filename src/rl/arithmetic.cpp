#include "rl/arithmetic.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "rl/task_rng.h"

namespace frugal {
namespace {

int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

int64_t random_operand(TaskRng& rng, const ArithmeticBand& band) {
  int digits = int(rng.uniform(band.min_digits, band.max_digits));
  return rng.uniform(pow10(digits - 1), pow10(digits) - 1);
}

// Column addition of non-negative a + b, least significant digit first.
void add_steps(int64_t a, int64_t b, std::string& out) {
  int64_t carry = 0;
  for (int64_t x = a, y = b; x > 0 || y > 0;) {
    int64_t dx = x % 10, dy = y % 10, s = dx + dy + carry;
    x /= 10, y /= 10;
    std::string sum = carry ? fmt::format("{} + {} + {}", dx, dy, carry) : fmt::format("{} + {}", dx, dy);
    if (x == 0 && y == 0) {
      out += fmt::format("{} = {}, write {}\n", sum, s, s);
    } else {
      out += fmt::format("{} = {}, write {}{}\n", sum, s, s % 10, s >= 10 ? " carry 1" : "");
    }
    carry = s / 10;
  }
}

// Column subtraction of a - b with a >= b >= 0.
void sub_steps(int64_t a, int64_t b, std::string& out) {
  int64_t borrow = 0;
  for (int64_t x = a, y = b; x > 0;) {
    int64_t dx = x % 10, dy = y % 10 + borrow;
    x /= 10, y /= 10;
    if (dx < dy) {
      out += fmt::format("{} - {} needs a borrow: {} - {} = {}\n", dx, dy, dx + 10, dy, dx + 10 - dy);
      borrow = 1;
    } else {
      out += fmt::format("{} - {} = {}\n", dx, dy, dx - dy);
      borrow = 0;
    }
  }
}

}  // namespace

TaskSplit arithmetic_split_of(const ArithmeticProblem& p) {
  const int64_t key[3] = {p.a, p.b, p.op};
  return task_hash(key, sizeof key) % 10 == 0 ? TaskSplit::Test : TaskSplit::Train;
}

ArithmeticProblem arithmetic_problem(uint64_t seed, TaskSplit split, const ArithmeticBand& band, int64_t index) {
  for (uint64_t attempt = 0;; ++attempt) {
    TaskRng rng(seed ^ 0xA5A5A5A5ull, uint64_t(index) * 1000003ull + attempt);
    ArithmeticProblem p;
    p.op = "+-*"[rng.uniform(0, 2)];
    p.a = random_operand(rng, band);
    p.b = random_operand(rng, band);
    if (p.op == '-' && p.a < p.b) std::swap(p.a, p.b);
    if (arithmetic_split_of(p) == split) return p;
  }
}

ArithmeticVerdict arithmetic_verify(const ArithmeticProblem& p, std::string_view answer) {
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.front()))) answer.remove_prefix(1);
  while (!answer.empty() && std::isspace(static_cast<unsigned char>(answer.back()))) answer.remove_suffix(1);
  bool negative = !answer.empty() && answer.front() == '-';
  if (negative) answer.remove_prefix(1);
  if (answer.empty() || answer.size() > 18) return ArithmeticVerdict::Malformed;
  int64_t v = 0;
  for (char c : answer) {
    if (c < '0' || c > '9') return ArithmeticVerdict::Malformed;
    v = v * 10 + (c - '0');
  }
  return (negative ? -v : v) == p.result() ? ArithmeticVerdict::Correct : ArithmeticVerdict::Wrong;
}

std::string arithmetic_question(const ArithmeticProblem& p) {
  return fmt::format("Compute {} {} {}.", p.a, p.op, p.b);
}

std::string arithmetic_steps(const ArithmeticProblem& p) {
  std::string out;
  if (p.op == '+') {
    add_steps(p.a, p.b, out);
  } else if (p.op == '-') {
    sub_steps(p.a, p.b, out);
  } else {
    // Partial products, one per digit of b, then their sum.
    int64_t total = 0;
    int shift = 0;
    for (int64_t y = p.b; y > 0; y /= 10, ++shift) {
      int64_t part = p.a * (y % 10) * pow10(shift);
      out += fmt::format("{} * {} = {}\n", p.a, (y % 10) * pow10(shift), part);
      if (shift > 0) out += fmt::format("{} + {} = {}\n", total, part, total + part);
      total += part;
    }
  }
  out += fmt::format("so {} {} {} = {}", p.a, p.op, p.b, p.result());
  return out;
}

}  // namespace frugal
