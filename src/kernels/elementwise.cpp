#include "kernels/elementwise.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cmath>
#include <vector>

#include "core/error.h"

namespace frugal {

void rmsnorm(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, int64_t C, const MatrixView& w,
             float eps) {
  FRUGAL_CHECK(w.rows * w.cols == C, "norm weight has {} values, rows have {}", w.rows * w.cols, C);
  thread_local std::vector<float> weight;
  weight.resize(size_t(C));
  MatrixView flat = w;
  flat.rows = 1;
  flat.cols = C;
  flat.row_to_f32(0, weight.data());
  for (int64_t t = 0; t < T; ++t) {
    const float* xr = x + t * ldx;
    float* yr = y + t * ldy;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * xr[c];
    const float inv = 1.0f / std::sqrt(float(ss / double(C)) + eps);
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * inv * weight[size_t(c)];
  }
}

void silu_mul(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void rope_interleaved(float* x, int64_t n_pairs, const float* cos, const float* sin) {
  for (int64_t i = 0; i < n_pairs; ++i) {
    const float x0 = x[2 * i], x1 = x[2 * i + 1];
    x[2 * i] = x0 * cos[i] - x1 * sin[i];
    x[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
  }
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void axpy(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void axpy_rows(float* y, const float* a, const float* x, int64_t ldx, int64_t m, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  // 32 columns at a time in 8 registers; a separate multiply and add per element,
  // as axpy's `y[i] += a * x[i]` (SSE has no fused form to differ from).
  for (; i + 32 <= n; i += 32) {
    __m128 acc[8];
    for (int v = 0; v < 8; ++v) acc[v] = _mm_loadu_ps(y + i + 4 * v);
    for (int64_t j = 0; j < m; ++j) {
      const __m128 aj = _mm_set1_ps(a[j]);
      const float* xj = x + j * ldx + i;
      for (int v = 0; v < 8; ++v) acc[v] = _mm_add_ps(acc[v], _mm_mul_ps(aj, _mm_loadu_ps(xj + 4 * v)));
    }
    for (int v = 0; v < 8; ++v) _mm_storeu_ps(y + i + 4 * v, acc[v]);
  }
#endif
  for (int64_t j = 0; j < m; ++j) axpy(y + i, a[j], x + j * ldx + i, n - i);
}

}  // namespace frugal

namespace frugal {

float dot(const float* a, const float* b, int64_t n) {
  // Eight partial sums: vectorizable without -ffast-math, and more accurate.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace frugal
