// Placeholder for trainable_factory.h until the DeepSeek-V3 training model is
// merged: replace this file (the only one) with the real factory. The
// definition is weak, so a real one linked beside it takes precedence.
#include "core/error.h"
#include "train/trainable_factory.h"

namespace frugal {

__attribute__((weak)) std::unique_ptr<Trainable> trainable_create(const ModelConfig&, const TrainableOptions&) {
  fail("training forward/backward not built yet: this build of frugal has no DeepSeek-V3 training model "
       "(src/train/trainable_factory_stub.cpp); data, optimizer, checkpoints and the loop are ready for it");
}

}  // namespace frugal
