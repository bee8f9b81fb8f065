// The rows-in-lanes int8 kernel (matmul_xwt_int8_rows.h) with AVX512-VNNI on
// 256-bit vectors: vpdpbusd adds 4 u8 x s8 products to an int32 lane in one
// instruction and without the int16 saturation of maddubs, replacing Q8_0's sign +
// maddubs + madd + add (4 instructions per quad, row and token) and Q4_0's maddubs
// + add with one. Compiled with -mavx512vnni -mavx512vl (src/kernels/CMakeLists.txt)
// and called only where cpu_has_avx512_vnni(). Same integer sums, same fp32
// operations: the same bits as the AVX2 kernels.
#include "kernels/matmul_xwt_int8_rows.h"

#if !defined(__AVX512VNNI__) || !defined(__AVX512VL__)
#error "matmul_xwt_int8_vnni.cpp needs -mavx512vnni -mavx512vl"
#endif

namespace frugal::avx2 {

namespace {

// Q8_0: dpbusd needs one unsigned operand: x^ + 128 (x^ xor 0x80, in [1, 255]) times
// the signed weights, minus 128 sum(w) per (row, block), computed once per block
// (also with dpbusd) and kept in w[8].
struct VnniQ8_0 {
  static constexpr int64_t kBytes = kQ8_0Bytes;
  static constexpr int kWRegs = 9;
  static inline void load(const uint8_t* blk, const int64_t* off, __m256i* wt) {
    load_q8_0_transposed(blk, off, wt);
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i s = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) s = _mm256_dpbusd_epi32(s, ones, wt[u]);
    wt[8] = _mm256_slli_epi32(s, 7);
  }
  static inline __m256i isum(const __m256i* wt, const int8_t* xq, const uint8_t*, int32_t) {
    const __m256i bias = _mm256_set1_epi8(int8_t(0x80));
    __m256i s = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) s = _mm256_dpbusd_epi32(s, _mm256_xor_si256(bcast_quad(xq + 4 * u), bias), wt[u]);
    return _mm256_sub_epi32(s, wt[8]);
  }
};

// Q4_0: the nibbles q in [0, 15] are the unsigned operand as stored; - 8 sum(x^).
struct VnniQ4_0 {
  static constexpr int64_t kBytes = kQ4_0Bytes;
  static constexpr int kWRegs = 8;
  static inline void load(const uint8_t* blk, const int64_t* off, __m256i* wt) { load_q4_0_transposed(blk, off, wt); }
  static inline __m256i isum(const __m256i* wt, const int8_t* xq, const uint8_t*, int32_t s8) {
    __m256i s = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) s = _mm256_dpbusd_epi32(s, wt[u], bcast_quad(xq + 4 * u));
    return _mm256_sub_epi32(s, _mm256_set1_epi32(s8));
  }
};

// Q4_0, 1..5 tokens, 16 rows in the lanes of 512-bit vectors: the 8-row kernel's
// per-lane arithmetic (the same bits: exact integer sums, then the same fp32
// conversion, scale and fma per block), with half the instructions per weight.
// The 16 lanes are two streams of 8 side-by-side rows from the two halves of a
// thread's range (16 side-by-side rows streamed at 7 GB/s from memory), each
// prefetching its next 8 rows into L1 (docs/performance.md).
inline __m512i load_4x128(const uint8_t* a, const uint8_t* b, const uint8_t* c, const uint8_t* d) {
  __m512i v = _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
  v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
  v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(c)), 2);
  return _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(d)), 3);
}

