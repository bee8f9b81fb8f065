#include "rl/grpo_trainer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/seconds_since.h"
#include "infer/batch_generate.h"
#include "rl/eval.h"
#include "train/bias_balance.h"
#include "train/checkpoint_io.h"
#include "train/metrics.h"
#include "train/svg_chart.h"
#include "train/train_state.h"
#include "train/trainable_factory.h"

namespace frugal {

namespace fs = std::filesystem;

struct GrpoTrainer::Impl {
  Trainable& policy;
  const Tokenizer& tok;
  ChatFormat format;
  GrpoOptions opt;
  ThreadPool& pool;
  GrpoRewardFn reward;
  std::unique_ptr<Trainable> reference;  // only when beta > 0
  std::unique_ptr<Model> sampler_model;  // inference over the policy's tensors
  AdamW adamw;
  BiasBalancer balancer;                 // never applied (router bias frozen); kept for the train state format
  std::vector<GrpoStepLog> history;
  double elapsed_s = 0;

  Impl(Trainable& p, const Tokenizer& t, ChatFormat f, const GrpoOptions& o, ThreadPool& tp, GrpoRewardFn r)
      : policy(p), tok(t), format(f), opt(o), pool(tp), reward(std::move(r)),
        adamw(p.params(), o.adamw), balancer(p.params(), p.config(), BiasBalanceOptions{}) {}

