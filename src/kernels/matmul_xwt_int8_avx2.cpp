// y = x W^T for Q8_0 / Q4_0 weights with integer dot products (any T: more than
// 64 tokens run in chunks of 64).
//
// Decoding a 4- or 8-bit block to fp32 costs more instructions than the memory
// system leaves time for, so instead each token's x is quantized once per call
// to int8 in 32-value blocks (d_x = amax / 127, fp32; x^ = round(x / d_x)) and a
// block's dot product is exact integer arithmetic: _mm256_maddubs_epi16 (u8 x s8
// pairs -> s16) then _mm256_madd_epi16 (-> s32), scaled by d_w d_x in fp32.
//   Q8_0: maddubs needs an unsigned operand: |x^| times w carrying x^'s sign
//         (_mm256_sign_epi8); |pair sums| <= 2 * 127 * 128 < 2^15, no saturation.
//   Q4_0: the nibbles q in [0, 15] are the unsigned operand as stored; the -8 is
//         sum (q - 8) x^ = sum q x^ - 8 sum x^, with sum x^ precomputed per block.
// Error against the exact product: only x's rounding, |x - d_x x^| <= d_x / 2, so
// |y - y_exact| <= sum_blocks (d_x / 2) sum_k |w_k| (plus fp32 accumulation), a
// relative error of about 1/254 of each block's largest |x| (llama.cpp makes the
// same trade with its Q8_0 activations, but with an fp16 d_x).
// Two kernels, one arithmetic: up to 5 tokens 8 rows share a vector ("rows in the
// lanes"), from 6 on 8 tokens do ("token-tiled"); in both, each fp32 lane is one
// (row, token) and computes the same sequence of fp32 operations, so a token's
// result is the same bits whatever T and whatever kernel ran it: batched decode
// equals single-sequence decode, and a speculative verify pass plain decode.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"
#include "kernels/matmul_xwt_int8_rows.h"

namespace frugal::avx2 {

namespace {

// Quantizes one token's row of K = 32 nb values; false if it holds inf or NaN.
bool quantize_x_row(const float* x, int64_t nb, int8_t* q, uint8_t* aq, float* d, int32_t* s8) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + 32 * b;
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, v[i]));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float a = _mm_cvtss_f32(m);
    if (!(a <= 3.4e38f)) return false;  // inf or NaN (max_ps drops NaN from the first operand: check all)
    const float db = a / 127.0f;
    d[b] = db;
    __m256i qi[4];
    const __m256 dv = _mm256_set1_ps(db > 0 ? db : 1.0f);
    for (int i = 0; i < 4; ++i) {
      if (_mm256_movemask_ps(_mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q))) return false;
      qi[i] = _mm256_cvtps_epi32(_mm256_div_ps(v[i], dv));  // round to nearest even
    }
    const __m256i s16a = _mm256_packs_epi32(qi[0], qi[1]), s16b = _mm256_packs_epi32(qi[2], qi[3]);
    const __m256i qb = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * b), qb);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(aq + 32 * b), _mm256_abs_epi8(qb));
    // sum of the 32 bytes: madd with ones after sign-extending pairs
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), qb);
    __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    s8[b] = 8 * _mm_cvtsi128_si32(t);
  }
  return true;
}

// fp16 -> fp32 for every code (256 KB, built once): a block scale then costs two
// loads and no arithmetic, where F16C on a scalar takes three instructions.
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32(uint16_t(h));
    return t;
  }();
  return table.data();
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}

// The AVX2 formats of the rows-in-lanes kernel (matmul_xwt_int8_rows.h).
// {sum of the 8 lanes of v[r]} for r = 0..7, exact. By unpacks and adds: on Zen 4
// an hadd costs 4 adds' time and competes with the multiplies.
inline __m256i lane_sums_epi32(const __m256i* v) {
  __m256i x[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)  // {a0+a2, b0+b2, a1+a3, b1+b3 | a4+a6, b4+b6, a5+a7, b5+b7}
    x[i] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]),
                            _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  // {a, b, c, d | a, b, c, d}: each half's 4 lanes summed
  const __m256i y0 = _mm256_add_epi32(_mm256_unpacklo_epi64(x[0], x[1]), _mm256_unpackhi_epi64(x[0], x[1]));
  const __m256i y1 = _mm256_add_epi32(_mm256_unpacklo_epi64(x[2], x[3]), _mm256_unpackhi_epi64(x[2], x[3]));
  return _mm256_add_epi32(_mm256_blend_epi32(y0, y1, 0xF0), _mm256_permute2x128_si256(y0, y1, 0x21));
}