// (GCC 12 warns that the unpacks' undefined pass-through operand may be used
// uninitialized: a false positive of its own intrinsics header.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
template <int TT>
void q4_0_rows16(const uint8_t* w0, const uint8_t* w1, int64_t rb, const QuantX& qx, float* y0, float* y1,
                 int64_t ldy) {
  __m512 acc[TT];
#pragma GCC unroll 5
  for (int t = 0; t < TT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(15);
  // Two streams of 8 side-by-side rows: prefetch the same share of each one's next 8 rows.
  const char* next0 = reinterpret_cast<const char*>(w0 + 8 * rb);
  const char* next1 = reinterpret_cast<const char*>(w1 + 8 * rb);
  for (int64_t b = 0; b < qx.nb; ++b) {
    prefetch_next_rows(next0, /*to_l1=*/true, b * 8 * kQ4_0Bytes, (b + 1) * 8 * kQ4_0Bytes);
    prefetch_next_rows(next1, /*to_l1=*/true, b * 8 * kQ4_0Bytes, (b + 1) * 8 * kQ4_0Bytes);
    const uint8_t* b0 = w0 + b * kQ4_0Bytes;
    const uint8_t* b1 = w1 + b * kQ4_0Bytes;
    // v[r]: rows r and r + 4 of each stream in its 128-bit lanes; transposed within
    // the lanes, d[j] holds dword j of rows 0..7 of w0, then 0..7 of w1.
    __m512i v[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r)
      v[r] = load_4x128(b0 + r * rb + 2, b0 + (r + 4) * rb + 2, b1 + r * rb + 2, b1 + (r + 4) * rb + 2);
    const __m512i t0 = _mm512_unpacklo_epi32(v[0], v[1]), t1 = _mm512_unpackhi_epi32(v[0], v[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(v[2], v[3]), t3 = _mm512_unpackhi_epi32(v[2], v[3]);
    const __m512i d[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2), _mm512_unpacklo_epi64(t1, t3),
                          _mm512_unpackhi_epi64(t1, t3)};
    uint16_t h[16];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      std::memcpy(&h[r], b0 + r * rb, 2);
      std::memcpy(&h[r + 8], b1 + r * rb, 2);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h)));
    __m512i wt[8];  // quad u: values 4u..4u+3 (low nibbles of dword u, then high of u - 4)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      wt[j] = _mm512_and_si512(d[j], m4);
      wt[j + 4] = _mm512_and_si512(_mm512_srli_epi16(d[j], 4), m4);
    }
#pragma GCC unroll 5
    for (int t = 0; t < TT; ++t) {
      const int64_t o = t * qx.nb + b;
      const int8_t* xq = qx.q + 32 * o;
      __m512i s = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int u = 0; u < 8; ++u) {
        int32_t quad;
        std::memcpy(&quad, xq + 4 * u, 4);
        s = _mm512_dpbusd_epi32(s, wt[u], _mm512_set1_epi32(quad));
      }
      s = _mm512_sub_epi32(s, _mm512_set1_epi32(qx.s8[o]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(_mm512_set1_ps(qx.d[o]), dw), acc[t]);
    }
  }
  for (int t = 0; t < TT; ++t) {
    _mm256_storeu_ps(y0 + t * ldy, _mm512_castps512_ps256(acc[t]));
    _mm256_storeu_ps(y1 + t * ldy, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[t]), 1)));
  }
}
#pragma GCC diagnostic pop

// f.template operator()<T>() for T in 1..kMaxTT.
template <class F>
void with_tokens(int64_t T, F&& f) {
  switch (T) {
    case 1: f.template operator()<1>(); break;
    case 2: f.template operator()<2>(); break;
    case 3: f.template operator()<3>(); break;
    case 4: f.template operator()<4>(); break;
    default: f.template operator()<5>(); break;
  }
}

void q4_0_run(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows, const QuantX& qx,
              ThreadPool& pool) {
  const uint8_t* data = static_cast<const uint8_t*>(W.data);
  const int64_t rb = W.row_bytes();
  pool.parallel_for(rows.count, [&](int64_t begin, int64_t end, int) {
    const int64_t half = (end - begin) / 16 * 8;  // rows [begin, begin + half) beside [begin + half, begin + 2 half)
    const uint8_t* w = data + (rows.begin + begin) * rb;
    with_tokens(T, [&]<int TT>() {
      for (int64_t i = 0; i < half; i += 8)
        q4_0_rows16<TT>(w + i * rb, w + (half + i) * rb, rb, qx, y + begin + i, y + begin + half + i, ldy);
      for (int64_t i = begin + 2 * half; i < end; i += kRows)  // the rest: the 8-row kernel
        xwt_int8_group<VnniQ4_0, TT>(data + (rows.begin + i) * rb, rb, int(std::min<int64_t>(kRows, end - i)), qx,
                                     y + i, ldy);
    });
  }, pool_grain(rb, T, 16));
}

}  // namespace

void matmul_xwt_int8_rows_vnni(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows,
                               const QuantX& qx, ThreadPool& pool) {
  if (W.dtype == DType::Q4_0 && T <= kMaxTT) return q4_0_run(y, ldy, T, W, rows, qx, pool);
  if (W.dtype == DType::Q8_0) xwt_int8_rows_run<VnniQ8_0>(y, ldy, T, W, rows, qx, pool);
  else xwt_int8_rows_run<VnniQ4_0>(y, ldy, T, W, rows, qx, pool);
}

}  // namespace frugal::avx2
