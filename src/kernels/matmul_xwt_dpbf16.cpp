// y = x W^T on AVX512-BF16 (vdpbf16ps on 512-bit vectors) for any number of
// tokens, for fp8-e4m3 weights with 128x128 block scales and for bf16 weights.
// Compiled with -mavx512bf16 and friends (src/kernels/CMakeLists.txt); called
// only where cpu_has_avx512_bf16(). (On Zen 4 the 256-bit form ran at 17 GB/s per
// core even in L2, the 512-bit one at 40-45, so it is bound by memory.)
//
// Why, fp8: the F16C path (matmul_xwt_avx2.cpp) spends ~10 instructions decoding
// 32 e4m3 bytes into four fp32 vectors, which caps batch-1 decode at ~15 GB/s per
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
// bf16 weights are bf16 already: the products need no decode at all, where the
// fp32 kernels widen every weight (for more than 4 tokens into L1 tiles first).
// They come here only with --bf16-activations (x as one bf16, see below).
//
// The 2^-120 and the block scale are folded into x: x' = x * s(block) * 2^64, and
// the sums are multiplied by 2^56 at the end (2^64 * 2^56 = 2^120; split so that
// neither x' nor the products leave the normal float range for any realistic x);
// bf16 weights: x' = x * 2^64, the sums times 2^-64. x' is carried as two bf16
// (hi = bf16(x'), lo = bf16(x' - hi)), so the products see x to ~2^-17 instead of
// bf16's 2^-9: the weight's bf16 is exact, each product of two bf16 is exact in
// fp32, and the sums are fp32. With --bf16-activations (dpbf16_x_single) only hi:
// x to 2^-9, half the products (DeepSeek's own FP8 inference rounds x to e4m3).
//
// Not exact where the F16C / fp32 paths are: vdpbf16ps treats subnormal inputs as
// zero, so e4m3 subnormals (|q| < 2^-6, i.e. below 1/28,672 of a block's 448
// maximum) and bf16 subnormals (|w| < 2^-126) count as 0, and x is rounded to ~17
// bits. matmul tests state this bound. NaN weights (e4m3 0x7F / 0xFF), an x that
// is not finite or an x' that overflows make it return false, and the caller takes
// the other path, which handles them.
//
// Tiles of 1..3 tokens; more tokens go in several tiles over blocks of rows that
// stay in L2 (token_tiles). A token's result is computed the same way whatever T
// and however rows are grouped or split between threads, so batched decode and
// prefill give batch-1's bits. From 5 tokens on it replaced the fp32 tiles, which
// decoded each weight into L1 (kernels_bench [2048, 10944], one Zen 4 core, % of
// the fp32 FMA peak, fp8: T = 5 25 -> 50 %, T = 16 40 -> 65 %, T = 64 56 -> 70 %).
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"

#if !defined(__AVX512BF16__) || !defined(__AVX512VL__)
#error "matmul_xwt_dpbf16.cpp needs -mavx512bf16 -mavx512vl"
#endif

namespace frugal::avx2 {

// (GCC 12 warns that the unpacks' and extracts' undefined pass-through operands
// are "used uninitialized": false positives of its own intrinsics header.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace {

constexpr int kG = 64;                             // weights per step
constexpr float kXFold = 18446744073709551616.0f;  // 2^64, into x'

// The weight formats: 64 weights a step as two vectors of 32 bf16 (w0, w1), the
// order in which x' must meet them (8-value pieces of the step's 64), the fold of
// the sums, and a running probe for weights the kernel cannot take.
struct E4M3 {
  static constexpr int64_t kStepBytes = 64;
  // unpacklo's words: the step's x[0..7], x[16..23], x[32..39], x[48..55] (the
  // unpacks work within 128-bit lanes); unpackhi's: x[8..15], ... x[56..63]
  static constexpr int kOrder[8] = {0, 16, 32, 48, 8, 24, 40, 56};
  static constexpr float kYFold = 72057594037927936.0f;  // 2^56
  static inline void load(const uint8_t* p, __m512bh& w0, __m512bh& w1, __m512i& seen) {
    const __m512i zero = _mm512_setzero_si512(), mask = _mm512_set1_epi16(int16_t(0x87F0));
    const __m512i b = _mm512_loadu_si512(p);
    seen = _mm512_max_epu8(seen, _mm512_add_epi8(b, b));  // NaN 0x7F / 0xFF -> 0xFE, the largest
    w0 = (__m512bh)_mm512_and_si512(_mm512_srai_epi16(_mm512_unpacklo_epi8(zero, b), 4), mask);
    w1 = (__m512bh)_mm512_and_si512(_mm512_srai_epi16(_mm512_unpackhi_epi8(zero, b), 4), mask);
  }
  static bool bad(__m512i seen) { return _mm512_cmpeq_epi8_mask(seen, _mm512_set1_epi8(int8_t(0xFE))) != 0; }
};

struct BF16 {
  static constexpr int64_t kStepBytes = 128;
  static constexpr int kOrder[8] = {0, 8, 16, 24, 32, 40, 48, 56};  // as stored
  static constexpr float kYFold = 1.0f / kXFold;                      // 2^-64
  // inf / NaN weights need no probe: with x as one bf16 (the only way here) inf * x'
  // and NaN propagate as in the reference, and x' = x 2^64 is never subnormal.
  static inline void load(const uint8_t* p, __m512bh& w0, __m512bh& w1, __m512i&) {
    w0 = (__m512bh)_mm512_loadu_si512(p);
    w1 = (__m512bh)_mm512_loadu_si512(p + 64);
  }
  static bool bad(__m512i) { return false; }
};

// 16 floats: 8 from p, then 8 from q.
inline __m512 load_8_8(const float* p, const float* q) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(p))),
                                             _mm256_castps_pd(_mm256_loadu_ps(q)), 1));
}

