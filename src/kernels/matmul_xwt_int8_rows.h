// The int8 x W^T kernel for 1..5 tokens with 8 rows in the fp32 lanes, as a
// template over the integer dot product of one block (Q8_0 / Q4_0, AVX2 or
// AVX512-VNNI): included by matmul_xwt_int8_avx2.cpp and matmul_xwt_int8_vnni.cpp,
// each compiled for its instruction set. Everything here has internal linkage, so
// the two translation units never share a copy compiled for the other's ISA.
// A format Q provides: kBytes (bytes per block), kWRegs (vectors load() fills),
// load(blk, off, w) (block `blk` of the 8 rows at byte offsets off[r]) and
// isum(w, xq, aq, s8) (the 8 rows' exact integer dots with one token's block).
#pragma once

#include <algorithm>
#include <cstring>

#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"

namespace frugal::avx2 {
namespace {

// ---------------------------------------------------------------------------
// Rows in the lanes (T < kInt8TiledMinT: decode, small batches, a routed expert's
// few tokens at batch 16). A vector of fp32 accumulators holds 8 rows of one
// token, and each lane computes, over the blocks in order,
//   y = fma(float(isum_b), d_x,b * d_w,b, y)        (isum_b: the block's exact integer dot)
// which is what a lane of the token-tiled kernel (T >= 6, matmul_xwt_int8_avx2.cpp)
// computes: a token's result is the same bits whatever T (1..64), whichever kernel
// or instruction set runs it, and however the rows are split between threads.
// The conversion, scale and fma are paid once per 8 rows (below: how the 8 rows'
// integer sums come to lie in the lanes).
// (The kernel this replaced kept a block's 8 partial lanes per (row, token) and
// paid a conversion and two float ops on them per block: T = 2 cost 1.6-1.9x T = 1.)

constexpr int kRows = 8;    // rows per group: the fp32 lanes
constexpr int kMaxTT = 5;   // tokens per pass over a group's weights (accumulators in registers)

// The d_w of the blocks at blk0 + off[r] (F16C: exact, as the table's values).
inline __m256 group_scales(const uint8_t* blk0, const int64_t* off) {
  uint16_t h[kRows];
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) std::memcpy(&h[r], blk0 + off[r], 2);
  return _mm256_cvtph_ps(_mm_setr_epi16(int16_t(h[0]), int16_t(h[1]), int16_t(h[2]), int16_t(h[3]), int16_t(h[4]),
                                        int16_t(h[5]), int16_t(h[6]), int16_t(h[7])));
}

// The weights of block b of the 8 rows can be transposed in registers once (24
// shuffles per 8 rows, whatever T): wt[u] holds "quad" u (values 4u..4u+3) of rows
// 0..7 in its 8 int32 lanes. Then per token each quad of x^ is broadcast and the
// 8 rows' integer sums build up in the lanes with no horizontal reduction.

// v[r] for r < 4 holds rows r (low half) and r + 4 (high half), 4 dwords each:
// out[j] = {dword j of rows 0..3 | dword j of rows 4..7}.
inline void transpose_4x4_halves(const __m256i* v, __m256i* out) {
  const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
  out[0] = _mm256_unpacklo_epi64(t0, t2);
  out[1] = _mm256_unpackhi_epi64(t0, t2);
  out[2] = _mm256_unpacklo_epi64(t1, t3);
  out[3] = _mm256_unpackhi_epi64(t1, t3);
}

inline __m256i load_2x128(const uint8_t* lo, const uint8_t* hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo))),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi)), 1);
}

inline __m256i bcast_quad(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Q4_0: stored bytes j hold values j (low nibble) and 16 + j (high nibble): quad
// u < 4 is the low nibbles of dword u, quad u + 4 its high nibbles (q in [0, 15]).
inline void load_q4_0_transposed(const uint8_t* blk, const int64_t* off, __m256i* wt) {
  __m256i v[4], d[4];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) v[r] = load_2x128(blk + off[r] + 2, blk + off[r + 4] + 2);
  transpose_4x4_halves(v, d);
  const __m256i m4 = _mm256_set1_epi8(15);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    wt[j] = _mm256_and_si256(d[j], m4);
    wt[j + 4] = _mm256_and_si256(_mm256_srli_epi16(d[j], 4), m4);
  }
}

