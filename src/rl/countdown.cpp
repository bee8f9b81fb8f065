// Legend: the grammar of an answer,
//   expr   := term (('+' | '-') term)*
//   term   := factor (('*' | 'x' | '×' | '/' | '÷') factor)*
//   factor := integer | '(' expr ')'
#include "rl/countdown.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rl/rational.h"
#include "rl/task_rng.h"

namespace frugal {
namespace {

class ExprParser {
 public:
  explicit ExprParser(std::string_view s) : s_(s) {}

  // nullopt: malformed or division by zero (see divided_by_zero).
  std::optional<Rational> parse_all() {
    std::optional<Rational> v = expr();
    skip_space();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }
  std::vector<int64_t> used;
  bool divided_by_zero = false;

 private:
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip_space();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  std::optional<Rational> expr() {
    std::optional<Rational> v = term();
    while (v) {
      if (eat("+")) {
        std::optional<Rational> r = term();
        v = r ? rational_add(*v, *r) : std::nullopt;
      } else if (eat("-")) {
        std::optional<Rational> r = term();
        v = r ? rational_sub(*v, *r) : std::nullopt;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<Rational> term() {
    std::optional<Rational> v = factor();
    while (v) {
      if (eat("*") || eat("x") || eat("\u00d7")) {
        std::optional<Rational> r = factor();
        v = r ? rational_mul(*v, *r) : std::nullopt;
      } else if (eat("/") || eat("\u00f7")) {
        std::optional<Rational> r = factor();
        if (r && r->num == 0) divided_by_zero = true;
        v = r ? rational_div(*v, *r) : std::nullopt;
      } else {
        break;
      }
    }
    return v;
  }
  std::optional<Rational> factor() {
    if (++depth_ > 64) return std::nullopt;  // a pathological nesting, not an answer
    std::optional<Rational> v;
    if (eat("(")) {
      v = expr();
      if (v && !eat(")")) v.reset();
    } else {
      skip_space();
      size_t start = pos_;
      int64_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && pos_ - start < 12) n = n * 10 + (s_[pos_++] - '0');
      if (pos_ > start && !(pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')) {
        used.push_back(n);
        v = Rational::integer(n);
      }
    }
    --depth_;
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Every way of combining the values into one (the classic Countdown search).
struct Item {
  Rational value;
  std::string text;
};
bool solve_rec(std::vector<Item>& items, const Rational& target, std::string& out) {
  if (items.size() == 1) {
    if (items[0].value == target) out = items[0].text;
    return items[0].value == target;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t j = 0; j < items.size(); ++j) {
      if (i == j) continue;
      const Item a = items[i], b = items[j];
      std::vector<Item> rest;
      for (size_t k = 0; k < items.size(); ++k)
        if (k != i && k != j) rest.push_back(items[k]);
      const std::pair<char, std::optional<Rational>> ops[] = {
          {'+', i < j ? rational_add(a.value, b.value) : std::nullopt},  // commutative: one order
          {'*', i < j ? rational_mul(a.value, b.value) : std::nullopt},
          {'-', rational_sub(a.value, b.value)},
          {'/', b.value.num == 0 ? std::nullopt : rational_div(a.value, b.value)},
      };
      for (const auto& [op, v] : ops) {
        if (!v) continue;
        rest.push_back(Item{*v, fmt::format("({} {} {})", a.text, op, b.text)});
        if (solve_rec(rest, target, out)) return true;
        rest.pop_back();
      }
    }
  }
  return false;
}

// Combines the numbers in a random order with random operations; the value if it
// is a whole number in [1, max_target].
std::optional<int64_t> random_expression_value(TaskRng& rng, const std::vector<int64_t>& numbers, int64_t max_target) {
  std::vector<Rational> items;
  for (int64_t n : numbers) items.push_back(Rational::integer(n));
  while (items.size() > 1) {
    size_t i = size_t(rng.uniform(0, int64_t(items.size()) - 1));
    size_t j = size_t(rng.uniform(0, int64_t(items.size()) - 2));
    if (j >= i) ++j;
    std::optional<Rational> v;
    switch (rng.uniform(0, 3)) {
      case 0: v = rational_add(items[i], items[j]); break;
      case 1: v = rational_sub(items[i], items[j]); break;
      case 2: v = rational_mul(items[i], items[j]); break;
      default: v = items[j].num == 0 ? std::nullopt : rational_div(items[i], items[j]); break;
    }
    if (!v) return std::nullopt;
    items[std::min(i, j)] = *v;
    items.erase(items.begin() + std::ptrdiff_t(std::max(i, j)));
  }
  if (!items[0].is_integer() || items[0].num < 1 || items[0].num > max_target) return std::nullopt;
  return items[0].num;
}

}  // namespace

const char* countdown_verdict_name(CountdownVerdict v) {
  switch (v) {
    case CountdownVerdict::Correct: return "correct";
    case CountdownVerdict::WrongValue: return "wrong_value";
    case CountdownVerdict::NumbersMismatch: return "numbers_mismatch";
    case CountdownVerdict::DivisionByZero: return "division_by_zero";
    case CountdownVerdict::Malformed: return "malformed";
  }
  return "?";
}

std::optional<CountdownValue> countdown_eval(std::string_view expr, std::vector<int64_t>* used, bool* divided_by_zero) {
  ExprParser parser(expr);
  std::optional<Rational> v = parser.parse_all();
  if (divided_by_zero) *divided_by_zero = parser.divided_by_zero;
  if (used) *used = parser.used;
  if (!v) return std::nullopt;
  return CountdownValue{v->num, v->den};
}

CountdownVerdict countdown_verify(const CountdownProblem& p, std::string_view answer) {
  answer = trim(answer);
  std::string_view stated;
  const size_t eq = answer.find('=');
  if (eq != std::string_view::npos) {
    stated = trim(answer.substr(eq + 1));
    answer = trim(answer.substr(0, eq));
  }
  std::vector<int64_t> used;
  bool div0 = false;
  std::optional<CountdownValue> v = countdown_eval(answer, &used, &div0);
  if (!v) return div0 ? CountdownVerdict::DivisionByZero : CountdownVerdict::Malformed;
  std::vector<int64_t> given = p.numbers;
  std::sort(given.begin(), given.end());
  std::sort(used.begin(), used.end());
  if (used != given) return CountdownVerdict::NumbersMismatch;
  if (eq != std::string_view::npos) {  // "expr = result": the stated result must be true
    std::optional<CountdownValue> s = countdown_eval(stated);
    if (!s) return CountdownVerdict::Malformed;
    if (s->num != v->num || s->den != v->den) return CountdownVerdict::WrongValue;  // a false claim
  }
  return v->den == 1 && v->num == p.target ? CountdownVerdict::Correct : CountdownVerdict::WrongValue;
}

std::optional<std::string> countdown_solve(const CountdownProblem& p) {
  std::vector<Item> items;
  for (int64_t n : p.numbers) items.push_back(Item{Rational::integer(n), std::to_string(n)});
  std::string out;
  if (!solve_rec(items, Rational::integer(p.target), out)) return std::nullopt;
  return out;
}

TaskSplit countdown_split_of(const CountdownProblem& p) {
  std::vector<int64_t> key = p.numbers;
  std::sort(key.begin(), key.end());
  key.push_back(p.target);
  // One problem in ten is a test problem, whichever seed generated it.
  return task_hash(key.data(), key.size() * sizeof(int64_t)) % 10 == 0 ? TaskSplit::Test : TaskSplit::Train;
}

CountdownProblem countdown_problem(uint64_t seed, TaskSplit split, const CountdownBand& band, int64_t index) {
  for (uint64_t attempt = 0;; ++attempt) {
    TaskRng rng(seed, uint64_t(index) * 1000003ull + attempt);
    CountdownProblem p;
    for (int i = 0; i < band.n_numbers; ++i) p.numbers.push_back(rng.uniform(1, band.max_number));
    std::optional<int64_t> target = random_expression_value(rng, p.numbers, band.max_target);
    if (!target) continue;
    p.target = *target;
    if (countdown_split_of(p) == split) return p;
  }
}

std::string countdown_question(const CountdownProblem& p) {
  return fmt::format(
      "Using the numbers [{}], create an equation that equals {}. You can use basic arithmetic operations "
      "(+, -, *, /) and each number must be used exactly once.",
      fmt::join(p.numbers, ", "), p.target);
}

}  // namespace frugal
