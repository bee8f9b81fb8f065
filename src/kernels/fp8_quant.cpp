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

// 448 / amax, kept finite when amax is subnormal (448 / 1e-40 overflows fp32).
float tile_scale(float amax) {
  if (amax == 0.0f) return 1.0f;
  return std::min(kFp8E4M3Max / amax, FLT_MAX);
}

// Tile rows [tr0, tr1): each band of tile.rows rows is read row by row
// (contiguously, whatever the tiling): first the amax of each tile column,
// then the rounding.
template <typename Round>
void quant_tile_rows(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales, int64_t tr0,
                     int64_t tr1, Round round) {
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
      scale[size_t(tc)] = tile_scale(amax[size_t(tc)]);
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

// Branch-free so that the loops over a tile vectorize: both candidate
// roundings are computed and the right one selected.
namespace {
inline float e4m3_round_inline(float v) {
  const float a = std::fabs(v);
  // Normals: keep 3 mantissa bits, round to nearest even on the fp32 bits
  // (values from 464 up round to 480 or beyond, clamped to 448 below).
  uint32_t b = std::bit_cast<uint32_t>(a);
  b += 0x7FFFFu + ((b >> 20) & 1u);
  b &= ~0xFFFFFu;
  const float normal = std::bit_cast<float>(b);
  // Subnormals (below 2^-6): multiples of 2^-9. Adding 1.5 * 2^23 rounds a * 2^9
  // (< 8 here) to an integer, to nearest even, in the default rounding mode.
  constexpr float kRound = 0x1.8p23f;
  const float sub = ((a * 0x1p9f + kRound) - kRound) * 0x1p-9f;
  const float r = std::min(a < 0x1p-6f ? sub : normal, kFp8E4M3Max);  // saturation
  return std::copysign(r, v);
}
}  // namespace

float fp8_e4m3_round(float v) { return e4m3_round_inline(v); }

void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales) {
  FRUGAL_CHECK(tile.rows > 0 && tile.cols > 0, "fp8 tile {}x{}", tile.rows, tile.cols);
  quant_tile_rows(x, M, K, tile, out, scales, 0, fp8_tiles(M, tile.rows),
                  [](float v) { return fp8_e4m3_to_f32(f32_to_fp8_e4m3(v, /*saturate=*/true)); });
}

void fp8_fake_quant(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales,
                    ThreadPool& pool) {
  FRUGAL_CHECK(tile.rows > 0 && tile.cols > 0, "fp8 tile {}x{}", tile.rows, tile.cols);
  if (M == 0 || K == 0) return;
  if (kernel_impl() == KernelImpl::Ref) return fp8_fake_quant_ref(x, M, K, tile, out, scales);
  // Bands of tile rows per thread; a 128x1 tiling also splits over tile rows,
  // each thread scanning its 128 rows column by column.
  pool.parallel_for(fp8_tiles(M, tile.rows), [&](int64_t tr0, int64_t tr1, int) {
    quant_tile_rows(x, M, K, tile, out, scales, tr0, tr1, [](float v) { return e4m3_round_inline(v); });
  });
}

}  // namespace frugal
