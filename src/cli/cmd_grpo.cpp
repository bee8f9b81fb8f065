// frugal grpo -m DIR -o RUN [--task countdown] [--steps N] [--prompts P] [--group G] ...
// Reinforcement learning with rule rewards (the R1-Zero recipe) from a trained
// model; checkpoints in RUN/checkpoints load in run / chat / eval / serve.
//   frugal grpo -m runs/base/checkpoints/step-00004000 -o runs/rl --steps 200
//   frugal grpo --resume runs/rl                       # continue exactly
#include <cstdio>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "cli/commands.h"
#include "core/error.h"
#include "infer/chat_session.h"
#include "rl/grpo_trainer.h"
#include "train/checkpoint_io.h"
#include "train/trainable_factory.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;

struct GrpoArgs {
  std::string model, out, resume, task = "countdown", aggregation = "grpo", format, algorithm = "grpo";
  std::string exclude_problems;
  GrpoOptions o;
  double lr = 1e-5;
  int64_t warmup = 0;
  bool no_std = false, no_progress = false;
  float random_reward = -1;
  int threads = 0;
};

// The tokenizer every checkpoint of the run carries, copied once into the run
// folder: a resumed run's starting checkpoint may be rotated away (--keep)
// before the run ends, so checkpoints must not copy it from there.
std::string run_tokenizer_copy(const std::string& model_dir, const std::string& run_dir) {
  const fs::path dst = fs::path(run_dir) / "tokenizer";
  if (fs::weakly_canonical(model_dir) != fs::weakly_canonical(dst)) tokenizer_files_copy(model_dir, dst.string());
  return dst.string();
}

int grpo_main(GrpoArgs& a) {
  std::string resume_ckpt;
  if (!a.resume.empty()) {
    const ResumePoint r = resume_point(a.resume);
    resume_ckpt = r.checkpoint;
    if (a.out.empty()) a.out = r.run_dir;
    if (a.model.empty()) a.model = resume_ckpt;
  }
  if (a.out.empty()) fail("no run folder: pass -o DIR");
  const std::string dir = resolve_model_dir(a.model);
  const ModelConfig cfg = config_load((fs::path(dir) / "config.json").string());
  Tokenizer tok = tokenizer_load_dir(dir);
  std::unique_ptr<Trainable> policy = trainable_create(cfg, {});
  model_dir_load_params(policy->params(), dir);
  const ChatFormat format = chat_format_for_model(cfg, tok, a.format);

  GrpoOptions& o = a.o;
  o.algorithm = a.algorithm == "rs-sft" ? GrpoAlgorithm::RejectionSft : GrpoAlgorithm::Grpo;
  o.task = task_kind_parse(a.task);
  o.aggregation = grpo_aggregation_parse(a.aggregation.c_str());
  o.std_normalize = !a.no_std;
  o.lr = {.lr = a.lr, .warmup_steps = a.warmup, .constant_steps = o.steps};
  if (a.random_reward >= 0) o.reward.random = true, o.reward.random_p = a.random_reward;
  o.run_dir = a.out;
  o.tokenizer_dir = run_tokenizer_copy(dir, a.out);
  if (!a.exclude_problems.empty())
    for (const TaskProblem& p : task_problems_read(a.exclude_problems, o.task)) o.exclude.insert(task_problem_key(p));
  o.progress.enabled = !a.no_progress;
  ThreadPool pool(a.threads > 0 ? a.threads : default_threads());
  GrpoTrainer trainer(*policy, tok, format, o, pool);
  if (!resume_ckpt.empty()) {
    trainer.resume_from(resume_ckpt);
    std::fprintf(stderr, "grpo: resumed from %s at step %lld\n", resume_ckpt.c_str(), (long long)trainer.steps_done());
  }
  std::fprintf(stderr, "grpo: %s, %lld prompts x %lld samples per step, %lld steps, format %s\n", a.task.c_str(),
               (long long)o.prompts_per_step, (long long)o.group, (long long)o.steps,
               std::string(chat_format_name(format)).c_str());
  trainer.run();
  std::fprintf(stderr, "grpo: done; model in %s\n", checkpoint_latest(a.out).c_str());
  return 0;
}

}  // namespace

