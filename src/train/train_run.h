// A whole `frugal train` run from its settings (the command line's flags,
// already parsed): tokenizer, model config (a preset or an existing folder,
// with overrides), documents, packing, the model from a factory, optional
// initial weights or resume, then the Trainer. The factory is a parameter so
// that the same path is tested with a toy model and used with the real one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainable_factory.h"

namespace frugal {

struct TrainRunSettings {
  // Model
  std::string like = "tiny", set, init, tokenizer, chat_format;
  double init_std = 0.02;
  bool fp8 = false, fp8_gemm_only = false;
  // Data
  std::vector<std::string> data;
  int64_t seq_len = 256;
  double val_fraction = 0.0;
  int64_t val_docs = 0;
  // Schedule and optimizer
  int64_t batch = 8, accum = 1, steps = 1000;
  double lr = 1e-3, min_lr = -1;  // min_lr < 0: lr / 10
  int64_t warmup = 0, constant = 0, decay = -1;  // decay < 0: the rest of the run
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, clip = 1.0;
  // Losses and balancing
  double mtp_lambda = 0.3, balance_alpha = 1e-4, z_loss = 0;
  double bias_gamma = 0.001;
  int64_t bias_gamma_zero_from = -1, bias_accumulate = 1;
  bool bias_zero_mean = false;
  // Evaluation, checkpoints, run
  int64_t eval_every = 0, eval_batches = 0, checkpoint_every = 0, keep_checkpoints = 3;
  std::string save_dtype = "f32";  // f32 | bf16
  uint64_t seed = 0;
  int threads = 0;                 // <= 0: all cores
  std::string resume, out;
  bool progress = true;
};

using TrainableFactory = std::function<std::unique_ptr<Trainable>(const ModelConfig&, const TrainableOptions&)>;

// Runs the training; `record` (e.g. the flags as given) is saved with the
// resolved settings in the run folder's train_config.json. Throws
// frugal::Error with a one-line message for every user mistake.
void train_run(TrainRunSettings s, const TrainableFactory& factory, const nlohmann::json& record);

}  // namespace frugal