// bf16 words (the upper halves of fp32 bit patterns) back to fp32.
inline __m512 bf16_to_f32(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

// x'[t] for one scale-row segment (srow: its block scales; null for bf16), in the
// order W's vectors take (W::kOrder), 32 values a step: hi = bf16(v), lo =
// bf16(v - hi) (no lo when null: x rounded to one bf16).
// Returns false if some x' is not finite (an overflow, or x itself inf / NaN,
// whose propagation the other paths reproduce exactly).
template <class W>
bool prepare_x(const float* x, int64_t ldx, int64_t T, int64_t K, const float* srow, int64_t block, uint16_t* hi,
               uint16_t* lo) {
  constexpr const int* kSrc = W::kOrder;
  const __m512 inf = _mm512_set1_ps(INFINITY);
  __mmask16 bad = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * ldx;
    for (int64_t g0 = 0; g0 < K; g0 += kG) {
      const __m512 s = _mm512_set1_ps(srow ? srow[g0 / block] * kXFold : kXFold);
      const float* g = xt + g0;
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {  // the 32 values w0 meets, then w1's
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
// y_step]. Two accumulators per (row, token), for w0 and for w1, each taking x'
// hi then x' lo; summed a0 + a1, then the 16 lanes.
template <class W, int R, int TT, bool Pair>
void dot_rows(const uint8_t* w, int64_t row_step, int64_t K, const uint16_t* xh, const uint16_t* xl, float* y,
              int64_t ldy, int64_t y_step, __m512i& seen) {
  __m512 acc[R][TT][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t)
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) acc[r][t][q] = _mm512_setzero_ps();
  __m512i probe = seen;
  for (int64_t k = 0; k < K; k += kG) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      __m512bh w0, w1;
      W::load(w + r * row_step + k / kG * W::kStepBytes, w0, w1, probe);
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
  seen = probe;
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) {
      const __m512 s = _mm512_add_ps(acc[r][t][0], acc[r][t][1]);
      const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
      y[t * ldy + r * y_step] = hsum(s8) * W::kYFold;
    }
}

// Rows [r0, r0 + n) of W, outputs y[:, 0 .. n). R = 4 rows a pass (24
// accumulators at most: R x TT x 2), taken from R equal parts of the range (rows i, q + i, 2q + i,
// ...): each part is read front to back, a sequential stream the hardware
// prefetchers follow. Side-by-side rows (i, i + 1, ...) make short interleaved
// streams they follow poorly, even with software prefetch. On Zen 4, one core:
// [1408, 2048] 22 -> 27 GB/s, [2048, 10944] 20 -> 25 GB/s (kernels_bench); a bare
// load loop over 4 side-by-side rows 17-23 GB/s, over 4 parts 27-34, 1 row 31-33.
template <class W, int TT, bool Pair>
void dot_range(const uint8_t* data, int64_t row_bytes, int64_t K, int64_t r0, int64_t n, const uint16_t* xh,
               const uint16_t* xl, float* y, int64_t ldy, __m512i& seen) {
  constexpr int R = 4;
  const uint8_t* w = data + r0 * row_bytes;
  const int64_t q = n / R;
  for (int64_t i = 0; i < q; ++i)
    dot_rows<W, R, TT, Pair>(w + i * row_bytes, q * row_bytes, K, xh, xl, y + i, ldy, q, seen);
  for (int64_t i = R * q; i < n; ++i) dot_rows<W, 1, TT, Pair>(w + i * row_bytes, 0, K, xh, xl, y + i, ldy, 0, seen);
}

// Tokens [0, tc) of a prepared x' chunk over rows [r0, r0 + n): tiles of at most
// kDpbf16MaxT tokens, as even as possible (16 -> 3+3+3+3+2+2, 4 -> 2+2). With more
// than one tile, the rows go in blocks of ~kRowBlockBytes, which stay in L2 while
// every tile reads them (one tile: the whole range, one stream per part).
template <class W, bool Pair>
void token_tiles(const uint8_t* data, int64_t row_bytes, int64_t K, int64_t r0, int64_t n, int64_t tc,
                 const uint16_t* xh, const uint16_t* xl, float* y, int64_t ldy, __m512i& seen) {
  constexpr int64_t kRowBlockBytes = 192 << 10;
  const int64_t ntiles = (tc + kDpbf16MaxT - 1) / kDpbf16MaxT;
  const int64_t nb = ntiles == 1 ? n : std::max<int64_t>(4, kRowBlockBytes / row_bytes / 4 * 4);
  for (int64_t i0 = 0; i0 < n; i0 += nb) {
    const int64_t m = std::min(nb, n - i0);
    for (int64_t j = 0, t = 0; j < ntiles; ++j) {
      const int64_t tt = tc / ntiles + (j < tc % ntiles);
      const uint16_t *h = xh + t * K, *l = xl + t * K;
      float* yt = y + t * ldy + i0;
      switch (tt) {
        case 1: dot_range<W, 1, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, seen); break;
        case 2: dot_range<W, 2, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, seen); break;
        default: dot_range<W, 3, Pair>(data, row_bytes, K, r0 + i0, m, h, l, yt, ldy, seen); break;
      }
      t += tt;
    }
  }
}

