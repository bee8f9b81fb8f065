// y = x W^T for fp8-e4m3 weights with 128x128 block scales and any number of
// tokens, on AVX512-BF16 (vdpbf16ps on 512-bit vectors: on Zen 4 the 256-bit form
// ran at 17 GB/s per core even in L2, the 512-bit one at 40-45, so it is bound by
// memory). Compiled with -mavx512bf16 and friends (src/kernels/CMakeLists.txt);
// called only where cpu_has_avx512_bf16().
//
// Why: the F16C path (matmul_xwt_avx2.cpp) spends ~10 instructions decoding 32
// e4m3 bytes into four fp32 vectors, which caps batch-1 decode at ~15 GB/s per
// Zen 4 core, half the core's streaming bandwidth. Here a byte becomes a bf16 in
// 3 instructions per 32 and vdpbf16ps multiplies pairs of them straight away:
//
//   e4m3 byte b = s eeee mmm. unpack(0, b) puts b in the high byte of a 16-bit
//   word; an arithmetic shift right by 4 gives s ssss eeee mmm0000 and the mask
//   0x87F0 keeps s 0000 eeee mmm0000: a bf16 with the sign, exponent field eeee
//   (e4m3's exponent with bias 7, read with bf16's bias 127) and mantissa mmm. Its
//   value is the e4m3 value times 2^-120, for normal and subnormal codes alike
//   (a subnormal eeee = 0 lands on a bf16 subnormal with the same scaling).
//
// The 2^-120 and the block scale are folded into x: x' = x * s(block) * 2^64, and
// the sums are multiplied by 2^56 at the end (2^64 * 2^56 = 2^120; split so that
// neither x' nor the products leave the normal float range for any realistic x).
// x' is carried as two bf16 (hi = bf16(x'), lo = bf16(x' - hi)), so the products
// see x to ~2^-17 instead of bf16's 2^-9: w_bf16 is exact, each product of two
// bf16 is exact in fp32, and the sums are fp32.
//
// Not exact where the F16C path is: vdpbf16ps treats subnormal inputs as zero,
// so e4m3 subnormals (|q| < 2^-6, i.e. below 1/28,672 of a block's 448 maximum)
// count as 0, and x is rounded to ~17 bits. matmul tests state this bound.
// NaN weights (0x7F / 0xFF), an x that is not finite or an x' that overflows make
// it return false, and the caller takes the F16C path, which handles them.
//
// Tiles of 1..4 tokens; more tokens go in several tiles over blocks of rows that
// stay in L2 (fp8_tokens). A token's result is computed the same way whatever T
// and however rows are grouped or split between threads, so batched decode and
// prefill give batch-1's bits. From 5 tokens on it replaces the fp32 tiles, which
// decoded each weight through F16C into L1 (kernels_bench [2048, 10944], one Zen 4
// core, % of the fp32 FMA peak: T = 5 25 -> 50 %, T = 16 40 -> 65 %, T = 64 56 -> 70 %).
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"

#if !defined(__AVX512BF16__) || !defined(__AVX512VL__)
#error "matmul_xwt_fp8_bf16.cpp needs -mavx512bf16 -mavx512vl"
#endif

namespace frugal::avx2 {

// (GCC 12 warns that the unpacks' and extracts' undefined pass-through operands
// are "used uninitialized": false positives of its own intrinsics header.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

constexpr int kG = 64;  // weights per step: one 512-bit load
constexpr float kXFold = 18446744073709551616.0f;  // 2^64, into x'
constexpr float kYFold = 72057594037927936.0f;     // 2^56, onto the sums

// 16 floats: 8 from p, then 8 from q.
inline __m512 load_8_8(const float* p, const float* q) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(p))),
                                             _mm256_castps_pd(_mm256_loadu_ps(q)), 1));
}

