// AVX2/FMA/F16C matmul kernels (matmul_*_avx2.cpp), behind matmul_*_fast. Call only
// after cpu_has_avx2_fma(); same contracts as matmul.h.
#pragma once

#include <cstdint>

#include "core/matrix_view.h"
#include "core/thread_pool.h"
#include "kernels/matmul.h"

namespace frugal::avx2 {

// W's dtype has an AVX2 decoder and its block scales (if any) align with the
// decode groups (block a multiple of 32).
bool matmul_supports(const MatrixView& W);

void matmul_xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
                ThreadPool& pool);
void matmul_xw(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
               ThreadPool& pool);

// Q8_0 / Q4_0 with T <= kInt8MaxT (decode and small batches): x quantized to int8
// per 32-block and integer dot products (matmul_xwt_int8_avx2.cpp states the
// error). Measured on one Zen 4 core (kernels_bench [2048, 10944], CPU time, a
// loaded machine), GFLOP/s of the token-tiled int8 kernel vs the fp32 tiles:
// T = 32: Q8_0 117 vs 63, Q4_0 190 vs 67; T = 64 the same per token. Larger T
// (prefill) keeps the fp32 tiles, whose blocking keeps x in L2 (the int8 kernel
// reads all of x once per 4 rows).
// Returns false, doing nothing, where it does not apply (other dtypes, larger T,
// block scales, x not finite).
constexpr int64_t kInt8MaxT = 64;
// From this many tokens on, the int8 kernel puts tokens in the vector lanes
// (matmul_xwt_int8_avx2.cpp, "Token-tiled"; T = 16: Q8_0 1.7x, Q4_0 2.4x the
// instructions-per-block kernel used below it). Not from 5: a speculative verify
// pass of 4 drafts has 5 rows, and greedy speculative decoding must give the
// plain decode's tokens, so up to 5 tokens a token's result is the T = 1 kernel's
// bit for bit (the token-tiled kernel rounds differently).
constexpr int64_t kInt8TiledMinT = 6;
bool matmul_xwt_int8(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                     RowRange rows, ThreadPool& pool);

// Largest T that matmul_xw handles (larger T: decode + BLAS in matmul.cpp).
constexpr int64_t kXwMaxT = 16;

}  // namespace frugal::avx2
