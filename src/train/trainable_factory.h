// The one place where `frugal train` gets its model: the DeepSeek-V3 training
// forward/backward (TrainModel, train/train_model.h), constructed in
// trainable_factory.cpp. Tests of the loop pass toy models instead.
#pragma once

#include <cstdint>
#include <memory>

#include "model/config.h"
#include "train/trainable.h"

namespace frugal {

struct TrainableOptions {
  uint64_t seed = 0;        // weight initialization
  float init_std = 0.02f;   // normal(0, init_std) for matrices (V3 report Sec. 4.2 uses 0.006 at full scale)
  bool fp8 = false;         // --fp8: every Linear's three GEMMs in emulated E4M3 (kernels/fp8_linear.h)
                            // and V3's low-precision activation storage (report Sec. 3.3.3)
  bool fp8_gemm_only = false;  // --fp8-gemm-only: the FP8 GEMMs without the storage part (ablation)
  int64_t seq_len = 0;      // rows of the batches it will see (for activation buffers)
  int64_t batch_rows = 0;   // rows per micro-batch
};

// A freshly initialized model of this config. Throws frugal::Error when the
// config is one training cannot handle.
std::unique_ptr<Trainable> trainable_create(const ModelConfig& cfg, const TrainableOptions& opt);

}  // namespace frugal
