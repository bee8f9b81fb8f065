// Fine-grained E4M3 fake quantization (V3 report Sec. 3.3.2) and the emulated FP8
// GEMMs of a Linear, against naive loops written here: brute-force rounding over
// the 127 non-negative E4M3 values, per-element tile lookup, triple-loop GEMMs.
#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "kernels/fp8_linear.h"
#include "kernels/fp8_quant.h"
#include "fp8_naive.h"

namespace frugal {
namespace {

using namespace fp8_naive;

// Nearest E4M3 value by exhaustive search; ties to the even code (even mantissa);
// beyond 448 saturates.
float brute_e4m3(float v) {
  const float a = std::fabs(v);
  float best = 0;
  double best_err = INFINITY;
  for (int code = 0; code <= 0x7E; ++code) {
    const float q = fp8_e4m3_to_f32(uint8_t(code));
    const double err = std::fabs(double(q) - double(a));
    if (err < best_err || (err == best_err && (code & 1) == 0)) {
      best_err = err;
      best = q;
    }
  }
  return std::copysign(best, v);
}

std::vector<float> probe_values() {
  std::vector<float> v = {0.0f, -0.0f, 448.0f, 449.0f, 463.9f, 464.0f, 465.0f, 1e6f, 0x1p-9f, 0x1p-10f,
                          0x1.8p-10f, 0x1p-6f, 0x1.ffp-7f, 1e-30f, 1e-40f};
  // Every E4M3 value, the midpoints between neighbours and a hair either side.
  for (int code = 0; code < 0x7E; ++code) {
    const float a = fp8_e4m3_to_f32(uint8_t(code)), b = fp8_e4m3_to_f32(uint8_t(code + 1));
    const float mid = 0.5f * (a + b);
    for (float x : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> bits(0, 0x43F00000u);  // up to ~480
  for (int i = 0; i < 200000; ++i) v.push_back(std::bit_cast<float>(bits(rng) | (i & 1 ? 0x80000000u : 0)));
  return v;
}

TEST(Fp8Round, MatchesBruteForceAndTheDtypeConversion) {
  for (float v : probe_values()) {
    const float want = brute_e4m3(v);
    const float got = fp8_e4m3_round(v);
    ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want)) << "v=" << v << " got " << got << " want " << want;
    ASSERT_EQ(std::bit_cast<uint32_t>(fp8_e4m3_to_f32(f32_to_fp8_e4m3(v, true))), std::bit_cast<uint32_t>(want)) << v;
  }
  EXPECT_EQ(fp8_e4m3_round(460.0f), 448.0f);  // saturation, no NaN
  EXPECT_EQ(fp8_e4m3_round(-1e9f), -448.0f);
  EXPECT_EQ(fp8_e4m3_round(0x1.4p-9f), 0x1p-9f);  // subnormal tie 1.25 * 2^-9 -> 1 * 2^-9
  EXPECT_EQ(fp8_e4m3_round(0x1.8p-9f), 0x1p-8f);  // tie 1.5 * 2^-9 -> even 2 * 2^-9
}

TEST(Fp8FakeQuant, EqualsNaiveLoopForEveryTilingWithEdgeTiles) {
  const int64_t M = 131, K = 259;  // partial tiles on both edges
  std::vector<float> x = random_matrix(M, K, 1);
  for (int64_t c = 0; c < 128; ++c) x[size_t(1 * K + c)] = 0.0f;  // an all-zero 1x128 tile
  for (const Fp8Tile tile : {kFp8ActivationTile, kFp8WeightTile, kFp8WeightGradTile, Fp8Tile{3, 5}}) {
    std::vector<float> want_scales;
    const std::vector<float> want = naive_fake_quant(x, M, K, tile, &want_scales);
    const int64_t n_scales = fp8_tiles(M, tile.rows) * fp8_tiles(K, tile.cols);
    ASSERT_EQ(int64_t(want_scales.size()), n_scales);
    std::vector<float> ref(x.size()), ref_scales(static_cast<size_t>(n_scales));
    fp8_fake_quant_ref(x.data(), M, K, tile, ref.data(), ref_scales.data());
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      std::vector<float> fast(x.size(), NAN), fast_scales(static_cast<size_t>(n_scales));
      fp8_fake_quant(x.data(), M, K, tile, fast.data(), fast_scales.data(), pool);
      // The naive loop meets each tile's first element in row-major tile order.
      const std::vector<float>& want_sorted = want_scales;
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(std::bit_cast<uint32_t>(ref[i]), std::bit_cast<uint32_t>(want[i])) << "ref, tile " << tile.rows << "x" << tile.cols << " i=" << i;
        ASSERT_EQ(std::bit_cast<uint32_t>(fast[i]), std::bit_cast<uint32_t>(want[i])) << "fast, tile " << tile.rows << "x" << tile.cols << " i=" << i;
      }
      EXPECT_EQ(ref_scales, want_sorted);
      EXPECT_EQ(fast_scales, want_sorted);
    }
  }
}

