// V3 report Sec. 3.3.3 refinements of the FP8 emulation (kernels/fp8_quant.h):
// the E5M6 format (exhaustively, against a decoder of its bit fields written here
// and a brute-force nearest-value search), power-of-2 tile scales (against a
// naive loop that doubles / halves), and the emulated GEMMs with those scales.
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

TEST(Fp8E5M6, EveryCodeRoundTripsAndEveryValueRoundsToTheNearest) {
  const std::vector<float> values = format_values(Fp8Format::E5M6);
  ASSERT_EQ(values.back(), kFp8E5M6Max);
  ASSERT_EQ(values[1], 0x1p-20f);  // the smallest subnormal
  // Every finite code, both signs, decodes to a value the rounding leaves alone.
  for (uint32_t c = 0; c <= kE5M6MaxCode; ++c)
    for (uint32_t sign : {0u, 0x800u}) {
      const float v = float(e5m6_decode(c | sign));
      ASSERT_EQ(std::bit_cast<uint32_t>(fp8_e5m6_round(v)), std::bit_cast<uint32_t>(v)) << "code " << (c | sign);
    }
  // Midpoints between neighbours (ties), a hair either side, saturation, random values.
  std::vector<float> probes = {65024.0f, 65025.0f, 65279.0f, 65280.0f, 65281.0f, 1e6f, 1e30f, 1e-30f, 1e-40f, 0.0f};
  for (size_t c = 0; c + 1 < values.size(); ++c) {
    const float mid = 0.5f * (values[c] + values[c + 1]);
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) probes.push_back(x);
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits(0, 0x47800000u);  // up to 65536
  for (int i = 0; i < 20000; ++i) probes.push_back(std::bit_cast<float>(bits(rng)));
  for (float p : probes)
    for (float x : {p, -p}) {
      const float want = brute_round(values, x);
      ASSERT_EQ(std::bit_cast<uint32_t>(fp8_e5m6_round(x)), std::bit_cast<uint32_t>(want)) << "x=" << x;
    }
  EXPECT_EQ(fp8_e5m6_round(1.0f + 0x1p-7f), 1.0f);               // tie to even mantissa 0
  EXPECT_EQ(fp8_e5m6_round(1.0f + 3 * 0x1p-7f), 1.0f + 0x1p-5f);  // tie to even mantissa 2
  EXPECT_EQ(fp8_e5m6_round(-7e4f), -kFp8E5M6Max);                 // saturation, not inf
}

TEST(Fp8FakeQuant, E5M6AndPowerOfTwoScalesEqualNaiveLoop) {
  const int64_t M = 70, K = 150;  // partial tiles
  std::vector<float> x = random_matrix(M, K, 11);
  std::fill_n(x.begin(), 128, 0.0f);  // a zero 1x128 tile: scale 1
  for (const Fp8Format f : {Fp8Format::E4M3, Fp8Format::E5M6})
    for (const Fp8Scale sc : {Fp8Scale::Amax, Fp8Scale::Pow2})
      for (const Fp8Tile tile : {kFp8ActivationTile, kFp8WeightGradTile, Fp8Tile{7, 9}}) {
        const Fp8Quant q{.tile = tile, .format = f, .scale = sc};
        std::vector<float> want_scales;
        const std::vector<float> want = naive_fake_quant(x, M, K, q, &want_scales);
        const size_t n_scales = size_t(fp8_tiles(M, tile.rows) * fp8_tiles(K, tile.cols));
        ASSERT_EQ(want_scales.size(), n_scales);
        std::vector<float> ref(x.size()), ref_scales(n_scales), fast(x.size()), fast_scales(n_scales);
        fp8_fake_quant_ref(x.data(), M, K, q, ref.data(), ref_scales.data());
        ThreadPool pool(3);
        fp8_fake_quant(x.data(), M, K, q, fast.data(), fast_scales.data(), pool);
        const std::string what = std::string(f == Fp8Format::E4M3 ? "E4M3" : "E5M6") +
                                 (sc == Fp8Scale::Pow2 ? " pow2 " : " amax ") + std::to_string(tile.rows) + "x" +
                                 std::to_string(tile.cols);
        for (size_t i = 0; i < x.size(); ++i) {
          ASSERT_EQ(std::bit_cast<uint32_t>(ref[i]), std::bit_cast<uint32_t>(want[i])) << what << " ref i=" << i;
          ASSERT_EQ(std::bit_cast<uint32_t>(fast[i]), std::bit_cast<uint32_t>(want[i])) << what << " fast i=" << i;
        }
        EXPECT_EQ(ref_scales, want_scales) << what;
        EXPECT_EQ(fast_scales, want_scales) << what;
        if (sc == Fp8Scale::Pow2) {
          for (float s : fast_scales) {
            int e = 0;
            EXPECT_EQ(std::frexp(s, &e), 0.5f) << what << ": " << s << " is not a power of 2";
          }
        }
      }
}

