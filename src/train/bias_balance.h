// Auxiliary-loss-free load balancing (Wang et al., arXiv 2408.15664; DeepSeek-V3
// report Sec. 2.1.2): after each optimizer step every MoE layer's routing bias
// e_score_correction_bias moves against its load,
//   b_i += gamma * sign(mean(c) - c_i)
// where c_i counts the tokens routed to expert i. The bias only changes which
// experts are selected (s_i + b_i), never the gating weights, and no gradient or
// AdamW touches it. Variants from the paper: a zero-mean update (the update's mean
// subtracted so the biases keep summing to what they summed to), and loads summed
// over `accumulate_steps` steps before one update (tiny batches give noisy counts).
// gamma is 0.001 in V3 and 0 near the end of training (`gamma_zero_from`).
//
// The rule applies to the router biases in layer order. LossStats::expert_load
// reports the main model's MoE layers; a model that also reports its MTP
// modules' MoE layers (numbered after the main ones) gets those balanced too,
// otherwise the MTP routers keep their biases.
#pragma once

#include <cstdint>
#include <vector>

#include "train/trainable.h"

namespace frugal {

struct BiasBalanceOptions {
  double gamma = 0.001;          // bias update speed (V3: 0.001)
  int64_t gamma_zero_from = -1;  // optimizer step from which gamma is 0 (-1: never)
  bool zero_mean = false;        // subtract the mean of each layer's update
  int64_t accumulate_steps = 1;  // optimizer steps of loads summed per update
};

// MaxVio = (max_i load_i - mean load) / mean load (Wang et al. Sec. 4.1); 0 when
// no token was routed.
double max_violation(const std::vector<int64_t>& load);

class BiasBalancer {
 public:
  // Finds the router-bias tensors (ParamTensor::router_bias), in layer order.
  BiasBalancer(std::vector<ParamTensor>& params, const ModelConfig& cfg, const BiasBalanceOptions& opt);

  double gamma_at(int64_t step) const;
  // Adds one step's loads ([MoE layer][expert], as in LossStats: the main
  // model's layers, optionally followed by the MTP modules') to the sums.
  void add_load(const std::vector<std::vector<int64_t>>& expert_load);
  // Called after optimizer step `step` (0-based): once accumulate_steps loads have
  // been added, updates the biases with gamma_at(step) and clears the sums.
  // Returns whether the biases were updated.
  bool update(int64_t step);

  size_t layers() const { return main_layers_; }   // MoE layers of the main model
  size_t all_layers() const { return biases_.size(); }
  // The sums not yet applied and how many steps they hold (train state).
  std::vector<std::vector<int64_t>>& pending_load() { return pending_; }
  int64_t& pending_steps() { return pending_steps_; }

 private:
  std::vector<ParamTensor*> biases_;
  size_t main_layers_ = 0;
  BiasBalanceOptions opt_;
  std::vector<std::vector<int64_t>> pending_;
  int64_t pending_steps_ = 0;
};

}  // namespace frugal