// Q8_0 keeps each row's block in one vector (transposing it as Q4_0 does measured
// slower: 16 broadcasts of x per token and block, where this needs 2 loads), and
// packs the 8 rows' int32 lanes with lane_sums_epi32 per token.
struct RowsQ8_0 {
  static constexpr int64_t kBytes = kQ8_0Bytes;
  static constexpr int kWRegs = kRows;
  static inline void load(const uint8_t* blk, const int64_t* off, __m256i* w) {
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) w[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + off[r] + 2));
  }
  // {sum_k w[r][k] x^[k]} for the 8 rows, exact: per row maddubs(|x^|, w with x^'s
  // sign) (pairs <= 2 * 127 * 127 < 2^15) and madd to 8 int32 lanes, then the lanes
  // of the 8 rows added up.
  static inline __m256i isum(const __m256i* w, const int8_t* xq, const uint8_t* aq, int32_t) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
    const __m256i ax = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq));
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i d[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) d[r] = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w[r], x)), ones);
    return lane_sums_epi32(d);
  }
};

struct RowsQ4_0 {
  static constexpr int64_t kBytes = kQ4_0Bytes;
  static constexpr int kWRegs = 8;
  static inline void load(const uint8_t* blk, const int64_t* off, __m256i* wt) { load_q4_0_transposed(blk, off, wt); }
  // {sum_k (q[r][k] - 8) x^[k]}, exact: maddubs(q, x^) with the nibbles q in [0, 15]
  // unsigned as stored; int16 lanes add up the 8 quads (16 products <= 15 * 127
  // each: < 2^15), then - 8 sum(x^) in integers. (Packing 8 block-wide vectors by a
  // tree of unpacks, as Q8_0 does, measured 1.4x slower per token here.)
  static inline __m256i isum(const __m256i* wt, const int8_t* xq, const uint8_t*, int32_t s8) {
    __m256i a = _mm256_maddubs_epi16(wt[0], bcast_quad(xq));
#pragma GCC unroll 8
    for (int u = 1; u < 8; ++u) a = _mm256_add_epi16(a, _mm256_maddubs_epi16(wt[u], bcast_quad(xq + 4 * u)));
    return _mm256_sub_epi32(_mm256_madd_epi16(a, _mm256_set1_epi16(1)), _mm256_set1_epi32(s8));
  }
};

// ---------------------------------------------------------------------------
// Token-tiled (T >= kInt8TiledMinT = 6): tokens in the lanes. A vector holds 8
// tokens x 4 consecutive values ("a quad") of x, and the 4 weights of the same
// quad are broadcast: maddubs + madd give 8 tokens' partial sums at once, the
// block's integer sum stays in int32 lanes, and the scale is applied once per
// (row, block) for 8 tokens. Each lane (token) computes
//   y = sum over blocks, in order, of fma(float(isum_b), d_x,b * d_w,b, y)
// as a lane of the rows-in-lanes kernel above does (d_x d_w is the same fp32
// product as its d_w d_x).
//   Q8_0: maddubs(|x^|, sign(w, x^)) (pairs <= 2 * 127 * 127 < 2^15), madd to int32
//         per quad.
//   Q4_0: maddubs(q, x^) with the nibbles q in [0, 15] unsigned as stored; int16
//         lanes add up 8 quads (16 products <= 15 * 127 each: < 2^15), then -8
//         sum(x^) in integers.

constexpr int64_t kTile = 8;  // tokens per tile (the int32 lanes of a vector)

// x^ of one tile of 8 tokens: for block b, quad j: 8 tokens x 4 bytes.
struct QuantXTile {
  const int8_t* q;     // [nb][8 quads][8 tokens][4]
  const uint8_t* aq;   // |q|, same layout (Q8_0)
  const float* d;      // [nb][8 tokens]
  const int32_t* s8;   // [nb][8 tokens]  8 sum(q) (Q4_0)
};

// The tiles of all T tokens (padded with zero tokens to whole tiles).
struct QuantXTiles {
  int64_t nb = 0, tiles = 0;
  std::vector<int8_t> q;
  std::vector<uint8_t> aq;
  std::vector<float> d;
  std::vector<int32_t> s8;
  QuantXTile tile(int64_t j) const {
    return {q.data() + j * nb * 256, aq.data() + j * nb * 256, d.data() + j * nb * kTile, s8.data() + j * nb * kTile};
  }
};

