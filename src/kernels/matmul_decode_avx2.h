// Weight decoders for the AVX2 matmul kernels: each turns one *group* of G
// stored weights into G/8 fp32 vectors in registers. Included only by *_avx2.cpp
// files (compiled with -mavx2 -mfma -mf16c).
//
// A decoder may emit the group's values in a permuted order (whatever is cheapest
// to compute); `perm[j]` is the element of the group held by lane j % 8 of vector
// j / 8. The kernels permute the activations the same way once per call, so a
// dot product never needs the natural order (CONVENTIONS "Kernels are math": the
// permutation is invisible outside the kernel).
//
// `factor`: the decoded vector is the real weight divided by `factor` (fp8 is
// decoded through fp16, which has a bias 8 larger: a 2^8 the kernel folds into
// its scale). Block formats apply their own 32-element scale.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "matmul_decode_avx2.h is for *_avx2.cpp files only"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/dtype.h"
#include "core/matrix_view.h"

// Internal linkage (an unnamed namespace): each *_avx2.cpp / *_vnni.cpp file gets
// its own copy compiled for its own instruction set, and the linker never picks an
// AVX-512 copy for an AVX2-only caller.
namespace frugal::avx2 {
namespace {

// Software prefetch for the loops that read R rows side by side. Rows are short
// (a Q4_0 row of 2048 values is 1152 bytes) and read as R interleaved streams,
// which the hardware prefetchers follow poorly; but the next R rows follow these
// in memory, so while reading bytes of this row block, prefetch the same share of
// the next one: into L1 when a row block is small, else into L2 (a block of long
// rows is 10s of KB ahead, and would evict what is being read from L1).
// Measured on Zen 4 (kernels_bench), Q8_0 [2048, 10944] and [1408, 2048]: 13-16
// -> 22-25 GB/s on one thread.
// (A plain function: GCC 12 dropped the prefetches when this was a member operator().)
inline void prefetch_next_rows(const char* next, bool to_l1, int64_t from, int64_t to) {
  for (int64_t o = from; o < to; o += 64) {
    if (to_l1) _mm_prefetch(next + o, _MM_HINT_T0);
    else _mm_prefetch(next + o, _MM_HINT_T1);
  }
}
inline bool prefetch_to_l1(int64_t block_bytes) { return block_bytes <= (12 << 10); }

// fp32: one vector, natural order.
struct DecodeF32 {
  static constexpr DType dtype = DType::F32;
  static constexpr int G = 8, kBytes = 32, V = 1;
  static constexpr float factor = 1.0f;
  static constexpr bool can_hide_nan = false;
  static constexpr int perm(int j) { return j; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i&) {
    out[0] = _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  }
};

// IEEE fp16: F16C conversion (subnormals, inf, NaN exact), natural order.
struct DecodeF16 {
  static constexpr DType dtype = DType::F16;
  static constexpr int G = 8, kBytes = 16, V = 1;
  static constexpr float factor = 1.0f;
  static constexpr bool can_hide_nan = false;
  static constexpr int perm(int j) { return j; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i&) {
    out[0] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};

// bf16: 16 values in 32 bytes. Each 32-bit lane holds elements 2l (low half) and
// 2l+1 (high half): a shift gives the even ones, a mask the odd ones.
struct DecodeBF16 {
  static constexpr DType dtype = DType::BF16;
  static constexpr int G = 16, kBytes = 32, V = 2;
  static constexpr float factor = 1.0f;
  static constexpr bool can_hide_nan = false;
  static constexpr int perm(int j) { return j < 8 ? 2 * j : 2 * (j - 8) + 1; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i&) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    out[0] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    out[1] = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(int(0xFFFF0000u))));
  }
};

// fp8 e4m3 (S.EEEE.MMM, bias 7): moving the byte's EEEEMMM to fp16 bits 13..7
// (exponent field 0EEEE, mantissa MMM0000000) and its sign to bit 15 gives an fp16
// of the same value times 2^-8, subnormals included (F16C converts those exactly).
// 32 bytes = 16 16-bit lanes; lane m holds bytes 2m (low) and 2m+1 (high). For the
// high byte an arithmetic shift by one puts EEEEMMM at bits 13..7 and keeps the
// sign at 15; the mask 0xBF80 clears the copied sign at bit 14 and the low byte.
// The only e4m3 NaN, S.1111.111, would decode as +-480 / 256: `nan` collects
// max(2b mod 256) over the bytes, which is 0xFE exactly when some byte is a NaN,
// and the kernels then take the exact table path for that row.
struct DecodeE4M3 {
  static constexpr DType dtype = DType::F8_E4M3;
  static constexpr int G = 32, kBytes = 32, V = 4;
  static constexpr float factor = 256.0f;
  static constexpr bool can_hide_nan = true;
  // Vectors: even bytes 0..14, even bytes 16..30, odd bytes 1..15, odd bytes 17..31.
  static constexpr int perm(int j) { return (j % 8) * 2 + (j / 8 % 2) * 16 + j / 16; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i& nan) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i mask = _mm256_set1_epi16(int16_t(0xBF80));
    const __m256i odd = _mm256_and_si256(_mm256_srai_epi16(b, 1), mask);
    const __m256i even = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(b, 8), 1), mask);
    nan = _mm256_max_epu8(nan, _mm256_add_epi8(b, b));
    out[0] = _mm256_cvtph_ps(_mm256_castsi256_si128(even));
    out[1] = _mm256_cvtph_ps(_mm256_extracti128_si256(even, 1));
    out[2] = _mm256_cvtph_ps(_mm256_castsi256_si128(odd));
    out[3] = _mm256_cvtph_ps(_mm256_extracti128_si256(odd, 1));
  }
  static bool has_nan(__m256i nan) {
    return _mm256_movemask_epi8(_mm256_cmpeq_epi8(nan, _mm256_set1_epi8(int8_t(0xFE)))) != 0;
  }
};