// bf16 words (the upper halves of fp32 bit patterns) back to fp32.
inline __m512 bf16_to_f32(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

// x'[t] for one scale-row segment, in the order the unpacked weights take (the
// unpacks work within 128-bit lanes): per group of 64, x[0..7], x[16..23],
// x[32..39], x[48..55] (unpacklo's words), then x[8..15], x[24..31], x[40..47],
// x[56..63] (unpackhi's). 32 values a step: hi = bf16(v), lo = bf16(v - hi) (no
// lo when null: x rounded to one bf16).
// Returns false if some x' is not finite (an overflow, or x itself inf / NaN,
// whose propagation the F16C path reproduces exactly).
bool prepare_x(const float* x, int64_t ldx, int64_t T, int64_t K, const float* srow, int64_t block, uint16_t* hi,
               uint16_t* lo) {
  constexpr int kSrc[8] = {0, 16, 32, 48, 8, 24, 40, 56};
  const __m512 inf = _mm512_set1_ps(INFINITY);
  __mmask16 bad = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * ldx;
    for (int64_t g0 = 0; g0 < K; g0 += kG) {
      const __m512 s = _mm512_set1_ps(srow[g0 / block] * kXFold);
      const float* g = xt + g0;
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {  // the 32 values unpacklo's words meet, then unpackhi's
        const __m512 b = _mm512_mul_ps(s, load_8_8(g + kSrc[4 * q], g + kSrc[4 * q + 1]));
        const __m512 a = _mm512_mul_ps(s, load_8_8(g + kSrc[4 * q + 2], g + kSrc[4 * q + 3]));
        bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(a), inf, _CMP_NLT_UQ) |  // inf or NaN
               _mm512_cmp_ps_mask(_mm512_abs_ps(b), inf, _CMP_NLT_UQ);
        const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(a, b);  // words 0..15 from b, 16..31 from a
        _mm512_storeu_si512(hi + t * K + g0 + 32 * q, h);
        if (!lo) continue;
        const __m512 b_back = bf16_to_f32(_mm512_castsi512_si256(h));
        const __m512 a_back = bf16_to_f32(_mm512_extracti64x4_epi64(h, 1));
        const __m512i l = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(a, a_back), _mm512_sub_ps(b, b_back));
        _mm512_storeu_si512(lo + t * K + g0 + 32 * q, l);
      }
    }
  }
  return bad == 0;
}

// R rows (row_step bytes apart) x TT tokens over the whole row: y[t * ldy + r *
// y_step]. Two accumulators per (row, token), for the words of unpacklo and of
// unpackhi, each taking x' hi then x' lo; summed a0 + a1, then the 16 lanes.
template <int R, int TT, bool Pair>
void fp8_rows(const uint8_t* w, int64_t row_step, int64_t K, const uint16_t* xh, const uint16_t* xl, float* y,
              int64_t ldy, int64_t y_step, __m256i& nan) {
  __m512 acc[R][TT][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t)
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) acc[r][t][q] = _mm512_setzero_ps();
  const __m512i zero = _mm512_setzero_si512(), mask = _mm512_set1_epi16(int16_t(0x87F0));
  __m512i nan512 = _mm512_setzero_si512();
  for (int64_t k = 0; k < K; k += kG) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i b = _mm512_loadu_si512(w + r * row_step + k);
      nan512 = _mm512_max_epu8(nan512, _mm512_add_epi8(b, b));  // 0x7F / 0xFF -> 0xFE, the largest
      const __m512bh w0 = (__m512bh)_mm512_and_si512(_mm512_srai_epi16(_mm512_unpacklo_epi8(zero, b), 4), mask);
      const __m512bh w1 = (__m512bh)_mm512_and_si512(_mm512_srai_epi16(_mm512_unpackhi_epi8(zero, b), 4), mask);
#pragma GCC unroll 4
      for (int t = 0; t < TT; ++t) {
        const uint16_t* h = xh + t * K + k;
        const uint16_t* l = xl + t * K + k;
        acc[r][t][0] = _mm512_dpbf16_ps(acc[r][t][0], w0, (__m512bh)_mm512_load_si512(h));
        acc[r][t][1] = _mm512_dpbf16_ps(acc[r][t][1], w1, (__m512bh)_mm512_load_si512(h + 32));
        if constexpr (Pair) {
          acc[r][t][0] = _mm512_dpbf16_ps(acc[r][t][0], w0, (__m512bh)_mm512_load_si512(l));
          acc[r][t][1] = _mm512_dpbf16_ps(acc[r][t][1], w1, (__m512bh)_mm512_load_si512(l + 32));
        }
      }
    }
  }
  nan = _mm256_max_epu8(nan, _mm256_max_epu8(_mm512_castsi512_si256(nan512), _mm512_extracti64x4_epi64(nan512, 1)));
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) {
      const __m512 s = _mm512_add_ps(acc[r][t][0], acc[r][t][1]);
      const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
      y[t * ldy + r * y_step] = hsum(s8) * kYFold;
    }
}

// Rows [r0, r0 + n) of W, outputs y[:, 0 .. n). R rows a pass (16 accumulators at
// most: R x TT x 2), taken from R equal parts of the range (rows i, q + i, 2q + i,
// ...): each part is read front to back, a sequential stream the hardware
// prefetchers follow. Side-by-side rows (i, i + 1, ...) make short interleaved
// streams they follow poorly, even with software prefetch. On Zen 4, one core:
// [1408, 2048] 22 -> 27 GB/s, [2048, 10944] 20 -> 25 GB/s (kernels_bench); a bare
// load loop over 4 side-by-side rows 17-23 GB/s, over 4 parts 27-34, 1 row 31-33.
template <int TT, bool Pair>
void fp8_range(const uint8_t* data, int64_t row_bytes, int64_t K, int64_t r0, int64_t n, const uint16_t* xh,
               const uint16_t* xl, float* y, int64_t ldy, __m256i& nan) {
  constexpr int R = TT <= 2 ? 4 : 2;
  const uint8_t* w = data + r0 * row_bytes;
  const int64_t q = n / R;
  for (int64_t i = 0; i < q; ++i) fp8_rows<R, TT, Pair>(w + i * row_bytes, q * row_bytes, K, xh, xl, y + i, ldy, q, nan);
  for (int64_t i = R * q; i < n; ++i) fp8_rows<1, TT, Pair>(w + i * row_bytes, 0, K, xh, xl, y + i, ldy, 0, nan);
}