TEST(Fp8FakeQuant, ZeroTileSaturationAndErrorBound) {
  const int64_t M = 4, K = 256;
  std::vector<float> x = random_matrix(M, K, 2);
  std::fill(x.begin(), x.begin() + 128, 0.0f);  // row 0, first tile: zeros
  ThreadPool pool(2);
  std::vector<float> q(x.size()), s(size_t(M * 2));
  fp8_fake_quant(x.data(), M, K, kFp8ActivationTile, q.data(), s.data(), pool);
  EXPECT_EQ(s[0], 1.0f);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(q[size_t(i)], 0.0f);
  for (int64_t t = 1; t < M * 2; ++t) {
    const int64_t r = t / 2, c0 = (t % 2) * 128;
    float amax = 0;
    for (int64_t c = c0; c < c0 + 128; ++c) amax = std::max(amax, std::fabs(x[size_t(r * K + c)]));
    EXPECT_EQ(s[size_t(t)], 448.0f / amax);
    float qmax = 0;
    for (int64_t c = c0; c < c0 + 128; ++c) {
      const float xv = x[size_t(r * K + c)], qv = q[size_t(r * K + c)];
      // E4M3 keeps 3 mantissa bits: relative error <= 2^-4 for normals; below
      // 2^-6 (scaled) the spacing is 2^-9, so absolute error <= 2^-10 / s.
      EXPECT_LE(std::fabs(qv - xv), std::max(std::fabs(xv) * 0x1p-4f, 0x1p-10f / s[size_t(t)]) * 1.0001f);
      qmax = std::max(qmax, std::fabs(qv * s[size_t(t)]));
    }
    EXPECT_NEAR(qmax, 448.0f, 448.0f * 1e-6f);  // the tile's amax lands on E4M3's largest value
  }
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& base,
                  int64_t K, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i] + (base.empty() ? 0.0 : base[i]), 1e-6 * double(K) * scale + 1e-30) << what << " i=" << i;
}

TEST(Fp8Linear, ThreeGemmsEqualNaiveLoopsOverFakeQuantizedInputs) {
  const int64_t T = 140, K = 200, N = 150;
  const std::vector<float> X = random_matrix(T, K, 3), W = random_matrix(N, K, 4), dY = random_matrix(T, N, 5);
  ThreadPool pool(2);
  // forward: Y = Q(X, 1x128) Q(W, 128x128)^T
  std::vector<float> Y(size_t(T * N), NAN);
  fp8_linear_fwd(Y.data(), X.data(), W.data(), T, K, N, pool);
  expect_close(Y, naive_abt(naive_fake_quant(X, T, K, kFp8ActivationTile), naive_fake_quant(W, N, K, kFp8WeightTile), T, N, K),
               {}, K, "Y");
  // input gradient: dX = Q(dY, 1x128) Q(W, 128x128), accumulated onto what was there
  const std::vector<float> wq_t = transpose(naive_fake_quant(W, N, K, kFp8WeightTile), N, K);  // [K, N]
  const std::vector<double> dX_want = naive_abt(naive_fake_quant(dY, T, N, kFp8ActivationTile), wq_t, T, K, N);
  std::vector<float> dX(size_t(T * K), 0.5f);
  fp8_linear_bwd_input(dX.data(), dY.data(), W.data(), T, K, N, GemmOut::Accumulate, pool);
  expect_close(dX, dX_want, std::vector<double>(dX.size(), 0.5), N, "dX +=");
  fp8_linear_bwd_input(dX.data(), dY.data(), W.data(), T, K, N, GemmOut::Overwrite, pool);
  expect_close(dX, dX_want, {}, N, "dX =");
  // weight gradient: dW = Q(dY, 128x1)^T Q(X, 128x1), reduction over tokens
  const std::vector<float> gq_t = transpose(naive_fake_quant(dY, T, N, kFp8WeightGradTile), T, N);  // [N, T]
  const std::vector<float> xq_t = transpose(naive_fake_quant(X, T, K, kFp8WeightGradTile), T, K);   // [K, T]
  const std::vector<double> dW_want = naive_abt(gq_t, xq_t, N, K, T);
  std::vector<float> dW(size_t(N * K), -1.0f);
  fp8_linear_bwd_weight(dW.data(), dY.data(), X.data(), T, K, N, GemmOut::Accumulate, pool);
  expect_close(dW, dW_want, std::vector<double>(dW.size(), -1.0), T, "dW +=");
  fp8_linear_bwd_weight(dW.data(), dY.data(), X.data(), T, K, N, GemmOut::Overwrite, pool);
  expect_close(dW, dW_want, {}, T, "dW =");
  // And the quantization is really applied: the result differs from the fp32 GEMM.
  const std::vector<double> exact = naive_abt(X, W, T, N, K);
  double max_diff = 0;
  for (size_t i = 0; i < Y.size(); ++i) max_diff = std::max(max_diff, std::fabs(Y[i] - exact[i]));
  EXPECT_GT(max_diff, 0.0);
}

}  // namespace
}  // namespace frugal
