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

// Q8_0 / Q4_0, any T: x quantized to int8 per 32-block and integer dot products
// (matmul_xwt_int8_avx2.cpp states the error). Measured on one Zen 4 core
// (kernels_bench [2048, 10944], CPU time, a loaded machine), GFLOP/s of the
// token-tiled int8 kernel vs the fp32 tiles: T = 32: Q8_0 117 vs 63, Q4_0 190 vs
// 67; T = 64 the same per token. More than kInt8MaxT tokens (prefill) run in
// chunks of kInt8MaxT, whose quantized x stays in L2 (the kernel reads all of a
// chunk's x once per 4 rows).
// Returns false where it does not apply (other dtypes, block scales, x not
// finite); y may then hold partial results, which the fp32 kernels overwrite.
constexpr int64_t kInt8MaxT = 64;
// From this many tokens on, the int8 kernel puts tokens in the vector lanes
// (matmul_xwt_int8_avx2.cpp, "Token-tiled"), below it rows. Both give a token's
// result bit for bit the same (every T up to kInt8MaxT), so this is a speed
// choice only (kernels_bench, [2048, 10944], 1 thread: the token-tiled kernel
// costs as much for 6..8 tokens as the rows-in-lanes one for ~5).
constexpr int64_t kInt8TiledMinT = 6;
// x quantized per 32-value block for the int8 kernels, T tokens of nb blocks.
struct QuantX {
  int64_t nb = 0;
  int8_t* q = nullptr;    // [T][nb * 32]
  uint8_t* aq = nullptr;  // |q| (Q8_0)
  float* d = nullptr;     // [T][nb]
  int32_t* s8 = nullptr;  // [T][nb] 8 sum(q): Q4_0's -8, as sum (q - 8) x^ = sum q x^ - 8 sum x^
};

// The rows-in-lanes int8 kernel (T <= 5) with AVX512-VNNI (matmul_xwt_int8_vnni.cpp);
// call only where cpu_has_avx512_vnni().
void matmul_xwt_int8_rows_vnni(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows,
                               const QuantX& qx, ThreadPool& pool);

// The token-tiled int8 kernel with AVX512-VNNI on 16-token tiles
// (matmul_xwt_int8_tiled_vnni.cpp), the same bits as the AVX2 one, used from 9
// tokens on; `f16` is the fp16 -> fp32 table of all 65536 codes. Call only where
// cpu_has_avx512_vnni(). kernels_bench [2048, 10944], 1 thread, GFLOP/s AVX2 ->
// VNNI (2026-11-24, a training run paused): Q8_0 T = 16 95-110 -> 155-169, T = 64
// 97-117 -> 173-177; Q4_0 T = 16 161-167 -> 208-219, T = 64 170-177 -> 229-234;
// at T = 8 (half the lanes empty) it is slower: Q8_0 85-107 -> 81-83, Q4_0 152-156 -> 102-112.
void matmul_xwt_int8_tiled_vnni(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows,
                                const QuantX& qx, const float* f16, ThreadPool& pool);

bool matmul_xwt_int8(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                     RowRange rows, ThreadPool& pool);

// fp8-e4m3 weights with block scales (block a multiple of 64) or bf16 weights
// without (only where dpbf16_x_single()), cols a multiple of 64, any T, on
// AVX512-BF16, in tiles of at most kDpbf16MaxT tokens (matmul_xwt_dpbf16.cpp
// states how and its error); call only where cpu_has_avx512_bf16(). Returns false
// where it does not apply or the weights hold a code it cannot take (y may then
// hold partial results).
// Tiles of 4 rows x 3 tokens (24 accumulators) beat 2 x 4 (kernels_bench [2048,
// 10944], 1 Zen 4 core, % of the fp32 FMA peak, fp8 with x as two bf16: T = 4 48
// -> 53-59 % as 2 + 2, T = 16 64 -> 74 %; as one: T = 16 89 -> 103-110 %).
constexpr int64_t kDpbf16MaxT = 3;
bool matmul_xwt_dpbf16(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                       RowRange rows, ThreadPool& pool);

// Largest T that matmul_xw handles (larger T: decode + BLAS in matmul.cpp).
constexpr int64_t kXwMaxT = 16;

}  // namespace frugal::avx2
