// What a run needs beyond the weights to continue exactly where it stopped:
// AdamW's moments and step count, the bias-balance sums not yet applied, and a
// JSON object of the trainer's own (optimizer step, data position, RNG state,
// counters). Stored as one safetensors file beside the model files of a
// checkpoint ("train_state.safetensors"): tensors "exp_avg.<param>",
// "exp_avg_sq.<param>" (fp32, bit-exact), "balance_load.<i>" (I64), optionally
// "master.<param>" (the fp32 weights, when the model files beside it hold them
// rounded to bf16), and the JSON in the header's __metadata__ under
// "frugal_train_state".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/adamw.h"
#include "train/bias_balance.h"

namespace frugal {

constexpr const char* kTrainStateFile = "train_state.safetensors";

struct TrainStateOptions {
  bool master_weights = false;  // also store the fp32 weights (needed when the model is saved in bf16)
};

void train_state_save(const std::string& path, const std::vector<ParamTensor>& params, AdamW& adamw,
                      BiasBalancer& balancer, const nlohmann::json& trainer, const TrainStateOptions& opt = {});

// Restores adamw, balancer and (when stored) the fp32 weights; returns the
// trainer's JSON. Throws frugal::Error when the file does not match the model
// (a tensor missing or of another size).
nlohmann::json train_state_load(const std::string& path, const std::vector<ParamTensor>& params, AdamW& adamw,
                                BiasBalancer& balancer);

}  // namespace frugal
