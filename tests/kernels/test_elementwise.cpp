// Element-wise kernels against double-precision formulas.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/elementwise.h"

namespace frugal {
namespace {

std::vector<float> random_vec(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

TEST(Elementwise, RmsnormMatchesFormula) {
  std::mt19937 rng(3);
  for (int64_t C : {1, 2, 7, 8, 9, 16, 17, 64, 160}) {
    const int64_t T = 3, ld = C + 2;
    std::vector<float> x = random_vec(T * ld, rng, 3.0f), w = random_vec(C, rng);
    std::vector<uint16_t> wb(static_cast<size_t>(C));
    for (int64_t i = 0; i < C; ++i) wb[size_t(i)] = f32_to_bf16(w[size_t(i)]);
    MatrixView wv{.data = wb.data(), .dtype = DType::BF16, .rows = 1, .cols = C};
    std::vector<float> y(size_t(T * ld), 7.0f);
    rmsnorm(y.data(), ld, x.data(), ld, T, C, wv, 1e-6f);
    for (int64_t t = 0; t < T; ++t) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += double(x[size_t(t * ld + c)]) * x[size_t(t * ld + c)];
      const double inv = 1.0 / std::sqrt(ss / double(C) + 1e-6);
      for (int64_t c = 0; c < C; ++c) {
        double want = x[size_t(t * ld + c)] * inv * bf16_to_f32(wb[size_t(c)]);
        EXPECT_NEAR(y[size_t(t * ld + c)], want, 1e-6 * (1 + std::fabs(want))) << "C=" << C;
      }
      for (int64_t c = C; c < ld; ++c) EXPECT_EQ(y[size_t(t * ld + c)], 7.0f) << "wrote past the row";
    }
  }
}

TEST(Elementwise, RmsnormInPlace) {
  std::mt19937 rng(4);
  std::vector<float> x = random_vec(10, rng), w(10, 1.0f), y(10);
  MatrixView wv{.data = w.data(), .dtype = DType::F32, .rows = 1, .cols = 10};
  rmsnorm(y.data(), 10, x.data(), 10, 1, 10, wv, 1e-6f);
  rmsnorm(x.data(), 10, x.data(), 10, 1, 10, wv, 1e-6f);
  EXPECT_EQ(x, y);
}

TEST(Elementwise, SiluMul) {
  std::mt19937 rng(5);
  for (int64_t n : {0, 1, 8, 17}) {
    std::vector<float> g = random_vec(n, rng, 4.0f), u = random_vec(n, rng), out(static_cast<size_t>(n));
    silu_mul(out.data(), g.data(), u.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      double gi = g[size_t(i)];
      EXPECT_NEAR(out[size_t(i)], gi / (1 + std::exp(-gi)) * u[size_t(i)], 1e-6 * (1 + std::fabs(gi)));
    }
  }
}

TEST(Elementwise, SoftmaxMatchesFormulaAndSurvivesLargeLogits) {
  std::mt19937 rng(6);
  for (int64_t n : {1, 2, 7, 33}) {
    std::vector<float> x = random_vec(n, rng, 5.0f);
    x[0] += 1000.0f;  // would overflow exp without the max subtraction
    std::vector<float> p = x;
    softmax_inplace(p.data(), n);
    double m = *std::max_element(x.begin(), x.end()), sum = 0;
    for (float v : x) sum += std::exp(double(v) - m);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(p[size_t(i)], std::exp(double(x[size_t(i)]) - m) / sum, 1e-6);
  }
}

TEST(Elementwise, RopeRotatesConsecutivePairs) {
  std::mt19937 rng(7);
  const int64_t pairs = 5;
  std::vector<float> x = random_vec(2 * pairs, rng), c(pairs), s(pairs);
  for (int64_t i = 0; i < pairs; ++i) {
    c[size_t(i)] = std::cos(0.3f * i);
    s[size_t(i)] = std::sin(0.3f * i);
  }
  std::vector<float> y = x;
  rope_interleaved(y.data(), pairs, c.data(), s.data());
  for (int64_t i = 0; i < pairs; ++i) {
    // (x0 + i x1) * (c + i s)
    EXPECT_NEAR(y[size_t(2 * i)], x[size_t(2 * i)] * c[size_t(i)] - x[size_t(2 * i + 1)] * s[size_t(i)], 1e-6);
    EXPECT_NEAR(y[size_t(2 * i + 1)], x[size_t(2 * i)] * s[size_t(i)] + x[size_t(2 * i + 1)] * c[size_t(i)], 1e-6);
    // rotation keeps the pair's length
    EXPECT_NEAR(std::hypot(y[size_t(2 * i)], y[size_t(2 * i + 1)]), std::hypot(x[size_t(2 * i)], x[size_t(2 * i + 1)]), 1e-5);
  }
}

TEST(Elementwise, DotAllLengths) {
  std::mt19937 rng(8);
  for (int64_t n = 0; n <= 40; ++n) {
    std::vector<float> a = random_vec(n, rng), b = random_vec(n, rng);
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      want += double(a[size_t(i)]) * b[size_t(i)];
      mag += std::fabs(double(a[size_t(i)]) * b[size_t(i)]);
    }
    EXPECT_NEAR(dot(a.data(), b.data(), n), want, 1e-6 * mag + 1e-12) << "n=" << n;
  }
}

// axpy_rows is m axpy calls, bit for bit, over widths around its 32-column chunks.
TEST(Elementwise, AxpyRowsEqualsAxpyCalls) {
  std::mt19937 rng(9);
  for (int64_t n : {1, 7, 31, 32, 33, 64, 100, 512})
    for (int64_t m : {0, 1, 5, 40}) {
      const int64_t ldx = n + 3;
      std::vector<float> x = random_vec(m * ldx, rng), a = random_vec(m, rng), y0 = random_vec(n, rng);
      std::vector<float> want = y0, got = y0;
      for (int64_t j = 0; j < m; ++j) axpy(want.data(), a[size_t(j)], x.data() + j * ldx, n);
      axpy_rows(got.data(), a.data(), x.data(), ldx, m, n);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(std::bit_cast<uint32_t>(got[size_t(i)]), std::bit_cast<uint32_t>(want[size_t(i)]))
            << "n=" << n << " m=" << m << " i=" << i;
    }
}

}  // namespace
}  // namespace frugal