inline __m256 broadcast_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm256_set1_ps(_cvtsh_ss(h));
}

// Q8_0: {fp16 d; int8 q[32]}, natural order, scale applied.
struct DecodeQ8_0 {
  static constexpr DType dtype = DType::Q8_0;
  static constexpr int G = 32, kBytes = kQ8_0Bytes, V = 4;
  static constexpr float factor = 1.0f;
  static constexpr bool can_hide_nan = false;
  static constexpr int perm(int j) { return j; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i&) {
    const __m256 d = broadcast_f16(p);
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * v));
      out[v] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
    }
  }
};

// Q4_0: {fp16 d; 16 bytes, low nibbles = elements 0..15, high = 16..31}, natural
// order; (q - 8) d computed as q d - 8 d in one FMA.
struct DecodeQ4_0 {
  static constexpr DType dtype = DType::Q4_0;
  static constexpr int G = 32, kBytes = kQ4_0Bytes, V = 4;
  static constexpr float factor = 1.0f;
  static constexpr bool can_hide_nan = false;
  static constexpr int perm(int j) { return j; }
  static inline void decode(const uint8_t* p, __m256* out, __m256i&) {
    const __m256 d = broadcast_f16(p);
    const __m256 off = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
    const __m128i m = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(v, m), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
    out[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), d, off);
    out[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), d, off);
    out[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), d, off);
    out[3] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), d, off);
  }
};

// Geometry of W's stored rows for decoder D.
template <class D>
struct Layout {
  const uint8_t* data;
  int64_t row_bytes, K;
  int64_t full;        // groups of G fully inside the row
  int64_t tail_bytes;  // bytes of the last, partial group (0: none; block formats never have one)

  explicit Layout(const MatrixView& W)
      : data(static_cast<const uint8_t*>(W.data)), row_bytes(W.row_bytes()), K(W.cols), full(W.cols / D::G),
        tail_bytes(W.cols % D::G * (D::kBytes / D::G)) {}
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
};

// Decodes the partial last group through a zero-padded copy (never reads past W).
template <class D>
inline void decode_tail(const uint8_t* p, int64_t bytes, __m256* out, __m256i& nan) {
  alignas(32) uint8_t buf[D::kBytes] = {};
  std::memcpy(buf, p, size_t(bytes));
  D::decode(buf, out, nan);
}

// The pool's grain for n units (rows or column tiles) of `unit_bytes` weight bytes
// each, multiplied with T tokens: at least `base` units, and enough that a chunk
// is worth waking a thread for (ThreadPool::parallel_for costs some microseconds;
// 128 KB of weights take about 5 us to stream on one core). A single chunk runs
// on the calling thread.
inline int64_t pool_grain(int64_t unit_bytes, int64_t T, int64_t base) {
  const int64_t min_bytes = (int64_t(128) << 10) / std::max<int64_t>(1, T / 2);
  const int64_t units = (min_bytes + unit_bytes - 1) / std::max<int64_t>(1, unit_bytes);
  return std::max(base, (units + base - 1) / base * base);
}

// Sums of the 8 lanes of four vectors: {sum a, sum b, sum c, sum d}, each as
// ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)).
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// The same sum for one vector, in the same order (so that a dot product does not
// depend on how many rows or tokens its tile had: batch-1 and batch-4 results are
// bit-identical).
inline float hsum(__m256 a) {
  const __m128 lo = _mm256_castps256_ps128(a), hi = _mm256_extractf128_ps(a, 1);
  __m128 s = _mm_hadd_ps(lo, hi);  // {v0+v1, v2+v3, v4+v5, v6+v7}
  s = _mm_hadd_ps(s, s);           // {(v0+v1)+(v2+v3), (v4+v5)+(v6+v7), ...}
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

}  // namespace
}  // namespace frugal::avx2