template <class W>
bool xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& M, RowRange rows,
         ThreadPool& pool) {
  const uint8_t* data = static_cast<const uint8_t*>(M.data);
  const int64_t K = M.cols, rb = M.row_bytes();
  // Rows that share one row of block scales share x' (fp8); bf16: all of them.
  const int64_t seg = M.scale_inv ? M.block : rows.begin + rows.count;
  // tokens per x' chunk: hi + lo take 4 bytes per value; all of a decode step's
  // tokens for every V3 shape
  constexpr int64_t kXBudget = 512 << 10;
  const int64_t mc = std::clamp<int64_t>(kXBudget / (4 * K), kDpbf16MaxT, std::max<int64_t>(T, kDpbf16MaxT));
  const bool pair = !dpbf16_x_single();
  std::atomic<bool> ok{true};
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    thread_local std::vector<uint16_t> xbuf;
    if (int64_t(xbuf.size()) < 2 * mc * K + 32) xbuf.resize(size_t(2 * mc * K + 32));
    uint16_t* xh = reinterpret_cast<uint16_t*>((reinterpret_cast<uintptr_t>(xbuf.data()) + 63) & ~uintptr_t(63));
    uint16_t* xl = xh + mc * K;
    __m512i seen = _mm512_setzero_si512();
    for (int64_t i = b; i < e && ok.load(std::memory_order_relaxed);) {
      const int64_t r = rows.begin + i;
      const int64_t end = std::min(e, (r / seg + 1) * seg - rows.begin);
      const float* srow = M.scale_inv ? M.scale_inv + (r / M.block) * M.scale_cols() : nullptr;
      for (int64_t t0 = 0; t0 < T; t0 += mc) {
        const int64_t tc = std::min(mc, T - t0);
        if (!prepare_x<W>(x + t0 * ldx, ldx, tc, K, srow, M.block, xh, pair ? xl : nullptr)) {
          ok = false;
          return;
        }
        if (pair) token_tiles<W, true>(data, rb, K, r, end - i, tc, xh, xl, y + t0 * ldy + i, ldy, seen);
        else token_tiles<W, false>(data, rb, K, r, end - i, tc, xh, xl, y + t0 * ldy + i, ldy, seen);
      }
      i = end;
    }
    if (W::bad(seen)) ok = false;
  }, pool_grain(rb, T, 16));
  return ok;
}

}  // namespace

bool matmul_xwt_dpbf16(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                       RowRange rows, ThreadPool& pool) {
  if (T < 1 || W.cols % kG != 0 || W.cols == 0) return false;
  if (W.dtype == DType::F8_E4M3 && W.scale_inv && W.block % kG == 0)
    return xwt<E4M3>(y, ldy, x, ldx, T, W, rows, pool);
  // bf16 weights only with x as one bf16: as two, the logits of the PyTorch-reference
  // tests moved ~10x further from it than with the exact fp32 kernels (3e-6 ->
  // 3e-5; 3e-4 for tied embeddings), for at best the fp32 kernels' speed.
  if (W.dtype == DType::BF16 && !W.scale_inv && dpbf16_x_single()) return xwt<BF16>(y, ldy, x, ldx, T, W, rows, pool);
  return false;
}

#pragma GCC diagnostic pop

}  // namespace frugal::avx2