// Q8_0: the 32 int8 values, quads 0..3 from bytes 0..15, 4..7 from 16..31.
inline void load_q8_0_transposed(const uint8_t* blk, const int64_t* off, __m256i* wt) {
  __m256i v[4];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) v[r] = load_2x128(blk + off[r] + 2, blk + off[r + 4] + 2);
  transpose_4x4_halves(v, wt);
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) v[r] = load_2x128(blk + off[r] + 18, blk + off[r + 4] + 18);
  transpose_4x4_halves(v, wt + 4);
}

// Tokens [t0, ...) of qx.
QuantX tokens_from(const QuantX& qx, int64_t t0) {
  return {qx.nb, qx.q + t0 * qx.nb * 32, qx.aq + t0 * qx.nb * 32, qx.d + t0 * qx.nb, qx.s8 + t0 * qx.nb};
}

// nr <= 8 rows from `w` (row_bytes apart) x TT tokens of qx: y[t * ldy + r]. Missing
// rows of a last, partial group repeat the last row (lanes are independent).
template <class Q, int TT>
void xwt_int8_group(const uint8_t* w, int64_t row_bytes, int nr, const QuantX& qx, float* y, int64_t ldy) {
  int64_t off[kRows];
  for (int r = 0; r < kRows; ++r) off[r] = std::min(r, nr - 1) * row_bytes;
  __m256 acc[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) acc[t] = _mm256_setzero_ps();
  const char* next = reinterpret_cast<const char*>(w + kRows * row_bytes);
  const bool to_l1 = prefetch_to_l1(kRows * row_bytes);
  for (int64_t b = 0; b < qx.nb; ++b) {
    prefetch_next_rows(next, to_l1, b * kRows * Q::kBytes, (b + 1) * kRows * Q::kBytes);
    const uint8_t* blk = w + b * Q::kBytes;
    __m256i wq[Q::kWRegs];
    Q::load(blk, off, wq);
    const __m256 dw = group_scales(blk, off);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const int64_t o = t * qx.nb + b;
      const __m256i isum = Q::isum(wq, qx.q + 32 * o, qx.aq + 32 * o, qx.s8[o]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(_mm256_set1_ps(qx.d[o]), dw), acc[t]);
    }
  }
  alignas(32) float out[kRows];
  for (int t = 0; t < TT; ++t) {
    if (nr == kRows) {
      _mm256_storeu_ps(y + t * ldy, acc[t]);
    } else {
      _mm256_store_ps(out, acc[t]);
      std::copy_n(out, nr, y + t * ldy);
    }
  }
}

template <class Q>
void xwt_int8_rows_run(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows, const QuantX& qx,
                       ThreadPool& pool) {
  const uint8_t* data = static_cast<const uint8_t*>(W.data);
  const int64_t rb = W.row_bytes();
  pool.parallel_for(rows.count, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; i += kRows) {
      const int nr = int(std::min<int64_t>(kRows, end - i));
      const uint8_t* w = data + (rows.begin + i) * rb;
      // Token tiles of up to kMaxTT: the group's weights come from memory once, then from cache.
      for (int64_t t0 = 0; t0 < T; t0 += kMaxTT) {
        const QuantX q = tokens_from(qx, t0);
        float* yt = y + t0 * ldy + i;
        switch (std::min<int64_t>(kMaxTT, T - t0)) {
          case 1: xwt_int8_group<Q, 1>(w, rb, nr, q, yt, ldy); break;
          case 2: xwt_int8_group<Q, 2>(w, rb, nr, q, yt, ldy); break;
          case 3: xwt_int8_group<Q, 3>(w, rb, nr, q, yt, ldy); break;
          case 4: xwt_int8_group<Q, 4>(w, rb, nr, q, yt, ldy); break;
          default: xwt_int8_group<Q, 5>(w, rb, nr, q, yt, ldy); break;
        }
      }
    }
  }, pool_grain(rb, T, 16));
}

}  // namespace
}  // namespace frugal::avx2
