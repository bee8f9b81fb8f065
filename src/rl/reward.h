// Rule rewards (DeepSeek-R1 Sec. 2.2.2): an accuracy reward from the task's exact
// verifier and a format reward for "<think> reasoning </think> <answer> answer
// </answer>", summed with configurable weights. A random reward replaces both in
// the control run that shows what RL does without a real signal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace frugal {

struct CompletionParts {
  bool format_ok = false;   // exactly: [<think>] reasoning </think> ws <answer> answer </answer> ws
  bool has_answer = false;  // an <answer>...</answer> pair was found (the last one is taken)
  std::string thinking;     // between <think> (or the start) and </think>; empty if never closed
  std::string answer;       // inside the last <answer>...</answer>
};

// starts_in_reasoning: the prompt already opened "<think>" (R1's template does),
// so the completion starts inside the reasoning block.
CompletionParts completion_parse(std::string_view completion, bool starts_in_reasoning);

struct RewardOptions {
  float accuracy_weight = 1.0f;
  float format_weight = 0.1f;
  bool random = false;  // control run: reward ~ Bernoulli(random_p) * (accuracy + format weights)
  float random_p = 0.5f;
  uint64_t random_seed = 0;
};

struct Reward {
  float total = 0;
  bool correct = false;
  bool format_ok = false;
};

// correct: the verifier's judgement of parts.answer. `sample_id` makes the random
// control reward deterministic per sample.
Reward reward_compute(const CompletionParts& parts, bool correct, const RewardOptions& opt, uint64_t sample_id);

}  // namespace frugal