  void reference_reset() {
    std::vector<ParamTensor>& dst = reference->params();
    const std::vector<ParamTensor>& src = policy.params();
    for (size_t i = 0; i < src.size(); ++i) std::copy_n(src[i].value, src[i].numel(), dst[i].value);
  }
};

namespace {

nlohmann::json step_json(const GrpoStepLog& s) {
  return {{"step", s.step},           {"reward", s.reward},       {"accuracy", s.accuracy},
          {"format_rate", s.format_rate}, {"response_length", s.response_length}, {"kl", s.kl},
          {"clip_fraction", s.clip_fraction}, {"objective", s.objective}, {"grad_norm", s.grad_norm},
          {"lr", s.lr},               {"groups_kept", s.groups_kept}, {"samples", s.samples},
          {"seconds", s.seconds}};
}

GrpoStepLog step_from_json(const nlohmann::json& j) {
  GrpoStepLog s;
  s.step = j.at("step").get<int64_t>();
  auto num = [&](const char* key, double& out) { out = j.value(key, 0.0); };
  num("reward", s.reward), num("accuracy", s.accuracy), num("format_rate", s.format_rate);
  num("response_length", s.response_length), num("kl", s.kl), num("clip_fraction", s.clip_fraction);
  num("objective", s.objective), num("grad_norm", s.grad_norm), num("lr", s.lr), num("seconds", s.seconds);
  s.groups_kept = j.value("groups_kept", int64_t(0));
  s.samples = j.value("samples", int64_t(0));
  return s;
}

// Prompt `slot` of the run: problem `slot` of the train split, or without
// exclusions the first of the candidates slot * kCandidates + c not excluded
// (a pure function of the slot, so a resumed run draws the same prompts).
TaskProblem rl_problem(const GrpoOptions& o, int64_t slot) {
  if (o.exclude.empty()) return task_problem(o.task, o.problem_seed, TaskSplit::Train, false, slot);
  constexpr int64_t kCandidates = 4096;
  for (int64_t c = 0; c < kCandidates; ++c) {
    TaskProblem p = task_problem(o.task, o.problem_seed, TaskSplit::Train, false, slot * kCandidates + c);
    if (!o.exclude.count(task_problem_key(p))) return p;
  }
  fail("{} train problems in a row are all excluded: the exclusion list covers (nearly) the whole split", kCandidates);
}

void plots_write(const std::string& dir, const std::vector<GrpoStepLog>& h) {
  auto series = [&](const char* name, double GrpoStepLog::*field) {
    SvgSeries s{name, {}, {}};
    for (const GrpoStepLog& l : h) s.x.push_back(double(l.step)), s.y.push_back(l.*field);
    return s;
  };
  write_file_atomic(dir + "/grpo_reward.svg",
                    svg_line_chart({"GRPO: reward and accuracy", "step", "mean over samples",
                                    {series("reward", &GrpoStepLog::reward), series("accuracy", &GrpoStepLog::accuracy),
                                     series("format", &GrpoStepLog::format_rate)}}));
  write_file_atomic(dir + "/grpo_length.svg", svg_line_chart({"GRPO: response length", "step", "tokens",
                                                               {series("length", &GrpoStepLog::response_length)}}));
  write_file_atomic(dir + "/grpo_kl.svg", svg_line_chart({"GRPO: KL to the reference and clip fraction", "step", "",
                                                           {series("kl", &GrpoStepLog::kl),
                                                            series("clip fraction", &GrpoStepLog::clip_fraction)}}));
}

}  // namespace

GrpoTrainer::GrpoTrainer(Trainable& policy, const Tokenizer& tok, ChatFormat format, const GrpoOptions& opt,
                         ThreadPool& pool, GrpoRewardFn reward)
    : impl_(std::make_unique<Impl>(policy, tok, format, opt, pool, std::move(reward))) {
  if (opt.prompts_per_step < 1 || opt.group < 2) fail("GRPO needs at least 1 prompt and 2 samples per prompt");
  if (opt.updates_per_batch < 1) fail("updates per batch must be at least 1");
  if (opt.run_dir.empty()) fail("GRPO needs a run folder (-o DIR)");
  if (tok.eos_id() < 0) fail("the tokenizer has no end-of-sentence token: samples could not stop");
  std::map<std::string, const float*> by_name;
  for (const ParamTensor& p : policy.params()) by_name[p.name] = p.value;
  impl_->sampler_model = model_from_tensors(policy.config(), [&](const std::string& name) -> const float* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  });
  if (opt.algorithm == GrpoAlgorithm::RejectionSft && (opt.token.beta > 0 || opt.updates_per_batch > 1))
    fail("rejection-sampling fine-tuning has no KL term and one update per batch: drop --beta and --updates");
  if (opt.token.beta > 0) {
    impl_->reference = trainable_create(policy.config(), {});
    impl_->reference_reset();
  }
  if (!impl_->reward) {
    // Whether the prompts open the reasoning block depends on the format only.
    const bool opens = chat_prompt_opens_reasoning(eval_prompt(task_problem(opt.task, 0, TaskSplit::Train, false, 0), format));
    impl_->reward = [this, opens](const TaskProblem& p, const std::vector<int32_t>&, const std::string& text, uint64_t id) {
      const CompletionParts parts = completion_parse(text, opens);
      return reward_compute(parts, parts.has_answer && p.verify(parts.answer), impl_->opt.reward, id);
    };
  }
  fs::create_directories(opt.run_dir);
}

GrpoTrainer::~GrpoTrainer() = default;

