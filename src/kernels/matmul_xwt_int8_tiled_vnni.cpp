// The token-tiled int8 kernel (6 <= T <= kInt8MaxT: batched decode, prefill
// in chunks) with AVX512-VNNI on 512-bit vectors: 16 tokens in the int32 lanes
// instead of the AVX2 kernel's 8 (matmul_xwt_int8_avx2.cpp, "Token-tiled").
//   - A weight quad (4 bytes) is broadcast straight from memory (a load, no
//     shuffle) and unpacked once for 16 tokens (at T = 16 the AVX2 kernel unpacks
//     it twice, once per tile of 8).
//   - vpdpbusd adds 4 u8 x s8 products to an int32 lane in one instruction, with
//     no int16 saturation: Q4_0 nibbles q in [0, 15] (unsigned) times x^, minus
//     8 sum(x^); Q8_0 x^ + 128 (x^ xor 0x80, unsigned) times w, minus 128 sum(w).
// Same exact integer block sums, then per block in order
//   acc = fma(float(isum), d_x * d_w, acc)
// as the other int8 kernels: every output is the same bits as theirs, so a token's
// result does not depend on T, the kernel or the ISA. Compiled with
// -mavx512f -mavx512bw -mavx512vl -mavx512vnni (src/kernels/CMakeLists.txt) and
// called only where cpu_has_avx512_vnni().
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VNNI__)
#error "matmul_xwt_int8_tiled_vnni.cpp needs -mavx512f -mavx512bw -mavx512vnni"
#endif

// GCC 12 warns that the _mm512_undefined_*() placeholder inside _mm512_cvtepi32_ps
// and _mm512_slli_epi32 "may be used uninitialized" (a false positive of its own
// headers, GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace frugal::avx2 {

namespace {

constexpr int64_t kLanes = 16;  // tokens per tile

// x of all T tokens in tiles of 16 (padded with zero tokens):
//   q  [tile][block][quad u][16 tokens][4 bytes]  x^ (Q4_0) or x^ xor 0x80 (Q8_0)
//   d  [tile][block][16]                           d_x
//   s8 [tile][block][16]                           8 sum(x^) (Q4_0)
struct Tiles16 {
  int64_t nb = 0, tiles = 0;
  std::vector<int32_t> q;
  std::vector<float> d;
  std::vector<int32_t> s8;
  const int32_t* q_at(int64_t j, int64_t b) const { return q.data() + (j * nb + b) * 8 * kLanes; }
  const float* d_at(int64_t j, int64_t b) const { return d.data() + (j * nb + b) * kLanes; }
  const int32_t* s8_at(int64_t j, int64_t b) const { return s8.data() + (j * nb + b) * kLanes; }
};

void tiles16_from(const QuantX& qx, int64_t T, bool q8, Tiles16& xt) {
  const int64_t nb = qx.nb, tiles = (T + kLanes - 1) / kLanes;
  xt.nb = nb;
  xt.tiles = tiles;
  // Padding tokens: x^ = 0 (Q8_0: 0 xor 0x80), d_x = 0, so their lanes hold finite
  // garbage that is never stored.
  xt.q.assign(size_t(tiles * nb * 8 * kLanes), q8 ? int32_t(0x80808080u) : 0);
  xt.d.assign(size_t(tiles * nb * kLanes), 0.0f);
  xt.s8.assign(xt.d.size(), 0);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t j = t / kLanes, lane = t % kLanes;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t* dst = xt.q.data() + (j * nb + b) * 8 * kLanes + lane;
      for (int64_t u = 0; u < 8; ++u) {
        uint32_t quad;
        std::memcpy(&quad, qx.q + (t * nb + b) * 32 + 4 * u, 4);
        if (q8) quad ^= 0x80808080u;
        dst[u * kLanes] = int32_t(quad);
      }
      xt.d[size_t((j * nb + b) * kLanes + lane)] = qx.d[t * nb + b];
      xt.s8[size_t((j * nb + b) * kLanes + lane)] = qx.s8[t * nb + b];
    }
  }
}

