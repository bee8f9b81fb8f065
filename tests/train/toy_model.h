// A small Trainable for testing the training loop without the DeepSeek-V3
// model: a bigram language model with one routed "MoE" layer, so every part of
// the contract is exercised (decayed and non-decayed tensors, a router bias
// that only the balance rule moves, expert loads).
//
//   h      = E[x]                                  embedding        [d]
//   s_e    = sigmoid(G_e . h)                      router scores    [n_exp]
//   e*     = argmax_e (s_e + b_e)                  selection uses the bias, gating does not
//   y      = h + s_e* (W_e* h)                     one routed expert
//   logits = H y                                   head             [V]
//   L      = mean over targets of cross-entropy
// Gradients by hand (checked against finite differences in test_toy_model).
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/synth.h"
#include "train/trainable.h"

namespace frugal::test {

class ToyModel : public Trainable {
 public:
  static constexpr int64_t kExperts = 4;

  ToyModel(const ToyModel&) = delete;
  ToyModel& operator=(const ToyModel&) = delete;
  ToyModel(int64_t vocab, int64_t d, uint64_t seed) : V_(vocab), d_(d) {
    nlohmann::json cj = synth_preset("tiny");
    cj["vocab_size"] = vocab;
    cj["num_hidden_layers"] = 1;
    cj["first_k_dense_replace"] = 0;
    cj["n_routed_experts"] = kExperts;
    cj["n_group"] = 1;
    cj["topk_group"] = 1;
    cj["num_experts_per_tok"] = 1;
    cfg_ = config_from_json(cj, "toy");
    add("model.embed_tokens.weight", {V_, d_}, false, false, 0.5f, seed);
    add("model.layers.0.mlp.gate.weight", {kExperts, d_}, false, false, 0.5f, seed + 1);
    add("model.layers.0.mlp.gate.e_score_correction_bias", {kExperts}, false, true, 0.0f, seed + 2);
    add("model.layers.0.mlp.experts.weight", {kExperts * d_, d_}, true, false, 0.3f, seed + 3);
    add("lm_head.weight", {V_, d_}, true, false, 0.5f, seed + 4);
    for (size_t i = 0; i < params_.size(); ++i) {
      params_[i].value = values_[i].data();
      params_[i].grad = params_[i].router_bias ? nullptr : grads_[i].data();
    }
  }

  const ModelConfig& config() const override { return cfg_; }
  std::vector<ParamTensor>& params() override { return params_; }

  LossStats forward_backward(const TrainBatch& b, const LossOptions& opt, ThreadPool&) override {
    return run(b, opt, true);
  }
  LossStats forward_loss(const TrainBatch& b, const LossOptions& opt, ThreadPool&) override {
    return run(b, opt, false);
  }

  std::vector<std::vector<float>> values_, grads_;

 private:
  void add(const std::string& name, std::vector<int64_t> shape, bool decay, bool router_bias, float std, uint64_t seed) {
    ParamTensor p{.name = name, .shape = shape, .decay = decay, .router_bias = router_bias, .layer = name.find("layers.0") != std::string::npos ? 0 : -1};
    std::vector<float> v(size_t(p.numel()));
    std::mt19937 rng{uint32_t(seed)};
    std::normal_distribution<float> nd(0.0f, std);
    for (float& x : v) x = std > 0 ? nd(rng) : 0.0f;
    values_.push_back(std::move(v));
    grads_.emplace_back(size_t(p.numel()), 0.0f);
    params_.push_back(p);
  }

