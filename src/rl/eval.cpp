#include "rl/eval.h"

#include <fmt/format.h>

#include "infer/batch_generate.h"
#include "rl/corpus.h"
#include "rl/pass_at_k.h"
#include "rl/reward.h"

namespace frugal {

std::string eval_prompt(const TaskProblem& p, ChatFormat format) {
  return chat_render(format, {ChatMessage{.role = ChatRole::User, .content = task_user_message(p)}},
                     {.add_generation_prompt = true, .thinking = true});
}

EvalAnswer eval_judge(const TaskProblem& p, const std::string& completion, bool starts_in_reasoning, int64_t tokens) {
  EvalAnswer a;
  a.completion = completion;
  a.tokens = tokens;
  CompletionParts parts = completion_parse(completion, starts_in_reasoning);
  a.answer = parts.answer;
  a.format_ok = parts.format_ok;
  a.correct = parts.has_answer && p.verify(parts.answer);
  a.self_corrected = trace_self_corrected(p, parts.thinking, a.correct);
  return a;
}

nlohmann::json EvalRecord::to_json() const {
  nlohmann::json j = problem.to_json();
  j["prompt"] = prompt;
  j["completion"] = greedy.completion;
  j["answer"] = greedy.answer;
  j["correct"] = greedy.correct;
  j["format_ok"] = greedy.format_ok;
  int64_t correct = 0;
  for (const EvalAnswer& s : samples) correct += s.correct;
  j["samples"] = int64_t(samples.size());
  j["samples_correct"] = correct;
  return j;
}

nlohmann::json EvalSummary::to_json() const {
  nlohmann::json pass = nlohmann::json::object();
  for (auto [k, v] : pass_at) pass[fmt::format("pass@{}", k)] = v;
  return {{"problems", problems},          {"samples_per_problem", samples_per_problem},
          {"pass@1_greedy", pass1_greedy}, {"format_rate_greedy", format_rate_greedy},
          {"mean_accuracy", mean_accuracy}, {"pass_at_k", pass},
          {"format_rate", format_rate},    {"mean_length", mean_length},
          {"self_correction_rate", self_correction_rate}};
}

std::string EvalSummary::table() const {
  std::string t = fmt::format("{:<28} {:>8}\n", "metric", "value");
  auto row = [&](const std::string& name, double v, bool percent) {
    t += percent ? fmt::format("{:<28} {:>7.1f}%\n", name, 100 * v) : fmt::format("{:<28} {:>8.1f}\n", name, v);
  };
  row(fmt::format("problems"), double(problems), false);
  row("pass@1 (greedy)", pass1_greedy, true);
  row("format rate (greedy)", format_rate_greedy, true);
  if (samples_per_problem > 0) {
    row(fmt::format("mean accuracy ({} samples)", samples_per_problem), mean_accuracy, true);
    for (auto [k, v] : pass_at) row(fmt::format("pass@{}", k), v, true);
    row("format rate (sampled)", format_rate, true);
    row("self-correction rate", self_correction_rate, true);
  }
  row("mean response tokens", mean_length, false);
  return t;
}

EvalSummary eval_run(const Model& m, const Tokenizer& tok, ChatFormat format, const std::vector<TaskProblem>& problems,
                     const EvalOptions& opt, ThreadPool& pool, std::vector<EvalRecord>& records,
                     const std::function<void(const std::string&)>& on_progress) {
  records.assign(problems.size(), {});
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < problems.size(); ++i) {
    records[i].problem = problems[i];
    records[i].prompt = eval_prompt(problems[i], format);
    prompts.push_back(tok.encode(records[i].prompt, /*add_special_tokens=*/false));
  }
  std::vector<int32_t> stop;
  if (tok.eos_id() >= 0) stop.push_back(tok.eos_id());
  const bool opens = !records.empty() && chat_prompt_opens_reasoning(records[0].prompt);
  auto judge = [&](const TaskProblem& p, const Generation& g) {
    std::vector<int32_t> ids = g.tokens;
    if (g.stopped) ids.pop_back();
    return eval_judge(p, tok.decode(ids), opens, int64_t(g.tokens.size()));
  };
  auto progress = [&](const char* what) {
    return [&, what](int64_t done, int64_t total) {
      if (on_progress) on_progress(fmt::format("{} {}/{}", what, done, total));
    };
  };

  BatchGenerateOptions gopt{.max_new_tokens = opt.max_new_tokens, .stop_tokens = stop, .max_sequences = opt.max_sequences};
  std::vector<Generation> greedy = batch_generate(m, prompts, 1, gopt, pool, progress("greedy"));
  for (size_t i = 0; i < problems.size(); ++i) records[i].greedy = judge(problems[i], greedy[i]);
  const int64_t k = opt.samples;
  if (k > 0) {
    gopt.sampling = {.temperature = opt.temperature, .top_p = opt.top_p, .seed = opt.seed};
    std::vector<Generation> sampled = batch_generate(m, prompts, k, gopt, pool, progress("sampled"));
    for (size_t i = 0; i < problems.size(); ++i)
      for (int64_t s = 0; s < k; ++s) records[i].samples.push_back(judge(problems[i], sampled[i * size_t(k) + size_t(s)]));
  }

  EvalSummary sum;
  sum.problems = int64_t(problems.size());
  sum.samples_per_problem = k;
  if (problems.empty()) return sum;
  int64_t n_samples = 0, n_correct = 0, n_format = 0, n_self = 0, tokens = 0;
  for (int64_t j = 1; j <= k; j *= 2) sum.pass_at[j] = 0;
  for (const EvalRecord& r : records) {
    sum.pass1_greedy += r.greedy.correct;
    sum.format_rate_greedy += r.greedy.format_ok;
    int64_t c = 0;
    for (const EvalAnswer& a : r.samples) {
      ++n_samples, c += a.correct, n_format += a.format_ok, n_self += a.self_corrected, tokens += a.tokens;
    }
    n_correct += c;
    for (auto& [j, v] : sum.pass_at) v += pass_at_k(k, c, j);
    if (k == 0) tokens += r.greedy.tokens;
  }
  const double P = double(problems.size());
  sum.pass1_greedy /= P;
  sum.format_rate_greedy /= P;
  for (auto& [j, v] : sum.pass_at) v /= P;
  if (n_samples > 0) {
    sum.mean_accuracy = double(n_correct) / double(n_samples);
    sum.format_rate = double(n_format) / double(n_samples);
    sum.mean_length = double(tokens) / double(n_samples);
    sum.self_correction_rate = n_correct > 0 ? double(n_self) / double(n_correct) : 0.0;
  } else {
    sum.mean_length = double(tokens) / P;
  }
  return sum;
}

}  // namespace frugal