inline __m512i bcast_dword(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// The exact integer sums of block b of R rows with the tile's 16 tokens.
template <bool kQ8, int R>
inline void block_isums(const uint8_t* w, int64_t row_bytes, const int32_t* xq, const int32_t* s8, __m512i* isum) {
  __m512i x[8];
#pragma GCC unroll 8
  for (int u = 0; u < 8; ++u) x[u] = _mm512_loadu_si512(xq + u * kLanes);
  if constexpr (kQ8) {
    const __m512i ones = _mm512_set1_epi8(1);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* q = w + r * row_bytes + 2;
      __m512i s = _mm512_setzero_si512(), sw = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int u = 0; u < 8; ++u) {
        const __m512i wv = bcast_dword(q + 4 * u);
        s = _mm512_dpbusd_epi32(s, x[u], wv);     // (x^ + 128) w
        sw = _mm512_dpbusd_epi32(sw, ones, wv);   // sum w
      }
      isum[r] = _mm512_sub_epi32(s, _mm512_slli_epi32(sw, 7));
    }
  } else {
    const __m512i m4 = _mm512_set1_epi8(15), s8v = _mm512_loadu_si512(s8);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      // Stored bytes 4u..4u+3: low nibbles = values 4u..4u+3 (quad u), high
      // nibbles = values 16+4u.. (quad 4+u).
      const uint8_t* q = w + r * row_bytes + 2;
      __m512i s = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        const __m512i v = bcast_dword(q + 4 * u);
        s = _mm512_dpbusd_epi32(s, _mm512_and_si512(v, m4), x[u]);
        s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), x[4 + u]);
      }
      isum[r] = _mm512_sub_epi32(s, s8v);
    }
  }
}

// R rows x one tile: out[r][16 tokens].
template <bool kQ8, int R>
void tile_rows(const uint8_t* w, int64_t row_bytes, const Tiles16& xt, int64_t j, const float* f16, float* out) {
  constexpr int64_t kBytes = kQ8 ? kQ8_0Bytes : kQ4_0Bytes;
  __m512 acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < xt.nb; ++b) {
    const uint8_t* wb = w + b * kBytes;
    __m512i isum[R];
    block_isums<kQ8, R>(wb, row_bytes, xt.q_at(j, b), xt.s8_at(j, b), isum);
    const __m512 dx = _mm512_loadu_ps(xt.d_at(j, b));
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      uint16_t h;
      std::memcpy(&h, wb + r * row_bytes, 2);
      const __m512 dw = _mm512_set1_ps(f16[h]);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r]), _mm512_mul_ps(dx, dw), acc[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + r * kLanes, acc[r]);
}

// Rows [r0, r0 + n) of W for all tiles: y[t, i] for i in [0, n).
template <bool kQ8>
void tiled_range(const uint8_t* data, int64_t row_bytes, int64_t r0, int64_t n, int64_t T, const Tiles16& xt,
                 const float* f16, float* y, int64_t ldy) {
  constexpr int R = 4;
  alignas(64) float out[R * kLanes];
  auto put = [&](int64_t i, int rows, int64_t t0) {
    const int64_t nt = std::min(kLanes, T - t0);
    for (int r = 0; r < rows; ++r)
      for (int64_t k = 0; k < nt; ++k) y[(t0 + k) * ldy + i + r] = out[r * kLanes + k];
  };
  int64_t i = 0;
  for (; i + R <= n; i += R)
    for (int64_t j = 0; j < xt.tiles; ++j) {
      tile_rows<kQ8, R>(data + (r0 + i) * row_bytes, row_bytes, xt, j, f16, out);
      put(i, R, j * kLanes);
    }
  for (; i < n; ++i)
    for (int64_t j = 0; j < xt.tiles; ++j) {
      tile_rows<kQ8, 1>(data + (r0 + i) * row_bytes, row_bytes, xt, j, f16, out);
      put(i, 1, j * kLanes);
    }
}

}  // namespace

void matmul_xwt_int8_tiled_vnni(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows,
                                const QuantX& qx, const float* f16, ThreadPool& pool) {
  const bool q8 = W.dtype == DType::Q8_0;
  thread_local Tiles16 xt;
  tiles16_from(qx, T, q8, xt);
  const Tiles16& tiles = xt;  // the caller's, read by every thread
  const uint8_t* data = static_cast<const uint8_t*>(W.data);
  const int64_t rb = W.row_bytes();
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    if (q8) tiled_range<true>(data, rb, rows.begin + b, e - b, T, tiles, f16, y + b, ldy);
    else tiled_range<false>(data, rb, rows.begin + b, e - b, T, tiles, f16, y + b, ldy);
  }, pool_grain(rb, T, 16));
}

}  // namespace frugal::avx2
