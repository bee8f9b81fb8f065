// A one-hidden-layer MLP language model whose hidden Linear runs its three GEMMs
// either in fp32 or through kernels/fp8_linear.h (DeepSeek-V3's FP8 recipe;
// the embedding and the output head stay fp32, as in V3), for measuring what the
// FP8 emulation does to training.
//
//   X = E[tokens]              [N, d]
//   A = X W1^T                 [N, h]   (fp8 or fp32)
//   G = silu(A)
//   logits = G W2^T            [N, V]   (fp32)
#pragma once

#include <cblas.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/fp8_linear.h"
#include "model/config.h"
#include "model/synth.h"
#include "train/trainable.h"

namespace frugal::test {

struct ToyMlpOptions {
  int64_t vocab = 64, d = 128, hidden = 256;
  bool fp8 = false;
  uint32_t seed = 1;
};

class ToyMlpModel : public Trainable {
 public:
  explicit ToyMlpModel(const ToyMlpOptions& o) : o_(o) {
    nlohmann::json cj = synth_preset("tiny");
    cj["vocab_size"] = o.vocab;
    cj["num_hidden_layers"] = 1;
    cfg_ = config_from_json(cj, "toy mlp");
    add("model.embed_tokens.weight", {o.vocab, o.d}, false, 1.0f);
    add("model.layers.0.mlp.up_proj.weight", {o.hidden, o.d}, true, 1.0f / std::sqrt(float(o.d)));
    add("lm_head.weight", {o.vocab, o.hidden}, true, 1.0f / std::sqrt(float(o.hidden)));
    for (size_t i = 0; i < params_.size(); ++i) {
      params_[i].value = values_[i].data();
      params_[i].grad = grads_[i].data();
    }
  }
  ToyMlpModel(const ToyMlpModel&) = delete;
  ToyMlpModel& operator=(const ToyMlpModel&) = delete;

  const ModelConfig& config() const override { return cfg_; }
  std::vector<ParamTensor>& params() override { return params_; }
  LossStats forward_backward(const TrainBatch& b, const LossOptions& opt, ThreadPool& pool) override {
    return run(b, opt, true, pool);
  }
  LossStats forward_loss(const TrainBatch& b, const LossOptions& opt, ThreadPool& pool) override {
    return run(b, opt, false, pool);
  }

 private:
  void add(const char* name, std::vector<int64_t> shape, bool decay, float std) {
    ParamTensor p{.name = name, .shape = shape, .decay = decay, .layer = -1};
    std::vector<float> v(static_cast<size_t>(p.numel()));
    std::mt19937 rng{o_.seed + uint32_t(params_.size())};
    std::normal_distribution<float> nd(0.0f, std);
    for (float& x : v) x = nd(rng);
    values_.push_back(std::move(v));
    grads_.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    params_.push_back(p);
  }

  LossStats run(const TrainBatch& b, const LossOptions& opt, bool backward, ThreadPool& pool) {
    const int64_t N = b.B * b.T, d = o_.d, h = o_.hidden, V = o_.vocab;
    const float *E = values_[0].data(), *W1 = values_[1].data(), *W2 = values_[2].data();
    std::vector<float> X(size_t(N * d)), A(size_t(N * h)), G(size_t(N * h)), L(size_t(N * V));
    for (int64_t i = 0; i < N; ++i) std::copy_n(E + int64_t(b.tokens[size_t(i)]) * d, d, X.data() + i * d);
    if (o_.fp8) fp8_linear_fwd(A.data(), X.data(), W1, N, d, h, pool);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(h), int(d), 1, X.data(), int(d), W1, int(d), 0, A.data(), int(h));
    for (size_t i = 0; i < A.size(); ++i) G[i] = A[i] / (1.0f + std::exp(-A[i]));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(V), int(h), 1, G.data(), int(h), W2, int(h), 0, L.data(), int(V));
    LossStats st;
    for (int32_t l : b.labels) st.tokens += l >= 0;
    if (st.tokens == 0) return st;
    double loss = 0;
    const float scale = opt.grad_scale / float(st.tokens);
    for (int64_t i = 0; i < N; ++i) {  // softmax cross-entropy; L becomes dL/dlogits
      float* row = L.data() + i * V;
      const int32_t label = b.labels[size_t(i)];
      if (label < 0) {
        std::fill_n(row, V, 0.0f);
        continue;
      }
      const float mx = *std::max_element(row, row + V);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v] - mx));
      loss += std::log(sum) + mx - row[label];
      for (int64_t v = 0; v < V; ++v) row[v] = scale * (float(std::exp(double(row[v] - mx)) / sum) - (v == label));
    }
    st.main = st.loss = loss / double(st.tokens);
    if (!backward) return st;
    float *dE = grads_[0].data(), *dW1 = grads_[1].data(), *dW2 = grads_[2].data();
    // dW2 += dL^T G ; dG = dL W2
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(V), int(h), int(N), 1, L.data(), int(V), G.data(), int(h), 1, dW2, int(h));
    std::vector<float> dA(size_t(N * h)), dX(size_t(N * d));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), int(h), int(V), 1, L.data(), int(V), W2, int(h), 0, dA.data(), int(h));
    for (size_t i = 0; i < dA.size(); ++i) {  // silu'(a) = s (1 + a (1 - s))
      const float s = 1.0f / (1.0f + std::exp(-A[i]));
      dA[i] *= s * (1.0f + A[i] * (1.0f - s));
    }
    if (o_.fp8) {
      fp8_linear_bwd_weight(dW1, dA.data(), X.data(), N, d, h, GemmOut::Accumulate, pool);
      fp8_linear_bwd_input(dX.data(), dA.data(), W1, N, d, h, GemmOut::Overwrite, pool);
    } else {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(h), int(d), int(N), 1, dA.data(), int(h), X.data(), int(d), 1, dW1, int(d));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), int(d), int(h), 1, dA.data(), int(h), W1, int(d), 0, dX.data(), int(d));
    }
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = 0; k < d; ++k) dE[int64_t(b.tokens[size_t(i)]) * d + k] += dX[size_t(i * d + k)];
    return st;
  }

  ToyMlpOptions o_;
  ModelConfig cfg_;
  std::vector<std::vector<float>> values_, grads_;
  std::vector<ParamTensor> params_;
};

}  // namespace frugal::test
