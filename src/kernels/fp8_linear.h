// The three GEMMs of a Linear layer y = x W^T under DeepSeek-V3's FP8 training
// recipe (V3 report Sec. 3.3, Fig. 6-7), emulated on fp32: each GEMM's inputs are
// fake-quantized to E4M3 with the report's tiling (fp8_quant.h), then multiplied
// by an fp32 GEMM (BLAS). Shapes (T = tokens, K = in features, N = out features):
//   forward      Y [T, N]  = Q(X, 1x128) Q(W, 128x128)^T
//   input grad   dX [T, K] = Q(dY, 1x128) Q(W, 128x128)      (dY tiles run along N, the reduction)
//   weight grad  dW [N, K] = Q(dY, 128x1)^T Q(X, 128x1)      (tiles of 128 tokens: the reduction)
// The master weight W, the gradients and the outputs stay fp32. Accumulation is
// plain fp32 over the whole K (BLAS): at least as precise as V3's promotion of
// the tensor cores' ~14-bit partial sums to fp32 every 128 elements (Sec.
// 3.3.2), whose limited in-chunk precision is not modelled.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/fp8_quant.h"

namespace frugal {

enum class GemmOut { Overwrite, Accumulate };

// The scale rule of the activation X (both of its quantizations: 1x128 forward,
// 128x1 weight-gradient) and of the output gradient dY (1x128 input-gradient,
// 128x1 weight-gradient); the weight is always 128x128 with amax scales.
struct Fp8LinearScales {
  Fp8Scale x = Fp8Scale::Amax;
  Fp8Scale dy = Fp8Scale::Amax;
};

void fp8_linear_fwd(float* Y, const float* X, const float* W, int64_t T, int64_t K, int64_t N, ThreadPool& pool,
                    Fp8LinearScales sc = {});
void fp8_linear_bwd_input(float* dX, const float* dY, const float* W, int64_t T, int64_t K, int64_t N, GemmOut out,
                          ThreadPool& pool, Fp8LinearScales sc = {});
void fp8_linear_bwd_weight(float* dW, const float* dY, const float* X, int64_t T, int64_t K, int64_t N, GemmOut out,
                           ThreadPool& pool, Fp8LinearScales sc = {});

}  // namespace frugal
