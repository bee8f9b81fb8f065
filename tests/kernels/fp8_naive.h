// Naive references for the FP8 emulation tests (kernels/fp8_quant.h,
// fp8_linear.h): format values decoded from their bit fields, nearest-value
// search over all codes, per-element tile lookup, double-precision GEMMs.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/fp8_quant.h"

namespace frugal::fp8_naive {

// E5M6 code (12 bits: sign, 5 exponent bits with bias 15, 6 mantissa bits) to
// its value, from the bit fields; exponent 31 is reserved (inf / NaN) as in IEEE half.
inline double e5m6_decode(uint32_t code) {
  const uint32_t e = (code >> 6) & 31u, m = code & 63u;
  const double mag = e == 0 ? std::ldexp(double(m), -14 - 6) : std::ldexp(1.0 + double(m) / 64.0, int(e) - 15);
  return (code & 0x800u) ? -mag : mag;
}
constexpr uint32_t kE5M6MaxCode = (30u << 6) | 63u;  // the largest finite non-negative code

// All non-negative finite values of a format, ascending, by code.
inline std::vector<float> format_values(Fp8Format f) {
  std::vector<float> v;
  if (f == Fp8Format::E5M6)
    for (uint32_t c = 0; c <= kE5M6MaxCode; ++c) v.push_back(float(e5m6_decode(c)));
  else
    for (int c = 0; c <= 0x7E; ++c) v.push_back(fp8_e4m3_to_f32(uint8_t(c)));
  return v;
}

// Nearest value by exhaustive search; ties to the even code; saturating.
inline float brute_round(const std::vector<float>& values, float x) {
  const double a = std::fabs(double(x));
  if (a >= values.back()) return std::copysign(values.back(), x);  // (the errors below would tie for huge a)
  size_t best = 0;
  double best_err = INFINITY;
  for (size_t c = 0; c < values.size(); ++c) {
    const double err = std::fabs(double(values[c]) - a);
    if (err < best_err || (err == best_err && c % 2 == 0)) {
      best_err = err;
      best = c;
    }
  }
  return std::copysign(values[best], x);
}

// The naive fake quantization: each element finds its tile and that tile's
// amax; a power-of-2 scale by doubling / halving from 1. Scales are appended in
// row-major tile order (where each tile's first element is met).
inline std::vector<float> naive_fake_quant(const std::vector<float>& x, int64_t M, int64_t K, const Fp8Quant& q,
                                           std::vector<float>* scales = nullptr) {
  const std::vector<float> values = format_values(q.format);
  const float max = values.back();
  std::vector<float> out(x.size());
  for (int64_t r = 0; r < M; ++r)
    for (int64_t c = 0; c < K; ++c) {
      const int64_t r0 = r / q.tile.rows * q.tile.rows, c0 = c / q.tile.cols * q.tile.cols;
      float amax = 0;
      for (int64_t i = r0; i < std::min(M, r0 + q.tile.rows); ++i)
        for (int64_t j = c0; j < std::min(K, c0 + q.tile.cols); ++j) amax = std::max(amax, std::fabs(x[size_t(i * K + j)]));
      float s = 1;
      if (amax > 0 && q.scale == Fp8Scale::Amax) s = max / amax;
      if (amax > 0 && q.scale == Fp8Scale::Pow2) {
        while (double(amax) * s > max) s /= 2;
        while (double(amax) * s * 2 <= max) s *= 2;
      }
      out[size_t(r * K + c)] = brute_round(values, x[size_t(r * K + c)] * s) / s;
      if (scales && r == r0 && c == c0) scales->push_back(s);
    }
  return out;
}
inline std::vector<float> naive_fake_quant(const std::vector<float>& x, int64_t M, int64_t K, Fp8Tile tile,
                                           std::vector<float>* scales = nullptr) {
  return naive_fake_quant(x, M, K, Fp8Quant{.tile = tile}, scales);
}

inline std::vector<float> random_matrix(int64_t M, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> mag(-6, 3);
  std::vector<float> x(size_t(M * K));
  for (float& v : x) v = nd(rng) * std::pow(10.0f, mag(rng));  // wide dynamic range
  return x;
}

// C[m, n] = sum_k A[m, k] B[n, k] in double.
inline std::vector<double> naive_abt(const std::vector<float>& A, const std::vector<float>& B, int64_t M, int64_t N,
                                     int64_t K) {
  std::vector<double> C(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) C[size_t(m * N + n)] += double(A[size_t(m * K + k)]) * B[size_t(n * K + k)];
  return C;
}

inline std::vector<float> transpose(const std::vector<float>& a, int64_t R, int64_t C) {
  std::vector<float> t(a.size());
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) t[size_t(c * R + r)] = a[size_t(r * C + c)];
  return t;
}

}  // namespace frugal::fp8_naive