// From the row-major quantized x (tokens_from layout) to the tiles.
void tiles_from(const QuantX& qx, int64_t T, QuantXTiles& xt) {
  const int64_t nb = qx.nb, tiles = (T + kTile - 1) / kTile;
  xt.nb = nb;
  xt.tiles = tiles;
  xt.q.assign(size_t(tiles * nb * 256), 0);
  xt.aq.assign(xt.q.size(), 0);
  xt.d.assign(size_t(tiles * nb * kTile), 0.0f);
  xt.s8.assign(xt.d.size(), 0);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t j = t / kTile, i = t % kTile;
    const int32_t* q4 = reinterpret_cast<const int32_t*>(qx.q + t * nb * 32);
    const int32_t* a4 = reinterpret_cast<const int32_t*>(qx.aq + t * nb * 32);
    int32_t* tq = reinterpret_cast<int32_t*>(xt.q.data() + j * nb * 256);
    int32_t* ta = reinterpret_cast<int32_t*>(xt.aq.data() + j * nb * 256);
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t u = 0; u < 8; ++u) {  // quad u of block b: 4 bytes
        std::memcpy(tq + (b * 8 + u) * kTile + i, q4 + b * 8 + u, 4);
        std::memcpy(ta + (b * 8 + u) * kTile + i, a4 + b * 8 + u, 4);
      }
      xt.d[size_t((j * nb + b) * kTile + i)] = qx.d[t * nb + b];
      xt.s8[size_t((j * nb + b) * kTile + i)] = qx.s8[t * nb + b];
    }
  }
}

inline int32_t load_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The dword `I` of each 128-bit half, in every lane of that half.
template <int I>
inline __m256i dword(__m256i v) {
  return _mm256_shuffle_epi32(v, I * 0x55);
}

// The integer dot products of R rows' block b with the tile's 8 tokens.
template <int R>
inline void block_sums_q8(const uint8_t* w, int64_t row_bytes, int64_t b, const QuantXTile& x, __m256i* isum) {
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) isum[r] = _mm256_setzero_si256();
#pragma GCC unroll 8
  for (int u = 0; u < 8; ++u) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.q + (b * 8 + u) * 32));
    const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.aq + (b * 8 + u) * 32));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256i wv = _mm256_set1_epi32(load_i32(w + r * row_bytes + b * kQ8_0Bytes + 2 + 4 * u));
      const __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(wv, xv));
      isum[r] = _mm256_add_epi32(isum[r], _mm256_madd_epi16(p, ones));
    }
  }
}

template <int R>
inline void block_sums_q4(const uint8_t* w, int64_t row_bytes, int64_t b, const QuantXTile& x, __m256i* isum) {
  const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(15);
  const __m256i* xq = reinterpret_cast<const __m256i*>(x.q + b * 8 * 32);
  const __m256i s8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x.s8 + b * kTile));
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    // The 16 stored bytes in both halves: low nibbles = values 0..15 (quads 0..3),
    // high nibbles = values 16..31 (quads 4..7).
    const __m256i v = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + r * row_bytes + b * kQ4_0Bytes + 2)));
    const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    __m256i a = _mm256_maddubs_epi16(dword<0>(lo), _mm256_loadu_si256(xq + 0));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<1>(lo), _mm256_loadu_si256(xq + 1)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<2>(lo), _mm256_loadu_si256(xq + 2)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<3>(lo), _mm256_loadu_si256(xq + 3)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<0>(hi), _mm256_loadu_si256(xq + 4)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<1>(hi), _mm256_loadu_si256(xq + 5)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<2>(hi), _mm256_loadu_si256(xq + 6)));
    a = _mm256_add_epi16(a, _mm256_maddubs_epi16(dword<3>(hi), _mm256_loadu_si256(xq + 7)));
    isum[r] = _mm256_sub_epi32(_mm256_madd_epi16(a, ones), s8);  // sum (q - 8) x^
  }
}

// R rows from `w` (row-major, row_bytes apart) x one tile: out[r][8 tokens].
template <bool kQ8, int R>
void xwt_int8_tile_rows(const uint8_t* w, int64_t row_bytes, int64_t nb, const QuantXTile& x, const float* f16,
                        float* out) {
  constexpr int64_t kBytes = kQ8 ? kQ8_0Bytes : kQ4_0Bytes;
  __m256 acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i isum[R];
    if constexpr (kQ8) block_sums_q8<R>(w, row_bytes, b, x, isum);
    else block_sums_q4<R>(w, row_bytes, b, x, isum);
    const __m256 dx = _mm256_loadu_ps(x.d + b * kTile);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 dw = _mm256_broadcast_ss(f16 + load_u16(w + r * row_bytes + b * kBytes));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), _mm256_mul_ps(dx, dw), acc[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) _mm256_storeu_ps(out + r * kTile, acc[r]);
}

