// Emulation of DeepSeek-V3's fine-grained FP8 training numerics (V3 report
// Sec. 3.3.2, Fig. 7): a matrix is cut into tiles, each tile scaled so its
// largest magnitude lands on E4M3's largest finite value (scale = 448 / amax),
// rounded to E4M3 (nearest, ties to even, saturating at +-448), and here decoded
// straight back to fp32 ("fake quantization"). Every product of two E4M3 values is
// exact in fp32, so a plain fp32 GEMM over fake-quantized inputs reproduces the
// FP8 GEMM's rounding of the inputs (fp8_linear.h).
//
// Tilings of the report: activations 1x128 (per token, per 128 channels),
// weights 128x128 blocks, and 128x1 (128 tokens of one channel) for the inputs of
// the weight-gradient GEMM, whose reduction runs over tokens. Edge tiles are the
// partial tiles that remain. A tile of zeros has scale 1. Inputs must be finite.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace frugal {

struct Fp8Tile {
  int64_t rows = 1, cols = 128;
};
inline constexpr Fp8Tile kFp8ActivationTile{1, 128};
inline constexpr Fp8Tile kFp8WeightTile{128, 128};
inline constexpr Fp8Tile kFp8WeightGradTile{128, 1};

constexpr float kFp8E4M3Max = 448.0f;

// Number of tiles along each dimension of an [M, K] matrix.
inline int64_t fp8_tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// x: row-major [M, K]; out: [M, K] (may be x itself) = decode(encode(x * s)) / s
// with s the tile's scale; scales (optional, may be null): [fp8_tiles(M, rows),
// fp8_tiles(K, cols)] row-major, the s of each tile.
void fp8_fake_quant(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales,
                    ThreadPool& pool);
// The plain reference: one thread, the exact conversions of core/dtype.h.
void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales);

// The value E4M3 represents nearest to v (ties to even, |v| > 448 -> +-448), as
// an fp32; what decode(encode(v)) gives, without the table round trip.
float fp8_e4m3_round(float v);

}  // namespace frugal