GrpoStepLog GrpoTrainer::step() {
  Impl& I = *impl_;
  const GrpoOptions& o = I.opt;
  const auto t0 = std::chrono::steady_clock::now();
  GrpoStepLog log;
  log.step = step_ + 1;

  // ---- rollouts ----
  std::vector<TaskProblem> problems;
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t j = 0; j < o.prompts_per_step; ++j) {
    problems.push_back(rl_problem(o, step_ * o.prompts_per_step + j));
    prompts.push_back(I.tok.encode(eval_prompt(problems.back(), I.format), /*add_special_tokens=*/false));
  }
  BatchGenerateOptions gen{.max_new_tokens = o.max_new_tokens,
                           .sampling = {.temperature = o.temperature, .top_p = o.top_p,
                                        .seed = batch_generate_seed(o.seed, step_, -1)},
                           .stop_tokens = {I.tok.eos_id()}};
  const std::vector<Generation> gens = batch_generate(*I.sampler_model, prompts, o.group, gen, I.pool);

  std::vector<GrpoRollout> kept;
  int64_t correct = 0, format_ok = 0, tokens = 0;
  double reward_sum = 0;
  for (int64_t j = 0; j < o.prompts_per_step; ++j) {
    std::vector<GrpoRollout> group;
    std::vector<float> rewards;
    std::vector<bool> corrects;
    for (int64_t g = 0; g < o.group; ++g) {
      const Generation& gn = gens[size_t(j * o.group + g)];
      std::vector<int32_t> text_ids = gn.tokens;
      if (gn.stopped) text_ids.pop_back();
      const uint64_t id = uint64_t((step_ * o.prompts_per_step + j) * o.group + g);
      const Reward r = I.reward(problems[size_t(j)], gn.tokens, I.tok.decode(text_ids), id);
      correct += r.correct, format_ok += r.format_ok, tokens += int64_t(gn.tokens.size());
      reward_sum += r.total;
      rewards.push_back(r.total);
      corrects.push_back(r.correct);
      group.push_back({.prompt = prompts[size_t(j)], .completion = gn.tokens, .reward = r.total});
    }
    if (o.algorithm == GrpoAlgorithm::RejectionSft) {  // keep the correct answers, weight 1
      bool any = false;
      for (int64_t g = 0; g < o.group; ++g)
        if (corrects[size_t(g)]) {
          group[size_t(g)].advantage = 1.0f;
          kept.push_back(std::move(group[size_t(g)]));
          any = true;
        }
      log.groups_kept += any;
      continue;
    }
    const std::vector<float> adv = grpo_advantages(rewards, o.std_normalize);
    const bool all_equal = std::all_of(rewards.begin(), rewards.end(), [&](float r) { return r == rewards[0]; });
    if (o.dynamic_sampling && all_equal) continue;
    ++log.groups_kept;
    for (int64_t g = 0; g < o.group; ++g) {
      group[size_t(g)].advantage = adv[size_t(g)];
      kept.push_back(std::move(group[size_t(g)]));
    }
  }
  const double n = double(o.prompts_per_step * o.group);
  log.samples = int64_t(n);
  log.reward = reward_sum / n, log.accuracy = double(correct) / n, log.format_rate = double(format_ok) / n;
  log.response_length = double(tokens) / n;
  log.lr = o.lr.at(step_);

  // ---- policy update ----
  if (!kept.empty()) {
    std::vector<int64_t> lengths;
    for (const GrpoRollout& r : kept) lengths.push_back(int64_t(r.completion.size()));
    const std::vector<float> c = grpo_sequence_weights(lengths, o.aggregation, o.max_new_tokens);
    struct Micro {
      std::vector<GrpoRollout> rollouts;
      std::vector<float> c, logp_old, logp_ref;
      TrainBatch rows;
    };
    std::vector<Micro> micro;
    for (size_t i0 = 0; i0 < kept.size(); i0 += size_t(o.micro_batch)) {
      Micro m;
      for (size_t i = i0; i < std::min(kept.size(), i0 + size_t(o.micro_batch)); ++i)
        m.rollouts.push_back(kept[i]), m.c.push_back(c[i]);
      m.rows = grpo_rows(m.rollouts);
      micro.push_back(std::move(m));
    }
    const LossOptions probe{.mtp_lambda = 0.0f, .target_logprobs = true};
    const bool need_old = o.updates_per_batch > 1 || o.token.beta > 0;
    for (Micro& m : micro) {
      if (need_old) m.logp_old = I.policy.forward_loss(m.rows, probe, I.pool).target_logprob;
      if (I.reference) m.logp_ref = I.reference->forward_loss(m.rows, probe, I.pool).target_logprob;
    }
    for (int64_t u = 0; u < o.updates_per_batch; ++u) {
      I.adamw.zero_grad(I.pool);
      double kl = 0, clip = 0, objective = 0;
      int64_t n_tok = 0;
      for (Micro& m : micro) {
        std::vector<float> logp = u == 0 ? m.logp_old : I.policy.forward_loss(m.rows, probe, I.pool).target_logprob;
        const GrpoStepStats st = grpo_weights(m.rows, m.rollouts, m.c, logp, m.logp_old, m.logp_ref, o.token);
        I.policy.forward_backward(m.rows, {.mtp_lambda = 0.0f, .balance_alpha = 0.0f}, I.pool);
        kl += st.kl * double(st.tokens), clip += st.clip_fraction * double(st.tokens);
        objective += st.objective, n_tok += st.tokens;
      }
      const AdamWStepStats as = I.adamw.step(log.lr, o.clip, I.pool);
      log.grad_norm = as.grad_norm;
      if (n_tok > 0) log.kl = kl / double(n_tok), log.clip_fraction = clip / double(n_tok);
      log.objective = objective;
    }
  }
  ++step_;
  if (I.reference && o.ref_reset_every > 0 && step_ % o.ref_reset_every == 0) I.reference_reset();
  log.seconds = seconds_since(t0);
  return log;
}