// Rows [r0, r0 + n) of W for all tiles; y[t, i] for i in [0, n).
template <bool kQ8>
void xwt_int8_tiled_range(const uint8_t* data, int64_t row_bytes, int64_t r0, int64_t n, int64_t T,
                          const QuantXTiles& xt, const float* f16, float* y, int64_t ldy) {
  constexpr int R = 4;
  alignas(32) float out[R * kTile];
  auto put = [&](int64_t i, int rows, int64_t t0) {
    const int64_t nt = std::min(kTile, T - t0);
    for (int r = 0; r < rows; ++r)
      for (int64_t k = 0; k < nt; ++k) y[(t0 + k) * ldy + i + r] = out[r * kTile + k];
  };
  int64_t i = 0;
  for (; i + R <= n; i += R)
    for (int64_t j = 0; j < xt.tiles; ++j) {
      xwt_int8_tile_rows<kQ8, R>(data + (r0 + i) * row_bytes, row_bytes, xt.nb, xt.tile(j), f16, out);
      put(i, R, j * kTile);
    }
  for (; i < n; ++i)
    for (int64_t j = 0; j < xt.tiles; ++j) {
      xwt_int8_tile_rows<kQ8, 1>(data + (r0 + i) * row_bytes, row_bytes, xt.nb, xt.tile(j), f16, out);
      put(i, 1, j * kTile);
    }
}

void xwt_int8_tiled_run(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows, const QuantX& qx,
                        ThreadPool& pool) {
  thread_local QuantXTiles xt;
  tiles_from(qx, T, xt);
  const uint8_t* data = static_cast<const uint8_t*>(W.data);
  const int64_t rb = W.row_bytes();
  const float* f16 = f16_table();
  const bool q8 = W.dtype == DType::Q8_0;
  const QuantXTiles& tiles = xt;  // the caller's, read by every thread
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    if (q8) xwt_int8_tiled_range<true>(data, rb, rows.begin + b, e - b, T, tiles, f16, y + b, ldy);
    else xwt_int8_tiled_range<false>(data, rb, rows.begin + b, e - b, T, tiles, f16, y + b, ldy);
  }, pool_grain(rb, T, 16));
}

}  // namespace

bool matmul_xwt_int8(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                     RowRange rows, ThreadPool& pool) {
  if (W.scale_inv || (W.dtype != DType::Q8_0 && W.dtype != DType::Q4_0)) return false;
  // Prefill: chunks of kInt8MaxT tokens, so a chunk's quantized x (64 x K bytes)
  // stays in L2 while the rows stream past it. A token's result does not depend
  // on the chunk it falls in.
  if (T > kInt8MaxT) {
    for (int64_t t0 = 0; t0 < T; t0 += kInt8MaxT)
      if (!matmul_xwt_int8(y + t0 * ldy, ldy, x + t0 * ldx, ldx, std::min(kInt8MaxT, T - t0), W, rows, pool))
        return false;  // x not finite: the caller's fp32 kernel redoes every token
    return true;
  }
  const int64_t nb = W.cols / kQBlock;
  thread_local std::vector<int8_t> q;
  thread_local std::vector<uint8_t> aq;
  thread_local std::vector<float> d;
  thread_local std::vector<int32_t> s8;
  q.resize(size_t(T * nb * 32));
  aq.resize(q.size());
  d.resize(size_t(T * nb));
  s8.resize(d.size());
  QuantX qx{nb, q.data(), aq.data(), d.data(), s8.data()};
  for (int64_t t = 0; t < T; ++t)
    if (!quantize_x_row(x + t * ldx, nb, qx.q + t * nb * 32, qx.aq + t * nb * 32, qx.d + t * nb, qx.s8 + t * nb))
      return false;  // inf / NaN in x: the fp32 kernels propagate them exactly
  if (T > kTile && int8_isa() == Int8Isa::Avx512Vnni)  // 16-token tiles: for 6..8 tokens, half empty
    matmul_xwt_int8_tiled_vnni(y, ldy, T, W, rows, qx, f16_table(), pool);
  else if (T >= kInt8TiledMinT) xwt_int8_tiled_run(y, ldy, T, W, rows, qx, pool);
  else if (int8_isa() == Int8Isa::Avx512Vnni) matmul_xwt_int8_rows_vnni(y, ldy, T, W, rows, qx, pool);
  else if (W.dtype == DType::Q8_0) xwt_int8_rows_run<RowsQ8_0>(y, ldy, T, W, rows, qx, pool);
  else xwt_int8_rows_run<RowsQ4_0>(y, ldy, T, W, rows, qx, pool);
  return true;
}

}  // namespace frugal::avx2