// A power-of-2 scale only shifts exponents: E5M6 values re-quantized from a
// 1x128 tiling to a 128x1 tiling are unchanged (V3's reason for round scaling)
// while amax scales move them.
TEST(Fp8FakeQuant, PowerOfTwoE5M6SurvivesTheChangeOfTiling) {
  const int64_t M = 128, K = 128;
  std::vector<float> x = random_matrix(M, K, 12);
  for (float& v : x) v = std::copysign(std::fabs(v) * 1e-3f + 1.0f, v);  // within E5M6's range of any tile's scale
  ThreadPool pool(2);
  auto requant = [&](Fp8Scale sc) {
    std::vector<float> rows(x.size()), cols(x.size());
    fp8_fake_quant(x.data(), M, K, {.tile = kFp8ActivationTile, .format = Fp8Format::E5M6, .scale = sc}, rows.data(),
                   nullptr, pool);
    fp8_fake_quant(rows.data(), M, K, {.tile = kFp8WeightGradTile, .format = Fp8Format::E5M6, .scale = sc},
                   cols.data(), nullptr, pool);
    int changed = 0;
    for (size_t i = 0; i < x.size(); ++i) changed += rows[i] != cols[i];
    return changed;
  };
  EXPECT_EQ(requant(Fp8Scale::Pow2), 0);
  EXPECT_GT(requant(Fp8Scale::Amax), 1000);
}

TEST(Fp8Linear, PowerOfTwoScalesOnXAndDyEqualNaiveLoops) {
  const int64_t T = 130, K = 140, N = 135;
  const std::vector<float> X = random_matrix(T, K, 13), W = random_matrix(N, K, 14), dY = random_matrix(T, N, 15);
  const Fp8Quant row{.tile = kFp8ActivationTile, .scale = Fp8Scale::Pow2}, col{.tile = kFp8WeightGradTile, .scale = Fp8Scale::Pow2};
  const std::vector<float> wq = naive_fake_quant(W, N, K, kFp8WeightTile);
  auto check = [](const std::vector<float>& got, const std::vector<double>& want, int64_t L, const char* what) {
    double scale = 0;
    for (double w : want) scale = std::max(scale, std::fabs(w));
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6 * double(L) * scale) << what << " i=" << i;
  };
  ThreadPool pool(2);
  const Fp8LinearScales pow2{.x = Fp8Scale::Pow2, .dy = Fp8Scale::Pow2};
  // forward: Y = Q(X, 1x128, pow2) Q(W)^T
  std::vector<float> Y(size_t(T * N));
  fp8_linear_fwd(Y.data(), X.data(), W.data(), T, K, N, pool, pow2);
  check(Y, naive_abt(naive_fake_quant(X, T, K, row), wq, T, N, K), K, "Y");
  // input gradient: dX = Q(dY, 1x128, pow2) Q(W)
  std::vector<float> dX(size_t(T * K));
  fp8_linear_bwd_input(dX.data(), dY.data(), W.data(), T, K, N, GemmOut::Overwrite, pool, pow2);
  check(dX, naive_abt(naive_fake_quant(dY, T, N, row), transpose(wq, N, K), T, K, N), N, "dX");
  // weight gradient: dW = Q(dY, 128x1, pow2)^T Q(X, 128x1, pow2)
  std::vector<float> dW(size_t(N * K));
  fp8_linear_bwd_weight(dW.data(), dY.data(), X.data(), T, K, N, GemmOut::Overwrite, pool, pow2);
  check(dW, naive_abt(transpose(naive_fake_quant(dY, T, N, col), T, N), transpose(naive_fake_quant(X, T, K, col), T, K), N, K, T),
        T, "dW");
  // The scale rule matters: amax scales give another result.
  std::vector<float> Y_amax(size_t(T * N));
  fp8_linear_fwd(Y_amax.data(), X.data(), W.data(), T, K, N, pool);
  EXPECT_NE(Y, Y_amax);
}

}  // namespace
}  // namespace frugal
