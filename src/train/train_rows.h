// The fp32 inner loops of the training ops that the compiler cannot vectorize
// by itself (reductions, whose order it must keep, and std::exp, a libm call):
// AVX2 / FMA versions in train_rows_avx2.cpp, used when rows_fast() says so;
// otherwise the templated loops of train_ops.cpp / train_loss.cpp /
// train_attention.cpp / adamw.cpp run as before (they also serve the double
// instantiation of the finite-difference checks).
//
// The vector versions sum in 8 lanes (a different order than one running sum:
// results differ in the last bits, not in accuracy) and use a polynomial exp
// of ~1 ulp (exp_ps below). Same result for a given CPU and thread count, so
// resume stays exact.
#pragma once

#include <cstdint>

namespace frugal::train::rows {

// True when the AVX2 / FMA versions run: the CPU has them and FRUGAL_KERNELS is
// not "ref" (the switch that puts every kernel on its plain reference).
bool rows_fast();

// sum_i x[i]^2
float sum_squares(const float* x, int64_t n);
// y[i] = x[i] * r * w[i]
void scale_mul(float* y, const float* x, float r, const float* w, int64_t n);
// One row of the RMSNorm backward (train_ops.h rmsnorm_bwd): with k = r^3 / n
// sum(dy w x):  dx += r dy w - k x;  dw += dy x r.
void rmsnorm_bwd_row(float* dx, float* dw, const float* dy, const float* x, const float* w, float r, int64_t n);
// x[i] = exp(x[i] - shift) when store, and returns sum_i exp(x[i] - shift).
double exp_shift_sum(float* x, int64_t n, float shift, bool store);
// a = silu(g) u;  and its backward dg = da u silu'(g), du = da silu(g).
void swiglu_fwd(float* a, const float* g, const float* u, int64_t n);
void swiglu_bwd(float* dg, float* du, const float* da, const float* g, const float* u, int64_t n);

// AdamW's element update (adamw.cpp): g = grad g_scale; m = b1 m + (1 - b1) g;
// v = b2 v + (1 - b2) g^2; value = value decay - step_size m / (sqrt(v) / bc2_sqrt + eps).
struct AdamWConsts {
  float g_scale, b1, b2, eps, bc2_sqrt, step_size, decay;
};
void adamw_update(float* value, const float* grad, float* m, float* v, int64_t n, const AdamWConsts& c);

}  // namespace frugal::train::rows
