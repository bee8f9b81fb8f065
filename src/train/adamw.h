// AdamW over the trainer's list of ParamTensors (Loshchilov & Hutter, "Decoupled
// Weight Decay Regularization"), global-norm gradient clipping, and the learning
// rate schedule of the DeepSeek-V3 report (Sec. 4.2: linear warm-up, constant,
// cosine decay to a floor).
//
// Which tensors decay: ParamTensor::decay (set by the model: projection and
// expert matrices; not norms, biases, embeddings). Router biases
// (e_score_correction_bias) are skipped entirely: the balance rule owns them
// (bias_balance.h). Moments are fp32, one pair per tensor with a gradient.
//
// The update follows PyTorch's torch.optim.AdamW step by step (so a reference
// written with it agrees to rounding):
//   g   = clip_scale * grad
//   m   = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2
//   p  *= 1 - lr wd                          (decay tensors only)
//   p  -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Gradient accumulation is the model's job (LossOptions::grad_scale = 1 / steps),
// so the gradients seen here are already the mean over the accumulated batches.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "train/trainable.h"

namespace frugal {

struct AdamWOptions {
  float beta1 = 0.9f, beta2 = 0.95f;  // V3 report Sec. 4.2
  float eps = 1e-8f;
  float weight_decay = 0.1f;
};

struct LrSchedule {
  double lr = 3e-4;            // peak
  int64_t warmup_steps = 0;    // linear from lr / warmup_steps up to lr
  int64_t constant_steps = 0;  // then constant
  int64_t decay_steps = 0;     // then cosine down to min_lr over this many steps
  double min_lr = 0;           // the floor, held after the decay
  // Learning rate of optimizer step `step` (0-based).
  double at(int64_t step) const;
};

struct AdamWStepStats {
  double grad_norm = 0;   // global L2 norm before clipping
  double clip_scale = 1;  // factor the gradients were multiplied by
};

class AdamW {
 public:
  AdamW(std::vector<ParamTensor>& params, const AdamWOptions& opt);

  // One step: clip the global norm to `clip` (<= 0: no clipping), update every
  // tensor with a gradient except router biases. Gradients are left as they were
  // (call zero_grad() before the next accumulation). A non-finite gradient norm
  // (NaN / inf somewhere) changes nothing, not even the step count: the caller
  // sees it in the returned grad_norm.
  AdamWStepStats step(double lr, double clip, ThreadPool& pool);
  void zero_grad(ThreadPool& pool);

  int64_t steps_taken() const { return t_; }
  // Optimizer state for exact resume: per tensor (index in params), empty for
  // tensors without moments.
  std::vector<std::vector<float>>& exp_avg() { return m_; }
  std::vector<std::vector<float>>& exp_avg_sq() { return v_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  const AdamWOptions& options() const { return opt_; }

 private:
  std::vector<ParamTensor>& params_;
  AdamWOptions opt_;
  std::vector<std::vector<float>> m_, v_;
  int64_t t_ = 0;
};

bool adamw_updates(const ParamTensor& p);  // has a gradient and is not a router bias

// Global L2 norm of the gradients AdamW updates. Summed in double over fixed
// blocks in a fixed order, so the value does not depend on the thread count.
double grad_global_norm(const std::vector<ParamTensor>& params, ThreadPool& pool);

}  // namespace frugal
