// frugal eval [-m DIR] --task countdown|arithmetic [--split test|train] [--hard] [--n N]
//             [--problems F.jsonl] [--out R.jsonl] [--samples K] [--json]
// Pass@1 (greedy), mean accuracy and pass@k over K samples, format rate, response
// length and self-correction rate; each problem with its exact prompt, completion,
// extracted answer and verdict in R.jsonl so anyone can re-verify.
#include <cstdio>
#include <fstream>
#include <memory>
#include <unistd.h>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "infer/chat_session.h"
#include "rl/eval.h"

namespace frugal {
namespace {

struct EvalArgs {
  std::string model, task = "countdown", split = "test", problems, out, format;
  bool hard = false, json = false, mmap = false;
  int64_t n = 100, samples = 16, max_new_tokens = 256, max_sequences = 64;
  float temperature = 1.0f, top_p = 1.0f;
  uint64_t problem_seed = 1, seed = 0;
  int threads = 0;
};

int eval_main(const EvalArgs& a) {
  const TaskKind kind = task_kind_parse(a.task);
  std::vector<TaskProblem> problems;
  if (!a.problems.empty()) {
    problems = task_problems_read(a.problems, kind);
  } else {
    const TaskSplit split = a.split == "test" ? TaskSplit::Test : TaskSplit::Train;
    for (int64_t i = 0; i < a.n; ++i) problems.push_back(task_problem(kind, a.problem_seed, split, a.hard, i));
  }
  const std::string dir = resolve_model_dir(a.model);
  auto m = model_load(dir, weight_load(a.mmap));
  Tokenizer tok = tokenizer_load_dir(dir);
  const ChatFormat format = chat_format_for_model(m->config, tok, a.format);
  ThreadPool pool(a.threads > 0 ? a.threads : default_threads());
  const bool tty = isatty(2);
  std::vector<EvalRecord> records;
  EvalSummary sum = eval_run(*m, tok, format, problems,
                             {.samples = a.samples, .temperature = a.temperature, .top_p = a.top_p,
                              .max_new_tokens = a.max_new_tokens, .seed = a.seed, .max_sequences = a.max_sequences},
                             pool, records, [&](const std::string& s) {
                               if (tty) std::fprintf(stderr, "\reval: %s   ", s.c_str());
                             });
  if (tty) std::fprintf(stderr, "\n");
  if (!a.out.empty()) {
    std::string text;
    for (const EvalRecord& r : records) text += r.to_json().dump() + "\n";
    write_file_atomic(a.out, text);
  }
  if (a.json) {
    std::printf("%s\n", sum.to_json().dump(2).c_str());
  } else {
    std::printf("%s", sum.table().c_str());
  }
  return 0;
}

}  // namespace

Command eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a model on a verifiable task (pass@k, format, self-correction)");
  sub->add_option("-m,--model", a->model, "Model directory (default: the shipped model)");
  sub->add_option("--task", a->task, "countdown or arithmetic")->check(CLI::IsMember({"countdown", "arithmetic"}));
  sub->add_option("--split", a->split, "Generated problems from this split")->check(CLI::IsMember({"test", "train"}));
  sub->add_flag("--hard", a->hard, "The held-out harder band (extrapolation)");
  sub->add_option("--n", a->n, "Number of generated problems")->check(CLI::PositiveNumber);
  sub->add_option("--problem-seed", a->problem_seed, "Seed of the generated problems");
  sub->add_option("--problems", a->problems, "JSONL file of problems instead, e.g. {\"numbers\": [..], \"target\": N}");
  sub->add_option("--out", a->out, "Write one JSON record per problem (prompt, completion, answer, correct)");
  sub->add_option("--samples", a->samples, "Sampled answers per problem for pass@k (0: greedy only)")
      ->check(CLI::Range(int64_t(0), int64_t(1024)));
  sub->add_option("--temperature", a->temperature, "Sampling temperature")->check(CLI::Range(0.0f, 10.0f));
  sub->add_option("--top-p", a->top_p, "Nucleus sampling")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--max-new-tokens", a->max_new_tokens, "Longest answer")->check(CLI::PositiveNumber);
  sub->add_option("--max-sequences", a->max_sequences, "Sequences decoded together")->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->seed, "Sampling seed");
  sub->add_option("--format", a->format, "Chat format (default: detected from the tokenizer)");
  sub->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  sub->add_flag("--json", a->json, "Print the summary as JSON");
  mmap_flag_add(sub, a->mmap);
  bf16_activations_flag_add(sub);
  return {sub, [a] { return eval_main(*a); }};
}

}  // namespace frugal
