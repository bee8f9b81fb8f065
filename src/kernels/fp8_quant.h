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
//
// Two refinements of Sec. 3.3.3 (low-precision storage and communication):
// - E5M6, the "customized" format in which V3 caches the input of the Linear
//   after the attention core (o_proj): 1 sign, 5 exponent (bias 15), 6 mantissa
//   bits, laid out like IEEE half (exponent 31 reserved, so the largest finite
//   value is 2^15 * (1 + 63/64) = 65024; subnormals are multiples of 2^-20).
// - power-of-2 ("round scaled") scaling factors for that activation and for the
//   activations / gradients V3 dispatches in FP8 around the MoE experts: the
//   largest power of 2 s with amax * s <= the format's max, so that a change of
//   tiling (1x128 -> 128x1) only shifts exponents.
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
constexpr float kFp8E5M6Max = 65024.0f;

enum class Fp8Format { E4M3, E5M6 };
enum class Fp8Scale {
  Amax,  // s = max / amax: the tile's amax lands on the format's largest value (Sec. 3.3.2)
  Pow2,  // s = the largest power of 2 <= max / amax (Sec. 3.3.3)
};

// One quantization: the tiling, the format and the scale rule.
struct Fp8Quant {
  Fp8Tile tile = {1, 128};
  Fp8Format format = Fp8Format::E4M3;
  Fp8Scale scale = Fp8Scale::Amax;
};

// Number of tiles along each dimension of an [M, K] matrix.
inline int64_t fp8_tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// x: row-major [M, K]; out: [M, K] (may be x itself) = decode(encode(x * s)) / s
// with s the tile's scale; scales (optional, may be null): [fp8_tiles(M, rows),
// fp8_tiles(K, cols)] row-major, the s of each tile. FRUGAL_KERNELS=ref runs
// the reference instead (the results are identical).
void fp8_fake_quant(const float* x, int64_t M, int64_t K, const Fp8Quant& q, float* out, float* scales,
                    ThreadPool& pool);
inline void fp8_fake_quant(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales,
                           ThreadPool& pool) {
  fp8_fake_quant(x, M, K, Fp8Quant{.tile = tile}, out, scales, pool);
}
// The plain reference: one thread, the exact conversions of core/dtype.h for
// E4M3, frexp / nearbyint for E5M6.
void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, const Fp8Quant& q, float* out, float* scales);
inline void fp8_fake_quant_ref(const float* x, int64_t M, int64_t K, Fp8Tile tile, float* out, float* scales) {
  fp8_fake_quant_ref(x, M, K, Fp8Quant{.tile = tile}, out, scales);
}

// The value E4M3 represents nearest to v (ties to even, |v| > 448 -> +-448), as
// an fp32; what decode(encode(v)) gives, without the table round trip.
float fp8_e4m3_round(float v);
// The same for E5M6 (|v| beyond 65024 saturates).
float fp8_e5m6_round(float v);

}  // namespace frugal
