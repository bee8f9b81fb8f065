// The training loop (DESIGN.md "Training" data path):
//   batches -> forward_backward (accumulated over micro-batches) -> clip ->
//   AdamW -> router-bias update -> [evaluation] -> [checkpoint]
// with metrics.jsonl, SVG plots and a progress line. A run resumed from one of
// its checkpoints continues bit for bit as if it had never stopped: the weights
// and AdamW moments are saved in fp32, the balance sums and the data position
// with them, and no other state (no RNG draws) enters a step.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "train/adamw.h"
#include "train/bias_balance.h"
#include "train/checkpoint_io.h"
#include "train/metrics.h"
#include "train/packed_data.h"
#include "train/progress_line.h"
#include "train/trainable.h"

namespace frugal {

struct TrainerOptions {
  int64_t steps = 100;          // optimizer steps of the whole run
  int64_t batch_size = 8;       // rows of seq_len tokens per micro-batch
  int64_t accumulation = 1;     // micro-batches per optimizer step
  LrSchedule lr;
  AdamWOptions adamw;
  double clip = 1.0;            // global gradient norm limit (<= 0: none)
  LossOptions loss;             // grad_scale is set here to 1 / accumulation
  BiasBalanceOptions balance;
  int64_t eval_every = 0;       // evaluate every this many steps (0: only after the last)
  int64_t eval_batches = 0;     // validation batches per evaluation (0: the whole split)
  int64_t checkpoint_every = 0; // checkpoint every this many steps (0: only after the last)
  int keep_checkpoints = 3;     // the newest N checkpoints are kept (<= 0: all)
  ModelSaveOptions save;
  std::string run_dir;          // metrics.jsonl, *.svg, checkpoints/
  ProgressOptions progress;
  nlohmann::json run_config;    // written to run_dir/train_config.json as the run's record
};

class Trainer {
 public:
  Trainer(Trainable& model, PackedDataset& data, const TrainerOptions& opt, ThreadPool& pool);

  // Loads weights, optimizer and balance state, data position and step from a
  // checkpoint folder of this run's shape.
  void resume_from(const std::string& checkpoint_dir);
  // Trains from the current step up to opt.steps.
  void run();

  int64_t step() const { return step_; }
  EvalMetrics evaluate();
  std::string save_checkpoint();

 private:
  StepMetrics train_step();
  nlohmann::json data_identity() const;  // what makes a data position mean the same stream

  Trainable& model_;
  PackedDataset& data_;
  TrainerOptions opt_;
  ThreadPool& pool_;
  AdamW adamw_;
  BiasBalancer balancer_;
  int64_t step_ = 0;
  bool resumed_ = false;
  double elapsed_s_ = 0;  // training time over all sessions of the run
  int64_t last_step_inputs_ = 0;  // input tokens of the last step (tokens/s)
};

}  // namespace frugal
