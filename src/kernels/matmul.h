// Products of fp32 activations with a weight matrix in its stored dtype
// (f32, bf16, f16, fp8 with block scales, Q8_0, Q4_0), decoded inside the kernel.
//
// Shapes: T = tokens (rows of x), W = [rows, cols]; a contiguous range of W's
// rows [row0, row0 + n) takes part (e.g. one head's slice of kv_b_proj).
// ldx / ldy are the row strides of x and y in floats.
//
// Numerics of the fast versions: fp32 products of the exactly decoded weights,
// summed in a different order than the reference (error <= 2^-24 (K/8 + 16)
// sum |x w|), except Q8_0 / Q4_0 weights on AVX2, where x is rounded to int8
// per 32 values (d = amax / 127) for integer dot products: an added error <= sum
// over 32-blocks of (amax_block(x) / 254) sum |w| (matmul_xwt_int8_avx2.cpp). A
// token's result never depends on the other tokens of the call for T <= 4 (Q
// formats: any T), so batched decode equals single-sequence decode bit for bit up
// to 4 sequences (Q formats: any number), and Q formats' prefill equals decode.
#pragma once

#include <cstdint>

#include "core/matrix_view.h"
#include "core/thread_pool.h"

namespace frugal {

struct RowRange {
  int64_t begin = 0, count = 0;
};

// y[t, i] = sum_k x[t, k] * W[row0 + i, k]      x: [T, W.cols], y: [T, n]   (x W^T, a Linear)
void matmul_xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                RowRange rows, ThreadPool& pool);
// y[t, k] = sum_i x[t, i] * W[row0 + i, k]      x: [T, n], y: [T, W.cols]   (x W)
void matmul_xw(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
               RowRange rows, ThreadPool& pool);

// Whole-matrix Linear: y [T, W.rows] = x [T, W.cols] W^T, contiguous.
inline void linear(float* y, const float* x, int64_t T, const MatrixView& W, ThreadPool& pool) {
  matmul_xwt(y, W.rows, x, W.cols, T, W, RowRange{0, W.rows}, pool);
}

// Aborts with a clear message when rows is not inside W, or W is a block format
// (Q8_0 / Q4_0) whose cols are not whole 32-value blocks.
void matmul_check(const MatrixView& W, RowRange rows);

// The implementations behind the two entry points, for tests.
void matmul_xwt_ref(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                    RowRange rows);
void matmul_xwt_fast(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                     RowRange rows, ThreadPool& pool);
void matmul_xw_ref(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                   RowRange rows);
void matmul_xw_fast(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                    RowRange rows, ThreadPool& pool);
// The portable part of the fast versions (any CPU, any dtype): tiles of W decoded
// to fp32 (MatrixView::row_to_f32), then BLAS. Used where no AVX2 kernel applies.
void matmul_xwt_generic(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                        RowRange rows, ThreadPool& pool);
void matmul_xw_generic(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                       RowRange rows, ThreadPool& pool);

}  // namespace frugal
