#include "rl/corpus.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rl/task_rng.h"

namespace frugal {
namespace {

// One left-to-right combination of all the numbers: ((a op b) op c) op d.
struct Chain {
  std::vector<int64_t> order;
  std::string ops;
};

// The chain's whole-number value, or nullopt when a division is inexact or by zero.
std::optional<int64_t> chain_value(const Chain& c) {
  int64_t v = c.order[0];
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const int64_t b = c.order[i + 1];
    switch (c.ops[i]) {
      case '+': v += b; break;
      case '-': v -= b; break;
      case '*': v *= b; break;
      default:
        if (b == 0 || v % b != 0) return std::nullopt;
        v /= b;
    }
  }
  return v;
}

std::string chain_expression(const Chain& c) {
  std::string e = std::to_string(c.order[0]);
  for (size_t i = 0; i < c.ops.size(); ++i) {
    if (i > 0) e = "(" + e + ")";
    e += fmt::format(" {} {}", c.ops[i], c.order[i + 1]);
  }
  return e;
}

// "try EXPR: a + b = s, s * c = t; t vs T: no" (or "...; T vs T: yes"): the
// value is written beside the target before the verdict, so the check compares
// two adjacent numbers instead of recalling the target from the prompt.
std::string chain_trace_line(const Chain& c, int64_t target) {
  std::string line = "try " + chain_expression(c) + ":";
  int64_t v = c.order[0];
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const int64_t b = c.order[i + 1];
    const int64_t r = c.ops[i] == '+' ? v + b : c.ops[i] == '-' ? v - b : c.ops[i] == '*' ? v * b : v / b;
    line += fmt::format("{} {} {} {} = {}", i ? "," : "", v, c.ops[i], b, r);
    v = r;
  }
  line += fmt::format("; {} vs {}: {}", v, target, v == target ? "yes" : "no");
  return line;
}

std::vector<Chain> chain_solutions(const CountdownProblem& p) {
  std::vector<Chain> out;
  std::vector<int64_t> order = p.numbers;
  std::sort(order.begin(), order.end());
  const size_t n_ops = order.size() - 1;
  do {
    for (int code = 0; code < (1 << (2 * n_ops)); ++code) {
      Chain c{order, std::string(n_ops, '+')};
      for (size_t i = 0; i < n_ops; ++i) c.ops[i] = "+-*/"[(code >> (2 * i)) & 3];
      if (chain_value(c) == p.target) out.push_back(c);
    }
  } while (std::next_permutation(order.begin(), order.end()));
  return out;
}

// A random chain with a whole-number value that misses the target.
std::pair<Chain, int64_t> chain_wrong_one(TaskRng& rng, const CountdownProblem& p) {
  for (;;) {
    Chain c{p.numbers, std::string(p.numbers.size() - 1, '+')};
    for (size_t i = c.order.size() - 1; i > 0; --i) std::swap(c.order[i], c.order[size_t(rng.uniform(0, int64_t(i)))]);
    for (char& op : c.ops) op = "+-*/"[rng.uniform(0, 3)];
    std::optional<int64_t> v = chain_value(c);
    if (v && *v != p.target) return {c, *v};
  }
}

// The wrong chain closest to the target among `pool` random ones: a near miss,
// the attempt a searcher aiming at the target would plausibly make (pool 1: any).
Chain chain_wrong(TaskRng& rng, const CountdownProblem& p, int pool) {
  auto [best, best_v] = chain_wrong_one(rng, p);
  for (int k = 1; k < pool; ++k) {
    auto [c, v] = chain_wrong_one(rng, p);
    if (std::llabs(v - p.target) < std::llabs(best_v - p.target)) best = c, best_v = v;
  }
  return best;
}

std::string kind_for(TaskRng& rng, const CorpusMix& mix) {
  double total = mix.direct + mix.search + mix.give_up + mix.arithmetic, u = rng.unit() * total;
  if ((u -= mix.direct) < 0) return "direct";
  if ((u -= mix.search) < 0) return "search";
  if ((u -= mix.give_up) < 0) return "give_up";
  return "arithmetic";
}

}  // namespace

CorpusDoc corpus_doc(const CorpusOptions& opt, int64_t index) {
  TaskRng rng(opt.seed, uint64_t(index));
  CorpusDoc doc;
  doc.kind = kind_for(rng, opt.mix);
  if (doc.kind == "arithmetic") {
    doc.problem = task_problem(TaskKind::Arithmetic, opt.seed, TaskSplit::Train, false, index);
    doc.reasoning = arithmetic_steps(doc.problem.arithmetic);
    doc.answer = std::to_string(doc.problem.arithmetic.result());
    return doc;
  }
  std::vector<Chain> solutions;
  for (int64_t k = 0; solutions.empty(); ++k) {  // the next problem with a chain solution
    doc.problem = task_problem(TaskKind::Countdown, opt.seed, TaskSplit::Train, false, index + k * 7919);
    solutions = chain_solutions(doc.problem.countdown);
  }
  const CountdownProblem& p = doc.problem.countdown;
  int failed = doc.kind == "direct" ? 0 : doc.kind == "search" ? int(rng.uniform(1, opt.max_failed)) : int(rng.uniform(1, 2));
  std::vector<std::string> lines;
  Chain last{};
  // Wrong attempts are all different: a trace never repeats itself (the first
  // run's base model looped on one attempt under greedy decoding).
  for (int i = 0, tries = 0; i < failed && tries < 64; ++tries) {
    const Chain c = chain_wrong(rng, p, opt.wrong_pool);
    const std::string line = chain_trace_line(c, p.target);
    if (std::find(lines.begin(), lines.end(), line) != lines.end()) continue;
    last = c;
    lines.push_back(line);
    ++i;
  }
  if (doc.kind != "give_up") {
    last = solutions[size_t(rng.uniform(0, int64_t(solutions.size()) - 1))];
    lines.push_back(chain_trace_line(last, p.target));
  }
  doc.reasoning = fmt::format("{}", fmt::join(lines, "\n"));
  doc.answer = chain_expression(last);
  return doc;
}

std::string corpus_completion(const CorpusDoc& doc) {
  return doc.reasoning + "\n</think>\n\n<answer>" + doc.answer + "</answer>";
}

std::vector<std::string> trace_attempts(std::string_view reasoning) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = reasoning.find("try ", pos)) != std::string_view::npos) {
    if (pos > 0 && reasoning[pos - 1] != '\n') {  // only at the start of a line
      pos += 4;
      continue;
    }
    const size_t colon = reasoning.find(':', pos), eol = reasoning.find('\n', pos);
    if (colon != std::string_view::npos && colon < eol) out.emplace_back(reasoning.substr(pos + 4, colon - pos - 4));
    pos += 4;
  }
  return out;
}

bool trace_self_corrected(const TaskProblem& p, std::string_view reasoning, bool correct) {
  if (!correct || p.kind != TaskKind::Countdown) return false;
  for (const std::string& attempt : trace_attempts(reasoning)) {
    std::optional<CountdownValue> v = countdown_eval(attempt);
    if (!v || v->den != 1 || v->num != p.countdown.target) return true;
  }
  return false;
}

}  // namespace frugal
