#include "kernels/fp8_quant.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>

#include "core/dtype.h"
#include "core/error.h"

namespace frugal {

namespace {

// 448 / amax, kept finite when amax is subnormal (448 / 1e-40 overflows fp32).
float tile_scale(float amax) {
  if (amax == 0.0f) return 1.0f;
  return std::min(kFp8E4M3Max / amax, FLT_MAX);
}

template <typename Round>
void quant_tile_rows(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales, int64_t tr0,
                     int64_t tr1, Round round) {
  const int64_t tiles_k = fp8_tiles(K, tile.cols);
  for (int64_t tr = tr0; tr < tr1; ++tr) {
    const int64_t r0 = tr * tile.rows, r1 = std::min(M, r0 + tile.rows);
    for (int64_t tc = 0; tc < tiles_k; ++tc) {
      const int64_t c0 = tc * tile.cols, c1 = std::min(K, c0 + tile.cols);
      float amax = 0.0f;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(x[r * K + c]));
      const float s = tile_scale(amax);
      if (scales) scales[tr * tiles_k + tc] = s;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) out[r * K + c] = round(x[r * K + c] * s) / s;
    }
  }
}

}  // namespace

float fp8_e4m3_round(float v) {
  const float a = std::fabs(v);
  float r;
  if (a >= kFp8E4M3Max) {
    r = kFp8E4M3Max;  // saturation (NaN is not expected here: inputs are finite)
  } else if (a < 0x1p-6f) {
    r = std::nearbyint(a * 0x1p9f) * 0x1p-9f;  // subnormals: multiples of 2^-9 (default mode: ties to even)
  } else {  // normals: keep 3 mantissa bits, round to nearest even on the fp32 bits
    uint32_t b = std::bit_cast<uint32_t>(a);
    b += 0x7FFFFu + ((b >> 20) & 1u);
    b &= ~0xFFFFFu;
    r = std::bit_cast<float>(b);  // 464 and above were caught by the saturation branch
  }
  return std::copysign(r, v);
}

void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales) {
  FRUGAL_CHECK(tile.rows > 0 && tile.cols > 0, "fp8 tile {}x{}", tile.rows, tile.cols);
  quant_tile_rows(x, M, K, tile, out, scales, 0, fp8_tiles(M, tile.rows),
                  [](float v) { return fp8_e4m3_to_f32(f32_to_fp8_e4m3(v, /*saturate=*/true)); });
}

void fp8_fake_quant(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales,
                    ThreadPool& pool) {
  FRUGAL_CHECK(tile.rows > 0 && tile.cols > 0, "fp8 tile {}x{}", tile.rows, tile.cols);
  if (M == 0 || K == 0) return;
  // Bands of tile rows per thread; a 128x1 tiling also splits over tile rows,
  // each thread scanning its 128 rows column by column.
  pool.parallel_for(fp8_tiles(M, tile.rows), [&](int64_t tr0, int64_t tr1, int) {
    quant_tile_rows(x, M, K, tile, out, scales, tr0, tr1, fp8_e4m3_round);
  });
}

}  // namespace frugal
