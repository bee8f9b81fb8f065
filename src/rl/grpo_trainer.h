// `frugal grpo`: the R1-Zero recipe (spec/training.md "GRPO") on a Trainable.
// One step:
//   P prompts from the task's train split -> G samples each with the batched
//   inference engine (over the policy's own fp32 tensors, model_from_tensors) ->
//   rule rewards -> group-relative advantages [-> dynamic sampling drops groups
//   with equal rewards] -> for each of mu updates: token weights from the
//   clipped objective and the k3 KL to the frozen reference -> weighted
//   cross-entropy backward (trainable.h label_weight) -> AdamW.
// The router bias is frozen (AdamW skips it; no balance update). The reference
// is reset to the policy every ref_reset_every steps. Checkpoints hold the
// policy, AdamW, the reference and the step, so a run resumes exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/thread_pool.h"
#include "rl/grpo_batch.h"
#include "rl/reward.h"
#include "rl/task.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "train/adamw.h"
#include "train/progress_line.h"
#include "train/trainable.h"

namespace frugal {

// What the sampled answers train: GRPO, or the matched-compute baseline of
// rejection-sampling fine-tuning (the same rollouts; the correct answers are
// trained on with plain cross-entropy, the others dropped: RAFT / RFT).
enum class GrpoAlgorithm { Grpo, RejectionSft };

struct GrpoOptions {
  GrpoAlgorithm algorithm = GrpoAlgorithm::Grpo;
  TaskKind task = TaskKind::Countdown;
  uint64_t problem_seed = 1;
  // task_problem_key()s never drawn as prompts: the problems the model saw in
  // its pretraining corpus, so that RL rewards solving, not recalling.
  std::unordered_set<std::string> exclude;
  int64_t steps = 100;
  int64_t prompts_per_step = 8;   // P
  int64_t group = 8;              // G samples per prompt
  float temperature = 1.0f, top_p = 1.0f;
  int64_t max_new_tokens = 128;
  uint64_t seed = 0;              // sampling
  bool std_normalize = true;      // false: Dr. GRPO advantages
  GrpoAggregation aggregation = GrpoAggregation::Grpo;
  GrpoTokenOptions token;         // eps_low, eps_high, beta
  bool dynamic_sampling = false;  // DAPO: drop groups whose rewards are all equal
  int64_t updates_per_batch = 1;  // mu
  int64_t ref_reset_every = 0;    // 0: never
  int64_t micro_batch = 16;       // rows per forward/backward
  RewardOptions reward;
  LrSchedule lr{.lr = 1e-5};
  AdamWOptions adamw{.weight_decay = 0.0f};
  double clip = 1.0;
  int64_t checkpoint_every = 10;  // and after the last step
  int keep_checkpoints = 3;
  std::string run_dir;            // metrics.jsonl, *.svg, checkpoints/
  std::string tokenizer_dir;      // copied into every checkpoint
  ProgressOptions progress;
};

// What one step did (one line of metrics.jsonl).
struct GrpoStepLog {
  int64_t step = 0;
  double reward = 0, accuracy = 0, format_rate = 0, response_length = 0;
  double kl = 0, clip_fraction = 0, objective = 0, grad_norm = 0, lr = 0;
  int64_t groups_kept = 0, samples = 0;
  double seconds = 0;
};

// A reward for one sample: its problem, completion tokens and decoded text.
// The default judges the task's answer (rl/reward.h); tests may pass their own.
using GrpoRewardFn = std::function<Reward(const TaskProblem& problem, const std::vector<int32_t>& completion,
                                          const std::string& text, uint64_t sample_id)>;

class GrpoTrainer {
 public:
  GrpoTrainer(Trainable& policy, const Tokenizer& tok, ChatFormat format, const GrpoOptions& opt, ThreadPool& pool,
              GrpoRewardFn reward = {});
  ~GrpoTrainer();

  void resume_from(const std::string& checkpoint_dir);
  void run();
  GrpoStepLog step();  // one step (run() calls it)
  int64_t steps_done() const { return step_; }
  std::string save_checkpoint();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t step_ = 0;
};

}  // namespace frugal
