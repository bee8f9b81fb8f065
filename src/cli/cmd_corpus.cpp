// frugal corpus --docs N [--seed S] -o F.jsonl [--text-out F.txt] [--problems-out P.jsonl]
// The cold-start corpus of the shipped reasoning model (rl/corpus.h): each line
// {"prompt": the Frugal-format chat prompt that opened <think>, "completion":
// reasoning + </think> + <answer>...</answer>}, for `frugal train`; --text-out
// also writes the plain text (prompts + completions) for `frugal tokenizer-train`,
// --problems-out the Countdown problems it used (for `frugal grpo --exclude-problems`).
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "rl/corpus.h"
#include "rl/eval.h"

namespace frugal {
namespace {

struct CorpusArgs {
  int64_t docs = 10000;
  uint64_t seed = 1;
  std::string out, text_out, problems_out;
  CorpusOptions o;
};

int corpus_main(const CorpusArgs& a) {
  if (a.o.mix.direct < 0 || a.o.mix.search < 0 || a.o.mix.give_up < 0 || a.o.mix.arithmetic < 0 ||
      a.o.mix.direct + a.o.mix.search + a.o.mix.give_up + a.o.mix.arithmetic <= 0)
    fail("the mixture weights must be non-negative and not all zero");
  CorpusOptions o = a.o;
  o.seed = a.seed;
  std::string jsonl, text;
  std::string problems;  // each Countdown problem of the corpus once
  std::set<std::string> seen;
  std::map<std::string, int64_t> kinds;
  for (int64_t i = 0; i < a.docs; ++i) {
    const CorpusDoc d = corpus_doc(o, i);
    if (d.problem.kind == TaskKind::Countdown && seen.insert(task_problem_key(d.problem)).second)
      problems += d.problem.to_json().dump() + "\n";
    const std::string prompt = eval_prompt(d.problem, ChatFormat::Frugal), completion = corpus_completion(d);
    jsonl += nlohmann::json{{"prompt", prompt}, {"completion", completion}}.dump() + "\n";
    if (!a.text_out.empty()) text += prompt + completion + "\n";
    ++kinds[d.kind];
  }
  write_file_atomic(a.out, jsonl);
  if (!a.text_out.empty()) write_file_atomic(a.text_out, text);
  if (!a.problems_out.empty()) write_file_atomic(a.problems_out, problems);
  std::fprintf(stderr, "corpus: %lld documents to %s (", (long long)a.docs, a.out.c_str());
  for (const auto& [k, n] : kinds) std::fprintf(stderr, " %s %lld", k.c_str(), (long long)n);
  std::fprintf(stderr, " )\n");
  return 0;
}

}  // namespace

Command corpus_command(CLI::App& app) {
  auto a = std::make_shared<CorpusArgs>();
  CLI::App* sub = app.add_subcommand("corpus", "Write the reasoning cold-start corpus (Countdown traces, arithmetic)");
  sub->add_option("--docs", a->docs, "Documents")->check(CLI::PositiveNumber);
  sub->add_option("--seed", a->seed, "Seed (problems come from the train split whatever the seed)");
  sub->add_option("-o,--out", a->out, "Output JSONL of {prompt, completion}")->required();
  sub->add_option("--text-out", a->text_out, "Also write the plain text (for tokenizer-train)");
  sub->add_option("--problems-out", a->problems_out,
                  "Also write the Countdown problems used, one JSON per line (for grpo --exclude-problems)");
  sub->add_option("--direct", a->o.mix.direct, "Weight of traces whose first attempt is right");
  sub->add_option("--search", a->o.mix.search, "Weight of traces that fail, retry and succeed");
  sub->add_option("--give-up", a->o.mix.give_up, "Weight of traces that fail and answer wrong");
  sub->add_option("--arithmetic", a->o.mix.arithmetic, "Weight of worked multi-digit arithmetic");
  sub->add_option("--max-failed", a->o.max_failed, "Most failed attempts in a search trace")->check(CLI::Range(1, 16));
  sub->add_option("--wrong-pool", a->o.wrong_pool,
                  "Each failed attempt is the nearest miss of this many random ones (1: uniformly random)")
      ->check(CLI::Range(1, 64));
  return {sub, [a] { return corpus_main(*a); }};
}

}  // namespace frugal
