// The corpus generator: every trace's arithmetic is true, the answers are right
// or wrong as the document kind says (judged by the verifier), the completion has
// the rewarded format, and the mixture follows its weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>

#include "rl/corpus.h"
#include "rl/reward.h"

namespace frugal {
namespace {

// Checks each "a op b = r" step of a trace line with its own arithmetic.
// Returns how many steps it checked.
int expect_steps_true(const std::string& reasoning) {
  static const std::regex step(R"((-?\d+) ([-+*/]) (\d+) = (-?\d+))");
  int n = 0;
  for (auto it = std::sregex_iterator(reasoning.begin(), reasoning.end(), step); it != std::sregex_iterator(); ++it) {
    const int64_t a = std::stoll((*it)[1]), b = std::stoll((*it)[3]), r = std::stoll((*it)[4]);
    const char op = (*it)[2].str()[0];
    const int64_t want = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    EXPECT_EQ(r, want) << (*it)[0];
    if (op == '/') {
      EXPECT_EQ(a % b, 0) << (*it)[0];
    }
    ++n;
  }
  return n;
}

class CorpusKinds : public ::testing::TestWithParam<int> {};

TEST_P(CorpusKinds, DocumentsAreTrueToTheirKind) {
  CorpusOptions opt{.seed = 3};
  opt.wrong_pool = GetParam();
  std::map<std::string, int> kinds;
  for (int64_t i = 0; i < 2000; ++i) {
    CorpusDoc d = corpus_doc(opt, i);
    ++kinds[d.kind];
    const bool correct = d.problem.verify(d.answer);
    if (d.kind == "give_up") {
      ASSERT_FALSE(correct) << d.reasoning;
    } else {
      ASSERT_TRUE(correct) << d.kind << "\n" << d.reasoning << "\n" << d.answer;
    }
    CompletionParts parts = completion_parse(corpus_completion(d), /*starts_in_reasoning=*/true);
    ASSERT_TRUE(parts.format_ok);
    ASSERT_EQ(parts.answer, d.answer);
    if (d.kind == "arithmetic") continue;
    ASSERT_GE(expect_steps_true(d.reasoning), 2 * int(trace_attempts(d.reasoning).size()));
    std::vector<std::string> attempts = trace_attempts(d.reasoning);
    ASSERT_FALSE(attempts.empty());
    ASSERT_EQ(attempts.back(), d.answer);  // the answer is the last attempt
    std::vector<std::string> sorted = attempts;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "an attempt repeats:\n" << d.reasoning;
    ASSERT_EQ(trace_self_corrected(d.problem, d.reasoning, correct), d.kind == "search");
    ASSERT_EQ(d.reasoning.find(": yes") != std::string::npos, d.kind != "give_up");
    // Each attempt ends "; value vs target: yes|no", the verdict true to the values.
    static const std::regex verdict(R"(; (-?\d+) vs (\d+): (yes|no))");
    int verdicts = 0;
    for (auto it = std::sregex_iterator(d.reasoning.begin(), d.reasoning.end(), verdict); it != std::sregex_iterator(); ++it) {
      ASSERT_EQ(std::stoll((*it)[2]), d.problem.countdown.target);
      ASSERT_EQ((*it)[3] == "yes", std::stoll((*it)[1]) == d.problem.countdown.target) << (*it)[0];
      ++verdicts;
    }
    ASSERT_EQ(verdicts, int(trace_attempts(d.reasoning).size()));
    ASSERT_EQ(countdown_split_of(d.problem.countdown), TaskSplit::Train);
  }
  // 2000 draws: each share within 4 standard deviations of its weight.
  const CorpusMix m = opt.mix;
  const double total = m.direct + m.search + m.give_up + m.arithmetic;
  for (auto [kind, w] : std::map<std::string, double>{
           {"direct", m.direct}, {"search", m.search}, {"give_up", m.give_up}, {"arithmetic", m.arithmetic}}) {
    const double p = w / total, sd = std::sqrt(p * (1 - p) / 2000);
    EXPECT_NEAR(kinds[kind] / 2000.0, p, 4 * sd) << kind;
  }
  // Deterministic.
  EXPECT_EQ(corpus_doc(opt, 17).reasoning, corpus_doc(opt, 17).reasoning);
}

INSTANTIATE_TEST_SUITE_P(WrongPool, CorpusKinds, ::testing::Values(1, 4));

// Near misses: with a pool of 8 random wrong chains per failed attempt, the
// attempts' values (computed by the verifier's evaluator) land closer to the
// target than uniformly random wrong attempts do.
TEST(Corpus, NearMissesAreCloserToTheTarget) {
  auto mean_log_miss = [](int pool) {
    CorpusOptions opt{.seed = 5};
    opt.wrong_pool = pool;
    double sum = 0;
    int n = 0;
    for (int64_t i = 0; i < 600; ++i) {
      CorpusDoc d = corpus_doc(opt, i);
      if (d.kind == "arithmetic") continue;
      for (const std::string& a : trace_attempts(d.reasoning)) {
        std::optional<CountdownValue> v = countdown_eval(a);
        EXPECT_TRUE(v && v->den == 1) << a;
        if (!v || v->num == d.problem.countdown.target) continue;
        sum += std::log(1.0 + double(std::llabs(v->num - d.problem.countdown.target)));
        ++n;
      }
    }
    EXPECT_GT(n, 300);
    return sum / n;
  };
  const double uniform = mean_log_miss(1), near = mean_log_miss(8);
  EXPECT_LT(near, uniform - 0.5) << "uniform " << uniform << " near " << near;
}

TEST(Corpus, SelfCorrectionOnHandMadeTraces) {
  TaskProblem p;
  p.countdown = {{13, 7, 3}, 60};
  const std::string retry = "try 13 + 7 + 3: 13 + 7 = 20, 20 + 3 = 23, not 60\ntry (13 + 7) * 3: 13 + 7 = 20, 20 * 3 = 60, yes";
  EXPECT_EQ(trace_attempts(retry), (std::vector<std::string>{"13 + 7 + 3", "(13 + 7) * 3"}));
  EXPECT_TRUE(trace_self_corrected(p, retry, true));
  EXPECT_FALSE(trace_self_corrected(p, retry, false));  // only correct answers count
  EXPECT_FALSE(trace_self_corrected(p, "try (13 + 7) * 3: 13 + 7 = 20, 20 * 3 = 60, yes", true));
  // A model that wrongly claims "yes" on a miss still made a failed attempt.
  EXPECT_TRUE(trace_self_corrected(p, "try 13 * 7 - 3: 91 - 3 = 60, yes\ntry (13 + 7) * 3: yes", true));
  EXPECT_TRUE(trace_attempts("I will try 1 + 2: no").empty());  // not at a line start
}

}  // namespace
}  // namespace frugal
