#include "train/train_model.h"

#include "core/error.h"

namespace frugal {

namespace {

void check_trainable(const ModelConfig& c, const TrainModelOptions& opt) {
  if (c.fp8_blocks || c.packed_format != DType::F32)
    fail("training needs an unquantized model config (found quantization_config)");
  if (c.qk_rope_head_dim % 2 != 0) fail("qk_rope_head_dim {} must be even (RoPE rotates pairs)", c.qk_rope_head_dim);
  if (c.n_routed_experts > 0) {
    if (c.num_experts_per_tok <= 0 || c.num_experts_per_tok > c.n_routed_experts)
      fail("num_experts_per_tok {} must be in [1, n_routed_experts = {}]", c.num_experts_per_tok, c.n_routed_experts);
    if (c.n_group < 1 || c.n_routed_experts % c.n_group != 0 || c.topk_group < 1 || c.topk_group > c.n_group)
      fail("n_group {} / topk_group {} do not divide n_routed_experts {}", c.n_group, c.topk_group,
           c.n_routed_experts);
  }
  if (!(opt.init_std > 0)) fail("init_std must be positive, got {}", opt.init_std);
}

}  // namespace

TrainModel::TrainModel(const ModelConfig& cfg, const TrainModelOptions& opt)
    : core_(std::make_unique<train::TrainCore<float>>(
          cfg, !opt.fp8 ? train::GemmPrecision::F32
                        : opt.fp8_gemm_only ? train::GemmPrecision::FP8GemmOnly : train::GemmPrecision::FP8)) {
  train::param_init(core_->layout, core_->values.data(), opt.seed, opt.init_std);
  for (const train::ParamSlot& s : core_->layout.slots) {
    params_.push_back(ParamTensor{.name = s.name,
                                  .shape = s.shape,
                                  .value = core_->values.data() + s.offset,
                                  .grad = s.router_bias ? nullptr : core_->grads.data() + s.offset,
                                  .decay = s.decay,
                                  .router_bias = s.router_bias,
                                  .layer = s.layer});
  }
}

LossStats TrainModel::forward_backward(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) {
  return core_->run(batch, opt, pool, true);
}

LossStats TrainModel::forward_loss(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool) {
  return core_->run(batch, opt, pool, false);
}

std::unique_ptr<TrainModel> train_model_create(const ModelConfig& cfg, const TrainModelOptions& opt) {
  check_trainable(cfg, opt);
  return std::make_unique<TrainModel>(cfg, opt);
}

}  // namespace frugal
