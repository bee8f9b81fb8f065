// The contract between the trainer loop (data, optimizer, schedule, bias
// balancing, checkpoints, metrics: src/train/) and a model that computes its
// loss and gradients (the DeepSeek-V3 training forward/backward, or a toy model
// in tests). One list of parameter tensors drives init, load, save, AdamW and
// the balance update (CONVENTIONS.md "one list of tensors").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"

namespace frugal {

struct ParamTensor {
  std::string name;            // the checkpoint's tensor name, verbatim
  std::vector<int64_t> shape;  // as stored in safetensors
  float* value = nullptr;      // fp32 master weights
  float* grad = nullptr;       // same size; nullptr for tensors without a gradient (router bias)
  bool decay = false;          // AdamW decoupled weight decay applies (projection and expert matrices)
  bool router_bias = false;    // e_score_correction_bias: changed only by the balance rule, never by AdamW
  int layer = -1;              // decoder layer (MTP modules count after the main layers), -1 for embed/norm/head

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
  }
};

// B packed rows of T tokens each, row-major [B, T].
struct TrainBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;  // inputs
  std::vector<int32_t> labels;  // the next token after each input; -1 where no loss is taken
  std::vector<int32_t> doc;     // document index of each input within its row; a depth-k MTP target
                                // is masked when position t + k lies in another document or past T
  // Optional [B, T] per-target weights. When set, the main loss is the weighted
  // sum  sum_t label_weight_t * CE_t  (no mean): GRPO's per-token policy-gradient
  // weights (rl/grpo_objective.h). Empty: the mean over unmasked targets.
  std::vector<float> label_weight;
};

struct LossOptions {
  float mtp_lambda = 0.3f;     // L = L_main + lambda / D * sum_k L_k  (V3 report Eq. 25)
  float balance_alpha = 0.0f;  // sequence-wise balance loss weight (V3 report Eq. 17-20)
  float z_loss = 0.0f;         // coefficient of mean_t logsumexp(logits_t)^2 on the main head
  float grad_scale = 1.0f;     // multiplies every accumulated gradient (1 / accumulation steps)
  bool target_logprobs = false;  // fill LossStats::target_logprob
};

struct LossStats {
  double loss = 0;                                // the total objective that was differentiated
  double main = 0, mtp = 0, balance = 0, z = 0;   // its parts, each a mean over its own targets
  int64_t tokens = 0;                             // targets of the main loss
  std::vector<std::vector<int64_t>> expert_load;  // [MoE layer of the main model][n_routed_experts] tokens routed
  std::vector<std::vector<int64_t>> mtp_expert_load;  // the same for the MoE layers of the MTP modules, in order
  std::vector<float> target_logprob;              // [B * T] log p(label) under the main head; 0 where label < 0
};

class Trainable {
 public:
  virtual ~Trainable() = default;
  virtual const ModelConfig& config() const = 0;
  virtual std::vector<ParamTensor>& params() = 0;
  // Forward + backward: accumulates (+=) grad_scale * dL/dparam into every ParamTensor::grad.
  virtual LossStats forward_backward(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) = 0;
  // Forward only (evaluation); gradients untouched.
  virtual LossStats forward_loss(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) = 0;
};

}  // namespace frugal
