// `frugal eval`: a model on a task's problems. For each problem one greedy answer
// (pass@1) and k sampled answers (mean accuracy, unbiased pass@j for j = 1, 2, 4,
// ... <= k), the format rate, mean response length and the self-correction rate
// (correct sampled answers whose reasoning contains a failed attempt).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "model/transformer.h"
#include "rl/task.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

struct EvalOptions {
  int64_t samples = 16;          // k sampled answers per problem (0: greedy only)
  float temperature = 1.0f, top_p = 1.0f;
  int64_t max_new_tokens = 256;
  uint64_t seed = 0;
  int64_t max_sequences = 64;    // decoded together
};

// The prompt text given to the model for a problem (the chat format's rendering
// of task_user_message, generation prompt included, thinking on where optional).
std::string eval_prompt(const TaskProblem& p, ChatFormat format);

struct EvalAnswer {
  std::string completion;  // decoded, stop token excluded
  std::string answer;      // extracted from <answer> ... </answer>
  bool correct = false, format_ok = false, self_corrected = false;
  int64_t tokens = 0;
};

struct EvalRecord {
  TaskProblem problem;
  std::string prompt;
  EvalAnswer greedy;
  std::vector<EvalAnswer> samples;
  nlohmann::json to_json() const;  // problem fields, prompt, completion, answer, correct, samples summary
};

struct EvalSummary {
  int64_t problems = 0, samples_per_problem = 0;
  double pass1_greedy = 0;                 // share of problems whose greedy answer is correct
  double format_rate_greedy = 0;
  double mean_accuracy = 0;                // over all sampled answers
  std::map<int64_t, double> pass_at;       // j -> unbiased pass@j over the k samples
  double format_rate = 0;                  // over sampled answers
  double mean_length = 0;                  // tokens of sampled answers (greedy when k = 0)
  double self_correction_rate = 0;         // self-corrected / correct sampled answers
  nlohmann::json to_json() const;
  std::string table() const;
};

EvalSummary eval_run(const Model& m, const Tokenizer& tok, ChatFormat format, const std::vector<TaskProblem>& problems,
                     const EvalOptions& opt, ThreadPool& pool, std::vector<EvalRecord>& records,
                     const std::function<void(const std::string&)>& on_progress = {});

// Judges one completion (shared with GRPO's reward).
EvalAnswer eval_judge(const TaskProblem& p, const std::string& completion, bool starts_in_reasoning, int64_t tokens);

}  // namespace frugal