  LossStats run(const TrainBatch& b, const LossOptions& opt, bool backward) {
    float* E = values_[0].data();
    float* G = values_[1].data();
    const float* bias = values_[2].data();
    float* W = values_[3].data();
    float* H = values_[4].data();
    LossStats st;
    st.expert_load.assign(1, std::vector<int64_t>(kExperts, 0));
    int64_t n = 0;
    for (int32_t l : b.labels) n += l >= 0;
    st.tokens = n;
    if (n == 0) return st;
    const size_t d = static_cast<size_t>(d_);
    std::vector<float> s(kExperts), y(d), wh(d), logits(static_cast<size_t>(V_)), dy(d), dh(d);
    double loss = 0;
    for (int64_t i = 0; i < b.B * b.T; ++i) {
      const int32_t x = b.tokens[size_t(i)], label = b.labels[size_t(i)];
      const float* h = E + int64_t(x) * d_;
      int best = 0;
      for (int e = 0; e < kExperts; ++e) {
        double z = 0;
        for (int64_t k = 0; k < d_; ++k) z += double(G[e * d_ + k]) * h[k];
        s[size_t(e)] = float(1.0 / (1.0 + std::exp(-z)));
        if (s[size_t(e)] + bias[e] > s[size_t(best)] + bias[best]) best = e;
      }
      ++st.expert_load[0][size_t(best)];
      if (label < 0) continue;
      const float* We = W + int64_t(best) * d_ * d_;
      const float g = s[size_t(best)];
      for (int64_t r = 0; r < d_; ++r) {
        double acc = 0;
        for (int64_t k = 0; k < d_; ++k) acc += double(We[r * d_ + k]) * h[k];
        wh[size_t(r)] = float(acc);
        y[size_t(r)] = h[r] + g * wh[size_t(r)];
      }
      double mx = -1e30;
      for (int64_t v = 0; v < V_; ++v) {
        double acc = 0;
        for (int64_t k = 0; k < d_; ++k) acc += double(H[v * d_ + k]) * y[size_t(k)];
        logits[size_t(v)] = float(acc);
        mx = std::max(mx, acc);
      }
      double sum = 0;
      for (int64_t v = 0; v < V_; ++v) sum += std::exp(logits[size_t(v)] - mx);
      const double lse = mx + std::log(sum);
      loss += lse - logits[size_t(label)];
      if (!backward) continue;
      const float scale = opt.grad_scale / float(n);
      float* dE = grads_[0].data();
      float* dG = grads_[1].data();
      float* dW = grads_[3].data();
      float* dH = grads_[4].data();
      std::fill(dy.begin(), dy.end(), 0.0f);
      for (int64_t v = 0; v < V_; ++v) {
        const float dl = scale * (float(std::exp(logits[size_t(v)] - lse)) - (v == label ? 1.0f : 0.0f));
        for (int64_t k = 0; k < d_; ++k) {
          dH[v * d_ + k] += dl * y[size_t(k)];
          dy[size_t(k)] += dl * H[v * d_ + k];
        }
      }
      double dg = 0;
      for (int64_t r = 0; r < d_; ++r) dg += double(dy[size_t(r)]) * wh[size_t(r)];
      for (int64_t k = 0; k < d_; ++k) dh[size_t(k)] = dy[size_t(k)];
      float* dWe = dW + int64_t(best) * d_ * d_;
      for (int64_t r = 0; r < d_; ++r)
        for (int64_t k = 0; k < d_; ++k) {
          dWe[r * d_ + k] += g * dy[size_t(r)] * h[k];
          dh[size_t(k)] += g * We[r * d_ + k] * dy[size_t(r)];
        }
      const float dz = float(dg) * g * (1.0f - g);  // sigmoid'
      for (int64_t k = 0; k < d_; ++k) {
        dG[best * d_ + k] += dz * h[k];
        dh[size_t(k)] += dz * G[best * d_ + k];
      }
      for (int64_t k = 0; k < d_; ++k) dE[int64_t(x) * d_ + k] += dh[size_t(k)];
    }
    st.main = loss / double(n);
    st.loss = st.main;
    return st;
  }

  int64_t V_, d_;
  ModelConfig cfg_;
  std::vector<ParamTensor> params_;
};

}  // namespace frugal::test
