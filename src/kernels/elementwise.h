// Row-wise and element-wise ops on fp32 activations. These are memory-bound and
// simple enough that the compiler vectorizes them; their tests compare with
// double-precision formulas.
//
// Shapes: T rows of C values, rows contiguous unless a stride says otherwise.
#pragma once

#include <cstdint>

#include "core/matrix_view.h"
#include "core/thread_pool.h"

namespace frugal {

// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w      w: a [1, C] view in any weight dtype
// y may alias x.
void rmsnorm(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, int64_t C, const MatrixView& w,
             float eps);

// out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g))     (SwiGLU)
void silu_mul(float* out, const float* gate, const float* up, int64_t n);

// In-place softmax over n values (max-subtracted, fp32).
void softmax_inplace(float* x, int64_t n);

// Rotates consecutive pairs (x[2i], x[2i+1]) by angle i: (x0 c - x1 s, x0 s + x1 c),
// the complex product DeepSeek's reference uses (interleaved, not half-split).
void rope_interleaved(float* x, int64_t n_pairs, const float* cos, const float* sin);

// y += x
void add_inplace(float* y, const float* x, int64_t n);
// y += a * x
void axpy(float* y, float a, const float* x, int64_t n);
// y += a[j] * x[j, :] for j = 0 .. m-1 in order (rows ldx apart): the bits of m
// axpy calls, with y held in registers across the rows instead of loaded and
// stored once per row (attention's weighted sum of cached latents).
void axpy_rows(float* y, const float* a, const float* x, int64_t ldx, int64_t m, int64_t n);

}  // namespace frugal

namespace frugal {
// sum_i a[i] * b[i] in fp32
float dot(const float* a, const float* b, int64_t n);
}  // namespace frugal
