// The AVX2 rows of the training ops (train/train_rows.h) against the formulas
// in double, over lengths that cover full vectors, tails and both together.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../common/random_values.h"
#include "kernels/dispatch.h"
#include "train/train_rows.h"

namespace frugal::train::rows {
namespace {

const int64_t kLengths[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 129, 513, 1031, 2500};

using test::randn;

// |got - want| <= rel |want| + abs
void expect_close(double got, double want, double rel, double abs, const char* what, int64_t n, int64_t i) {
  EXPECT_LE(std::abs(got - want), rel * std::abs(want) + abs) << what << " n=" << n << " i=" << i << " got " << got
                                                              << " want " << want;
}

class TrainRows : public ::testing::Test {
 protected:
  void SetUp() override {
    // The rows are safe to call wherever the CPU has AVX2 / FMA (FRUGAL_KERNELS=ref
    // only stops the ops from using them); without it they cannot run at all.
    if (!cpu_has_avx2_fma()) GTEST_SKIP() << "no AVX2 / FMA on this CPU: the rows cannot run here";
  }
};

TEST_F(TrainRows, SumSquaresAndScaleMul) {
  for (int64_t n : kLengths) {
    const auto x = randn(n, 1.5f, 1), w = randn(n, 1.0f, 2);
    double want = 0;
    for (float v : x) want += double(v) * v;
    expect_close(sum_squares(x.data(), n), want, 1e-6, 0, "sum_squares", n, -1);
    std::vector<float> y(static_cast<size_t>(n), -1.0f);
    scale_mul(y.data(), x.data(), 0.37f, w.data(), n);
    for (int64_t i = 0; i < n; ++i) expect_close(y[size_t(i)], double(x[size_t(i)]) * 0.37 * w[size_t(i)], 3e-7, 0,
                                                 "scale_mul", n, i);
  }
}

TEST_F(TrainRows, RmsnormBackwardRowAccumulates) {
  for (int64_t n : kLengths) {
    const auto dy = randn(n, 1.0f, 3), x = randn(n, 2.0f, 4), w = randn(n, 1.0f, 5);
    auto dx = randn(n, 1.0f, 6), dw = randn(n, 1.0f, 7);
    const auto dx0 = dx, dw0 = dw;
    const float r = 0.8f;
    rmsnorm_bwd_row(dx.data(), dw.data(), dy.data(), x.data(), w.data(), r, n);
    double dot = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += double(dy[size_t(i)]) * w[size_t(i)] * x[size_t(i)];
      mag += std::abs(double(dy[size_t(i)]) * w[size_t(i)] * x[size_t(i)]);
    }
    const double k = dot * r * r * r / double(n), k_err = 1e-6 * mag * r * r * r / double(n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t j = size_t(i);
      const double want_dx = dx0[j] + double(r) * dy[j] * w[j] - k * x[j];
      expect_close(dx[j], want_dx, 1e-6, 1e-6 + k_err * std::abs(x[j]), "dx", n, i);
      expect_close(dw[j], dw0[j] + double(dy[j]) * x[j] * r, 1e-6, 1e-6, "dw", n, i);
    }
  }
}

TEST_F(TrainRows, ExpShiftSumOverTheFloatRange) {
  for (int64_t n : kLengths) {
    auto x = randn(n, 20.0f, 8);  // exp from ~1e-26 to ~1e26 around the shift
    x[0] = -200.0f;                        // below the clamp: a negligible term
    const float shift = 3.0f;
    // the argument is rounded to float first, as in the scalar std::exp(x - shift)
    auto arg = [&](int64_t i) { return double(x[size_t(i)] - shift); };
    double want = 0;
    for (int64_t i = 0; i < n; ++i) want += std::exp(arg(i));
    auto y = x;
    EXPECT_NEAR(exp_shift_sum(y.data(), n, shift, /*store=*/false), want, 2e-6 * want + 2e-38) << n;
    EXPECT_EQ(y, x) << "store=false must leave the row alone";
    EXPECT_NEAR(exp_shift_sum(y.data(), n, shift, /*store=*/true), want, 2e-6 * want + 2e-38) << n;
    for (int64_t i = 1; i < n; ++i) {
      const double e = std::exp(arg(i));
      if (e > 1e-37) expect_close(y[size_t(i)], e, 4e-7, 0, "exp", n, i);  // ~2 ulp of float
    }
    EXPECT_LT(y[0], 2e-38f);
  }
  // exp(0) is exactly 1 and a single term sums to itself
  float one = 5.0f;
  EXPECT_EQ(exp_shift_sum(&one, 1, 5.0f, true), 1.0);
  EXPECT_EQ(one, 1.0f);
  // NaN in, NaN out (a broken step must show as NaN, not as a finite loss)
  float nan = std::nanf("");
  EXPECT_TRUE(std::isnan(exp_shift_sum(&nan, 1, 0.0f, true)));
}

TEST_F(TrainRows, SwigluForwardAndBackward) {
  for (int64_t n : kLengths) {
    auto g = randn(n, 4.0f, 9);
    g[0] = -120.0f;  // sigmoid underflows
    if (n > 1) g[1] = 120.0f;
    const auto u = randn(n, 1.0f, 10), da = randn(n, 1.0f, 11);
    std::vector<float> a(static_cast<size_t>(n)), dg(a.size()), du(a.size());
    swiglu_fwd(a.data(), g.data(), u.data(), n);
    swiglu_bwd(dg.data(), du.data(), da.data(), g.data(), u.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t j = size_t(i);
      const double sig = 1.0 / (1.0 + std::exp(-double(g[j])));
      expect_close(a[j], g[j] * sig * u[j], 1e-6, 1e-30, "silu(g) u", n, i);
      expect_close(du[j], da[j] * g[j] * sig, 1e-6, 1e-30, "du", n, i);
      // 1 + g (1 - sig) cancels near g = -1.28: the error scales with its terms, not with the result
      const double dg_terms = std::abs(da[j] * u[j] * sig) * (1 + std::abs(g[j]) * (1 - sig));
      expect_close(dg[j], da[j] * u[j] * sig * (1 + g[j] * (1 - sig)), 0, 2e-6 * dg_terms + 1e-30, "dg", n, i);
    }
  }
}

// Same operations as adamw.cpp's loop: the same bits (multiplies and adds kept
// apart, sqrt and division correctly rounded in both).
TEST_F(TrainRows, AdamWUpdateMatchesThePlainLoopBitForBit) {
  const AdamWConsts c{.g_scale = 0.7f, .b1 = 0.9f, .b2 = 0.95f, .eps = 1e-8f, .bc2_sqrt = 0.3f, .step_size = 1e-3f,
                      .decay = 0.9999f};
  for (int64_t n : kLengths) {
    auto value = randn(n, 0.02f, 12), m = randn(n, 1e-3f, 13), v = randn(n, 1e-3f, 14);
    for (float& x : v) x = x * x;
    const auto grad = randn(n, 0.01f, 15);
    auto value2 = value, m2 = m, v2 = v;
    adamw_update(value.data(), grad.data(), m.data(), v.data(), n, c);
    for (size_t i = 0; i < size_t(n); ++i) {
      volatile float g = grad[i] * c.g_scale;  // volatile: no contraction into an FMA here either
      volatile float mi = c.b1 * m2[i] + (1.0f - c.b1) * g;
      volatile float gg = (1.0f - c.b2) * g;
      volatile float vi = c.b2 * v2[i] + gg * g;
      volatile float denom = std::sqrt(vi) / c.bc2_sqrt + c.eps;
      volatile float dec = value2[i] * c.decay;
      value2[i] = dec - c.step_size * (mi / denom);
      m2[i] = mi;
      v2[i] = vi;
    }
    EXPECT_EQ(value, value2) << n;
    EXPECT_EQ(m, m2) << n;
    EXPECT_EQ(v, v2) << n;
  }
}

}  // namespace
}  // namespace frugal::train::rows