Command grpo_command(CLI::App& app) {
  auto a = std::make_shared<GrpoArgs>();
  GrpoOptions& o = a->o;
  CLI::App* sub = app.add_subcommand("grpo", "Reinforcement learning with rule rewards (GRPO, the R1-Zero recipe)");
  sub->add_option("-m,--model", a->model, "Starting model directory (a trained checkpoint)");
  sub->add_option("-o,--out", a->out, "Run folder: metrics.jsonl, plots, checkpoints/");
  sub->add_option("--resume", a->resume, "Continue a run (its folder or one of its checkpoints)");
  sub->add_option("--algorithm", a->algorithm,
                  "grpo, or rs-sft: the matched-compute baseline (same rollouts; cross-entropy on the correct ones)")
      ->check(CLI::IsMember({"grpo", "rs-sft"}));
  sub->add_option("--task", a->task, "countdown or arithmetic")->check(CLI::IsMember({"countdown", "arithmetic"}));
  sub->add_option("--problem-seed", o.problem_seed, "Seed of the training problems");
  sub->add_option("--steps", o.steps, "Optimizer steps")->check(CLI::PositiveNumber);
  sub->add_option("--prompts", o.prompts_per_step, "Prompts per step")->check(CLI::PositiveNumber);
  sub->add_option("--group", o.group, "Samples per prompt (G)")->check(CLI::Range(int64_t(2), int64_t(1024)));
  sub->add_option("--temperature", o.temperature, "Sampling temperature")->check(CLI::Range(0.01f, 10.0f));
  sub->add_option("--top-p", o.top_p, "Nucleus sampling")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--max-new-tokens", o.max_new_tokens, "Longest sample (and Dr. GRPO's budget)")->check(CLI::PositiveNumber);
  sub->add_option("--seed", o.seed, "Sampling seed");
  sub->add_option("--aggregation", a->aggregation, "grpo | dr_grpo | dapo")
      ->check(CLI::IsMember({"grpo", "dr_grpo", "dapo"}));
  sub->add_flag("--no-std", a->no_std, "Advantages r - mean(r), not divided by std (Dr. GRPO)");
  sub->add_option("--eps-low", o.token.eps_low, "Clip range below 1")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--eps-high", o.token.eps_high, "Clip range above 1 (DAPO clip-higher: 0.28)")->check(CLI::Range(0.0f, 10.0f));
  sub->add_option("--beta", o.token.beta, "KL coefficient to the reference (0: no reference model)")->check(CLI::Range(0.0f, 10.0f));
  sub->add_flag("--dynamic-sampling", o.dynamic_sampling, "Drop groups whose rewards are all equal (DAPO)");
  sub->add_option("--updates", o.updates_per_batch, "Policy updates per batch of samples (mu)")->check(CLI::PositiveNumber);
  sub->add_option("--ref-reset", o.ref_reset_every, "Reset the reference to the policy every N steps (0: never)");
  sub->add_option("--micro-batch", o.micro_batch, "Rows per forward/backward")->check(CLI::PositiveNumber);
  sub->add_option("--lr", a->lr, "Learning rate")->check(CLI::PositiveNumber);
  sub->add_option("--warmup", a->warmup, "Warm-up steps");
  sub->add_option("--clip", o.clip, "Gradient norm limit (<= 0: none)");
  sub->add_option("--accuracy-weight", o.reward.accuracy_weight, "Reward for a correct answer");
  sub->add_option("--format-weight", o.reward.format_weight, "Reward for the <think>/<answer> format");
  sub->add_option("--random-reward", a->random_reward, "Control run: reward drawn at random with this probability")
      ->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--checkpoint-every", o.checkpoint_every, "Checkpoint every N steps (and after the last)");
  sub->add_option("--keep", o.keep_checkpoints, "Checkpoints kept");
  sub->add_option("--exclude-problems", a->exclude_problems,
                  "JSONL of problems never used as prompts (e.g. the corpus's: frugal corpus --problems-out)");
  sub->add_option("--format", a->format, "Chat format (default: detected from the tokenizer)");
  sub->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  sub->add_flag("--no-progress", a->no_progress, "No progress lines");
  return {sub, [a] { return grpo_main(*a); }};
}

}  // namespace frugal