// Tokens [0, tc) of a prepared x' chunk over rows [r0, r0 + n): tiles of at most
// kFp8Bf16MaxT tokens, as even as possible (16 -> 4 x 4, 7 -> 4 + 3). With more
// than one tile, the rows go in blocks of ~kRowBlockBytes, which stay in L2 while
// every tile reads them (one tile: the whole range, one stream per part).
template <bool Pair>
void fp8_tokens(const uint8_t* data, int64_t row_bytes, int64_t K, int64_t r0, int64_t n, int64_t tc,
                const uint16_t* xh, const uint16_t* xl, float* y, int64_t ldy, __m256i& nan) {
  constexpr int64_t kRowBlockBytes = 192 << 10;
  const int64_t ntiles = (tc + kFp8Bf16MaxT - 1) / kFp8Bf16MaxT;
  const int64_t nb = ntiles == 1 ? n : std::max<int64_t>(4, kRowBlockBytes / row_bytes / 4 * 4);
  for (int64_t i0 = 0; i0 < n; i0 += nb) {
    const int64_t m = std::min(nb, n - i0);
    for (int64_t j = 0, t = 0; j < ntiles; ++j) {
      const int64_t tt = tc / ntiles + (j < tc % ntiles);
      const uint16_t *h = xh + t * K, *l = xl + t * K;
      float* yt = y + t * ldy + i0;
      switch (tt) {
        case 1: fp8_range<1, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, nan); break;
        case 2: fp8_range<2, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, nan); break;
        case 3: fp8_range<3, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, nan); break;
        default: fp8_range<4, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, nan); break;
      }
      t += tt;
    }
  }
}

}  // namespace

bool matmul_xwt_fp8_bf16(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                         RowRange rows, ThreadPool& pool) {
  if (W.dtype != DType::F8_E4M3 || T < 1 || !W.scale_inv || W.block % kG != 0 || W.cols % kG != 0 || W.cols == 0)
    return false;
  const uint8_t* data = static_cast<const uint8_t*>(W.data);
  const int64_t K = W.cols, rb = W.row_bytes();
  // tokens per x' chunk: hi + lo take 4 bytes per value; all of a decode step's
  // tokens for every V3 shape
  constexpr int64_t kXBudget = 512 << 10;
  const int64_t mc = std::clamp<int64_t>(kXBudget / (4 * K), kFp8Bf16MaxT, std::max<int64_t>(T, kFp8Bf16MaxT));
  const bool pair = !fp8_x_bf16_single();
  std::atomic<bool> ok{true};
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    thread_local std::vector<uint16_t> xbuf;
    if (int64_t(xbuf.size()) < 2 * mc * K + 32) xbuf.resize(size_t(2 * mc * K + 32));
    uint16_t* xh = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(xbuf.data()) + 63) & ~uintptr_t(63));
    uint16_t* xl = xh + mc * K;
    __m256i nan = _mm256_setzero_si256();
    for (int64_t i = b; i < e && ok.load(std::memory_order_relaxed);) {  // segments sharing one row of scales
      const int64_t r = rows.begin + i;
      const int64_t end = std::min(e, (r / W.block + 1) * W.block - rows.begin);
      for (int64_t t0 = 0; t0 < T; t0 += mc) {
        const int64_t tc = std::min(mc, T - t0);
        if (!prepare_x(x + t0 * ldx, ldx, tc, K, W.scale_inv + (r / W.block) * W.scale_cols(), W.block, xh,
                       pair ? xl : nullptr)) {
          ok = false;
          return;
        }
        if (pair) fp8_tokens<true>(data, rb, K, r, end - i, tc, xh, xl, y + t0 * ldy + i, ldy, nan);
        else fp8_tokens<false>(data, rb, K, r, end - i, tc, xh, xl, y + t0 * ldy + i, ldy, nan);
      }
      i = end;
    }
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(nan, _mm256_set1_epi8(int8_t(0xFE)))) != 0) ok = false;
  }, pool_grain(rb, T, 16));
  return ok;
}

#pragma GCC diagnostic pop

}  // namespace frugal::avx2