void GrpoTrainer::run() {
  Impl& I = *impl_;
  const GrpoOptions& o = I.opt;
  ProgressLine progress(o.steps, o.progress);
  std::ofstream metrics(o.run_dir + "/metrics.jsonl", std::ios::app);
  if (!metrics) fail("cannot write {}/metrics.jsonl", o.run_dir);
  double run_seconds = 0;  // this process's steps only: the ETA ignores time before a resume
  int64_t run_steps = 0;
  while (step_ < o.steps) {
    const GrpoStepLog log = step();
    I.elapsed_s += log.seconds;
    run_seconds += log.seconds;
    ++run_steps;
    I.history.push_back(log);
    metrics << step_json(log).dump() << "\n";
    metrics.flush();
    const double eta = run_seconds / double(run_steps) * double(o.steps - step_);
    progress.message(fmt::format("grpo step {}/{}  reward {:.3f}  acc {:.3f}  format {:.2f}  len {:.0f}  kl {:.4f}  "
                                 "clip {:.3f}  groups {}/{}  {:.1f} s/step  ETA {}",
                                 step_, o.steps, log.reward, log.accuracy, log.format_rate, log.response_length, log.kl,
                                 log.clip_fraction, log.groups_kept, o.prompts_per_step, log.seconds,
                                 format_duration(eta)));
    const bool last = step_ == o.steps;
    if (last || (o.checkpoint_every > 0 && step_ % o.checkpoint_every == 0)) {
      progress.message(fmt::format("grpo step {}: checkpoint {}", step_, save_checkpoint()));
      plots_write(o.run_dir, I.history);
    }
  }
  progress.finish();
}

std::string GrpoTrainer::save_checkpoint() {
  Impl& I = *impl_;
  const nlohmann::json meta = {{"step", step_}, {"elapsed_s", I.elapsed_s}, {"grpo", true}};
  return checkpoint_commit(I.opt.run_dir, step_, [&](const std::string& dir) {
    model_dir_save(I.policy.params(), I.policy.config(), dir, {.tokenizer_dir = I.opt.tokenizer_dir});
    train_state_save((fs::path(dir) / kTrainStateFile).string(), I.policy.params(), I.adamw, I.balancer, meta);
    if (I.reference) model_dir_save(I.reference->params(), I.policy.config(), dir + "/reference", {});
  }, I.opt.keep_checkpoints);
}

void GrpoTrainer::resume_from(const std::string& dir) {
  Impl& I = *impl_;
  model_dir_load_params(I.policy.params(), dir);
  const nlohmann::json meta = train_state_load((fs::path(dir) / kTrainStateFile).string(), I.policy.params(), I.adamw,
                                               I.balancer);
  if (!meta.value("grpo", false)) fail("{}: not a GRPO checkpoint (a pretraining one? pass it as -m instead)", dir);
  step_ = meta.at("step").get<int64_t>();
  I.elapsed_s = meta.value("elapsed_s", 0.0);
  const std::string metrics_path = I.opt.run_dir + "/metrics.jsonl";
  if (fs::exists(metrics_path)) {
    I.history.clear();
    for (const nlohmann::json& j : metrics_keep_through(metrics_path, step_)) I.history.push_back(step_from_json(j));
  }
  if (I.reference) {
    if (fs::exists(dir + "/reference/model.safetensors")) model_dir_load_params(I.reference->params(), dir + "/reference");
    else I.reference_reset();
  }
}

}  // namespace frugal
