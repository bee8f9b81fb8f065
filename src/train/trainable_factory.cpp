// trainable_factory.h's definition: the DeepSeek-V2/V3 training model.
#include "train/trainable_factory.h"

#include "train/train_model.h"

namespace frugal {

std::unique_ptr<Trainable> trainable_create(const ModelConfig& cfg, const TrainableOptions& opt) {
  // seq_len / batch_rows are hints for preallocation; activations are sized on the first batch.
  return train_model_create(cfg, {.seed = opt.seed, .init_std = opt.init_std, .fp8 = opt.fp8, .fp8_gemm_only = opt.fp8_gemm_only});
}

}  // namespace frugal
