#include "kernels/fp8_quant.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/dispatch.h"

namespace frugal {

namespace {

float format_max(Fp8Format f) { return f == Fp8Format::E4M3 ? kFp8E4M3Max : kFp8E5M6Max; }

// max / amax, kept finite when amax is subnormal (448 / 1e-40 overflows fp32);
// for Pow2 the largest power of 2 not above it (frexp: s = m 2^e, m in [0.5, 1)).
float tile_scale(float amax, const Fp8Quant& q) {
  if (amax == 0.0f) return 1.0f;
  const float s = std::min(format_max(q.format) / amax, FLT_MAX);
  if (q.scale == Fp8Scale::Amax) return s;
  int e = 0;
  std::frexp(s, &e);
  return std::ldexp(1.0f, e - 1);
}

// Tile rows [tr0, tr1): each band of tile.rows rows is read row by row
// (contiguously, whatever the tiling): first the amax of each tile column,
// then the rounding.
template <typename Round>
void quant_tile_rows(const float* x, int64_t M, int64_t K, const Fp8Quant& q, float* out, float* scales, int64_t tr0,
                     int64_t tr1, Round round) {
  const Fp8Tile tile = q.tile;
  const int64_t tiles_k = fp8_tiles(K, tile.cols);
  std::vector<float> amax(static_cast<size_t>(tiles_k)), scale(static_cast<size_t>(tiles_k));
  for (int64_t tr = tr0; tr < tr1; ++tr) {
    const int64_t r0 = tr * tile.rows, r1 = std::min(M, r0 + tile.rows);
    std::fill(amax.begin(), amax.end(), 0.0f);
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * K;
      if (tile.cols == 1) {
        for (int64_t c = 0; c < K; ++c) amax[size_t(c)] = std::max(amax[size_t(c)], std::fabs(row[c]));
      } else {
        for (int64_t tc = 0; tc < tiles_k; ++tc) {
          float m = amax[size_t(tc)];
          for (int64_t c = tc * tile.cols; c < std::min(K, (tc + 1) * tile.cols); ++c) m = std::max(m, std::fabs(row[c]));
          amax[size_t(tc)] = m;
        }
      }
    }
    for (int64_t tc = 0; tc < tiles_k; ++tc) {
      scale[size_t(tc)] = tile_scale(amax[size_t(tc)], q);
      if (scales) scales[tr * tiles_k + tc] = scale[size_t(tc)];
    }
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t tc = 0; tc < tiles_k; ++tc) {
        const float sc = scale[size_t(tc)];
        for (int64_t c = tc * tile.cols; c < std::min(K, (tc + 1) * tile.cols); ++c)
          out[r * K + c] = round(x[r * K + c] * sc) / sc;
      }
  }
}

}  // namespace

namespace {
// Branch-free so that the loops over a tile vectorize: both candidate
// roundings are computed and the right one selected. A minifloat with
// `Mant` mantissa bits whose normals start at 2^Emin (below: multiples of
// 2^(Emin - Mant)), saturating at `max`.
template <int Mant, int Emin>
inline float minifloat_round(float v, float max) {
  const float a = std::fabs(v);
  // Normals: keep Mant mantissa bits, round to nearest even on the fp32 bits.
  constexpr int kDrop = 23 - Mant;
  uint32_t b = std::bit_cast<uint32_t>(a);
  b += ((1u << (kDrop - 1)) - 1u) + ((b >> kDrop) & 1u);
  b &= ~((1u << kDrop) - 1u);
  const float normal = std::bit_cast<float>(b);
  // Subnormals: adding 1.5 * 2^23 rounds a * 2^(Mant - Emin) (< 2^Mant here) to
  // an integer, to nearest even, in the default rounding mode.
  constexpr float kUp = float(1u << (Mant - Emin)), kMinNormal = 1.0f / float(1u << -Emin);
  constexpr float kRound = 0x1.8p23f;
  const float sub = ((a * kUp + kRound) - kRound) * (1.0f / kUp);
  const float r = std::min(a < kMinNormal ? sub : normal, max);  // saturation
  return std::copysign(r, v);
}
inline float e4m3_round_inline(float v) { return minifloat_round<3, -6>(v, kFp8E4M3Max); }
inline float e5m6_round_inline(float v) { return minifloat_round<6, -14>(v, kFp8E5M6Max); }

// The reference E5M6 rounding, written differently: v = m 2^e with m in [0.5, 1);
// the spacing of E5M6 around v is 2^(max(e, -13) - 7); nearbyint rounds to even.
float e5m6_round_ref(float v) {
  if (v == 0.0f) return v;
  int e = 0;
  std::frexp(v, &e);
  const double ulp = std::ldexp(1.0, std::max(e, -13) - 7);
  const double r = std::nearbyint(double(v) / ulp) * ulp;
  return float(std::copysign(std::min(std::fabs(r), double(kFp8E5M6Max)), double(v)));
}
}  // namespace

float fp8_e4m3_round(float v) { return e4m3_round_inline(v); }
float fp8_e5m6_round(float v) { return e5m6_round_inline(v); }

void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, const Fp8Quant& q, float* out, float* scales) {
  FRUGAL_CHECK(q.tile.rows > 0 && q.tile.cols > 0, "fp8 tile {}x{}", q.tile.rows, q.tile.cols);
  if (q.format == Fp8Format::E5M6)
    return quant_tile_rows(x, M, K, q, out, scales, 0, fp8_tiles(M, q.tile.rows), e5m6_round_ref);
  quant_tile_rows(x, M, K, q, out, scales, 0, fp8_tiles(M, q.tile.rows),
                  [](float v) { return fp8_e4m3_to_f32(f32_to_fp8_e4m3(v, /*saturate=*/true)); });
}

void fp8_fake_quant(const float* x, int64_t M, int64_t K, const Fp8Quant& q, float* out, float* scales,
                    ThreadPool& pool) {
  FRUGAL_CHECK(q.tile.rows > 0 && q.tile.cols > 0, "fp8 tile {}x{}", q.tile.rows, q.tile.cols);
  if (M == 0 || K == 0) return;
  if (kernel_impl() == KernelImpl::Ref) return fp8_fake_quant_ref(x, M, K, q, out, scales);
  // Bands of tile rows per thread; a 128x1 tiling also splits over tile rows,
  // each thread scanning its 128 rows column by column.
  pool.parallel_for(fp8_tiles(M, q.tile.rows), [&](int64_t tr0, int64_t tr1, int) {
    if (q.format == Fp8Format::E5M6)
      quant_tile_rows(x, M, K, q, out, scales, tr0, tr1, [](float v) { return e5m6_round_inline(v); });
    else
      quant_tile_rows(x, M, K, q, out, scales, tr0, tr1, [](float v) { return e4m3_round_inline(v); });
  });
}

}  // namespace frugal
