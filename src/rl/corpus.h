// The pretraining / cold-start corpus for the shipped reasoning model (issue 6,
// spec/training.md "An honest R1 moment"). Countdown solutions are written as
// try-check-retry traces, one attempt per line:
//
//   try (13 + 7) * 3: 13 + 7 = 20, 20 * 3 = 60; 60 vs 61: no
//   try (13 * 3) + 7: 13 * 3 = 39, 39 + 7 = 46; 46 vs 61: no
//   ...
//   try ((7 * 3) ...: ... = 61; 61 vs 61: yes
//
// followed by the answer. The mixture decides where the base model lands:
//   direct   the first attempt is right (the model learns to aim)
//   search   1..max_failed wrong attempts, then a right one (the rare behaviour RL should amplify)
//   give_up  1..2 wrong attempts, then the last one answered anyway (wrong)
//   arithmetic  a multi-digit problem worked out column by column
// Wrong attempts are random chains, or with wrong_pool > 1 near misses (the
// closest to the target of wrong_pool random chains), so that the model learns
// to aim its guesses. Attempts combine the numbers left to right ("chains"); problems with no chain
// solution are skipped by the corpus (they stay in the eval split).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rl/task.h"

namespace frugal {

struct CorpusMix {
  double direct = 0.40, search = 0.20, give_up = 0.25, arithmetic = 0.15;
};

struct CorpusOptions {
  uint64_t seed = 0;
  CorpusMix mix;
  int max_failed = 4;  // wrong attempts before the right one in a search trace
  int wrong_pool = 1;  // each wrong attempt is the nearest miss of this many random ones
};

struct CorpusDoc {
  std::string kind;       // "direct" | "search" | "give_up" | "arithmetic"
  TaskProblem problem;    // from the train split only
  std::string reasoning;  // the text inside <think> ... </think>
  std::string answer;     // the text inside <answer> ... </answer>
};

// Document `index` of the corpus stream; deterministic in (options, index).
CorpusDoc corpus_doc(const CorpusOptions& opt, int64_t index);

// The completion after a generation prompt that opened "<think>\n":
//   reasoning "\n</think>\n\n<answer>" answer "</answer>"
std::string corpus_completion(const CorpusDoc& doc);

// The expressions of the "try EXPR:" lines of a reasoning text, in order.
std::vector<std::string> trace_attempts(std::string_view reasoning);
// A correct answer after at least one attempt in the reasoning that misses the
// target (judged by the verifier, not by what the model claimed).
bool trace_self_corrected(const TaskProblem& p, std::string_view reasoning, bool correct);

}  // namespace frugal
