// The DeepSeek-V2/V3 model as a Trainable (trainable.h): fp32 master weights and
// gradients in flat buffers, one ParamTensor per checkpoint tensor with the
// checkpoint's names (train_weights.h: what is stored, the weight-decay rule),
// and the loss / gradient of train_core.h.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "train/train_core.h"
#include "train/trainable.h"

namespace frugal {

struct TrainModelOptions {
  uint64_t seed = 0;
  float init_std = 0.02f;  // normal(0, init_std) for every matrix
  bool fp8 = false;        // V3's FP8 GEMMs for every Linear (router, head, embedding, norms, attention core stay fp32)
                           // and its low-precision activation storage (train_ops.h GemmPrecision::FP8)
  bool fp8_gemm_only = false;  // with fp8: the GEMMs alone, cached activations fp32 (ablation)
};

class TrainModel : public Trainable {
 public:
  TrainModel(const ModelConfig& cfg, const TrainModelOptions& opt);

  const ModelConfig& config() const override { return core_->cfg; }
  std::vector<ParamTensor>& params() override { return params_; }
  LossStats forward_backward(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) override;
  LossStats forward_loss(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) override;

  // [B T, V] main-head logits of the last forward_loss (for tests and eval).
  const std::vector<float>& main_logits() const { return core_->main_logits(); }
  // [B (T - k - 1), V] logits of MTP module k (depth k + 1) of the last forward_loss.
  const std::vector<float>& mtp_logits(int64_t k) const { return core_->mtp_logits(k); }

 private:
  std::unique_ptr<train::TrainCore<float>> core_;
  std::vector<ParamTensor> params_;
};

// Checks that `cfg` is trainable (clear frugal::Error otherwise) and initializes
// deterministically from opt.seed (train_weights.h param_init).
std::unique_ptr<TrainModel> train_model_create(const ModelConfig& cfg, const TrainModelOptions& opt);

}  // namespace frugal
