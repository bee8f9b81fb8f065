// The three GEMMs of a Linear layer y = x W^T under DeepSeek-V3's FP8 training
// recipe (V3 report Sec. 3.3, Fig. 6-7), emulated on fp32: each GEMM's inputs are
// fake-quantized to E4M3 with the report's tiling (fp8_quant.h), then multiplied
// by an fp32 GEMM (BLAS). Shapes (T = tokens, K = in features, N = out features):
//   forward      Y [T, N]  = Q(X, 1x128) Q(W, 128x128)^T
//   input grad   dX [T, K] = Q(dY, 1x128) Q(W, 128x128)      (dY tiles run along N, the reduction)
//   weight grad  dW [N, K] = Q(dY, 128x1)^T Q(X, 128x1)      (tiles of 128 tokens: the reduction)
// The master weight W, the gradients and the outputs stay fp32.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace frugal {

enum class GemmOut { Overwrite, Accumulate };

void fp8_linear_fwd(float* Y, const float* X, const float* W, int64_t T, int64_t K, int64_t N, ThreadPool& pool);
void fp8_linear_bwd_input(float* dX, const float* dY, const float* W, int64_t T, int64_t K, int64_t N, GemmOut out,
                          ThreadPool& pool);
void fp8_linear_bwd_weight(float* dW, const float* dY, const float* X, int64_t T, int64_t K, int64_t N, GemmOut out,
                           ThreadPool& pool);

}  // namespace frugal
