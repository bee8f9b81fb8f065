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

}  // namespace

void matmul_xwt_int8_rows_vnni(float* y, int64_t ldy, int64_t T, const MatrixView& W, RowRange rows,
                               const QuantX& qx, ThreadPool& pool) {
  if (W.dtype == DType::Q8_0) xwt_int8_rows_run<VnniQ8_0>(y, ldy, T, W, rows, qx, pool);
  else xwt_int8_rows_run<VnniQ4_0>(y, ldy, T, W, rows, qx, pool);
}

}  // namespace frugal::avx2
