#include "train/bias_balance.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

double max_violation(const std::vector<int64_t>& load) {
  if (load.empty()) return 0;
  int64_t total = 0, mx = 0;
  for (int64_t c : load) {
    total += c;
    mx = std::max(mx, c);
  }
  if (total == 0) return 0;
  const double mean = double(total) / double(load.size());
  return (double(mx) - mean) / mean;
}

BiasBalancer::BiasBalancer(std::vector<ParamTensor>& params, const ModelConfig& cfg, const BiasBalanceOptions& opt)
    : opt_(opt) {
  if (opt.accumulate_steps < 1) fail("bias balance: accumulate_steps must be >= 1 (got {})", opt.accumulate_steps);
  for (ParamTensor& p : params)
    if (p.router_bias) {
      biases_.push_back(&p);
      main_layers_ += p.layer < cfg.num_hidden_layers;
    }
  std::stable_sort(biases_.begin(), biases_.end(), [](const ParamTensor* a, const ParamTensor* b) { return a->layer < b->layer; });
  pending_.resize(biases_.size());
  for (size_t l = 0; l < biases_.size(); ++l) pending_[l].assign(size_t(biases_[l]->numel()), 0);
}

double BiasBalancer::gamma_at(int64_t step) const {
  return opt_.gamma_zero_from >= 0 && step >= opt_.gamma_zero_from ? 0.0 : opt_.gamma;
}

void BiasBalancer::add_load(const std::vector<std::vector<int64_t>>& expert_load) {
  FRUGAL_CHECK(expert_load.size() == main_layers_ || expert_load.size() == biases_.size(),
               "expert_load has {} MoE layers, the model {} router biases ({} in the main model)", expert_load.size(),
               biases_.size(), main_layers_);
  for (size_t l = 0; l < expert_load.size(); ++l) {
    FRUGAL_CHECK(expert_load[l].size() == pending_[l].size(), "layer {}: {} expert loads for {} experts", l,
                 expert_load[l].size(), pending_[l].size());
    for (size_t i = 0; i < pending_[l].size(); ++i) pending_[l][i] += expert_load[l][i];
  }
  ++pending_steps_;
}

bool BiasBalancer::update(int64_t step) {
  if (pending_steps_ < opt_.accumulate_steps) return false;
  const double gamma = gamma_at(step);
  std::vector<double> delta;
  for (size_t l = 0; l < biases_.size(); ++l) {
    const std::vector<int64_t>& c = pending_[l];
    const size_t E = c.size();
    int64_t total = 0;
    for (int64_t x : c) total += x;
    // sign(mean(c) - c_i) compared as E * c_i against the total: exact in integers.
    delta.assign(E, 0.0);
    for (size_t i = 0; i < E; ++i) {
      const int64_t d = total - int64_t(E) * c[i];
      delta[i] = gamma * double((d > 0) - (d < 0));
    }
    if (opt_.zero_mean) {
      double mean = 0;
      for (double d : delta) mean += d;
      mean /= double(E);
      for (double& d : delta) d -= mean;
    }
    float* b = biases_[l]->value;
    for (size_t i = 0; i < E; ++i) b[i] = float(double(b[i]) + delta[i]);
    std::fill(pending_[l].begin(), pending_[l].end(), 0);
  }
  pending_steps_ = 0;
  return true;
}

}  // namespace frugal
