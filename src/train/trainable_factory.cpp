// The model `frugal train` trains: the DeepSeek-V2/V3 training forward/backward.
#include "train/train_model.h"
#include "train/trainable_factory.h"

namespace frugal {

std::unique_ptr<Trainable> trainable_create(const ModelConfig& cfg, const TrainableOptions& opt) {
  return train_model_create(cfg, {.seed = opt.seed, .init_std = opt.init_std, .fp8 = opt.fp8});
}

}  // namespace frugal
