// y = x W^T (a Linear) on AVX2/FMA/F16C, weights decoded in registers.
//
// Q8_0 / Q4_0 go to the integer kernels (matmul_xwt_int8_avx2.cpp) unless x is
// not finite.
//
// Decode, T <= 4 tokens ("fused"): R rows at a time, every group of G stored
// weights is decoded once into registers and multiplied with all T tokens; the
// R x T dot products stay in registers for the whole row, so each weight byte is
// read from memory once per call and the loop runs at memory speed (or at the
// decoder's speed: fp8 decodes at ~15-20 GB/s per Zen 4 core). The block scale
// (and fp8's 2^8) is folded into a copy of x made once per 128-row scale block:
// sum_k x_k s_(k/128) w_k == sum_k (x_k s_(k/128)) w_k.
//
// Small batches and prefill, T >= 5 ("tiled"): R = 4 rows x kc columns are
// decoded (scale applied) into an L1 scratch once, then 4-row x 3-token register
// tiles run over it for every token: the decode cost is amortized over T and the
// inner loop is 12 FMAs per 7 loads (FMA-bound). x is permuted once per call
// (shared by the threads); a token block x a panel of x stays in L2 while the
// weights stream past it (GotoBLAS's loop order, with the decode as the packing).
//
// Threads split the output rows (pool_grain: chunks of 16 rows and enough bytes
// to be worth a thread).
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_avx2.h"
#include "kernels/matmul_decode_avx2.h"

namespace frugal::avx2 {

namespace {

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Per-thread scratch, shared by all dtypes (grown, never shrunk): x in the
// decoders' order, and decoded weights.
float* scratch_x(int64_t n) {
  thread_local std::vector<float> v;
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}
float* scratch_w(int64_t n) {
  thread_local std::vector<float> v;
  if (int64_t(v.size()) < n) v.resize(size_t(n));
  return v.data();
}

template <class D>
constexpr bool identity_perm() {
  for (int j = 0; j < D::G; ++j)
    if (D::perm(j) != j) return false;
  return true;
}

// xp[g G + j] = x[g G + perm(j)] * mul * srow[col / block], zero past K (xp holds
// Kp). block is a multiple of G (matmul_supports), so a group has one scale.
template <class D>
void permute_x(const float* x, int64_t K, int64_t Kp, float* xp, float mul, const float* srow, int64_t block) {
  for (int64_t g0 = 0; g0 < Kp; g0 += D::G) {
    const float s = srow ? srow[g0 / block] * mul : mul;
    if (g0 + D::G <= K) {
      alignas(32) float tmp[D::G];
      for (int j = 0; j < D::G; ++j) tmp[j] = x[g0 + D::perm(j)];
      for (int v = 0; v < D::G; v += 8)
        _mm256_storeu_ps(xp + g0 + v, _mm256_mul_ps(_mm256_load_ps(tmp + v), _mm256_set1_ps(s)));
      continue;
    }
    for (int j = 0; j < D::G; ++j) {
      const int64_t c = g0 + D::perm(j);
      xp[g0 + j] = c < K ? x[c] * s : 0.0f;
    }
  }
}

// ---------------------------------------------------------------------------
// Fused (T <= 4): R rows x TT tokens in registers over the whole row.

template <class D, int R, int TT>
bool xwt_fused_rows(const Layout<D>& L, int64_t r0, int64_t row_step, const float* xp, int64_t ldp, float* y,
                    int64_t ldy, int64_t y_step) {
  __m256 acc[R][TT];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  __m256i nan = _mm256_setzero_si256();
  const uint8_t* w = L.row(r0);
  const bool pf = row_step == L.row_bytes;  // side by side: prefetch the next R rows (see xwt_fused_range)
  const char* next = reinterpret_cast<const char*>(w + R * row_step);
  const bool to_l1 = prefetch_to_l1(R * L.row_bytes);
  auto step = [&](int r, const __m256* wv, int64_t k) {
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t)
#pragma GCC unroll 4
      for (int v = 0; v < D::V; ++v)
        acc[r][t] = _mm256_fmadd_ps(wv[v], _mm256_loadu_ps(xp + t * ldp + k + 8 * v), acc[r][t]);
  };
  for (int64_t g = 0; g < L.full; ++g) {
    if (pf) prefetch_next_rows(next, to_l1, g * R * D::kBytes, (g + 1) * R * D::kBytes);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      __m256 wv[D::V];
      D::decode(w + r * row_step + g * D::kBytes, wv, nan);
      step(r, wv, g * D::G);
    }
  }
  if (L.tail_bytes) {
    for (int r = 0; r < R; ++r) {
      __m256 wv[D::V];
      decode_tail<D>(w + r * row_step + L.full * D::kBytes, L.tail_bytes, wv, nan);
      step(r, wv, L.full * D::G);
    }
  }
  if constexpr (D::can_hide_nan)
    if (D::has_nan(nan)) return false;
  for (int t = 0; t < TT; ++t) {
    if constexpr (R == 4) {
      const __m128 s = hsum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
      if (y_step == 1) {
        _mm_storeu_ps(y + t * ldy, s);
      } else {
        alignas(16) float out[4];
        _mm_store_ps(out, s);
        for (int r = 0; r < R; ++r) y[t * ldy + r * y_step] = out[r];
      }
    } else {
      for (int r = 0; r < R; ++r) y[t * ldy + r * y_step] = hsum(acc[r][t]);
    }
  }
  return true;
}

// Rows [r0, r0 + n) of W (absolute), outputs y[:, 0 .. n). The R rows of a pass
// are either side by side (i, i + 1, ...; the next R rows prefetched), or, for one
// token of the light decoders (f32, bf16), taken from R equal parts of the range
// (i, q + i, 2q + i, ...): each part is then read front to back, a sequential
// stream the hardware prefetchers follow better than R short interleaved ones.
// Measured on Zen 4 (kernels_bench, one core, T = 1): bf16 [2048, 10944] 23 -> 32
// GB/s, [1408, 2048] 23 -> 29; f32 25 -> 40 and 23 -> 30. With more tokens, or the
// F16C fp8 decoder, a pass does enough work per byte that side by side rows with
// their prefetch into L1 were faster (bf16 T = 2: 21 vs 17 GB/s).
template <class D, int TT>
constexpr bool kPartsT1 = TT == 1 && (D::dtype == DType::F32 || D::dtype == DType::BF16);

template <class D, int R, int TT>
void xwt_fused_range(const Layout<D>& L, const MatrixView& W, int64_t r0, int64_t n, const float* xp, int64_t ldp,
                     float* y, int64_t ldy, const float* x, int64_t ldx) {
  if constexpr (kPartsT1<D, TT>) {
    // f32 / bf16 carry a NaN weight through the products themselves: no exact fallback needed.
    static_assert(!D::can_hide_nan);
    const int64_t q = n / R;
    for (int64_t i = 0; i < q; ++i) xwt_fused_rows<D, R, TT>(L, r0 + i, q * L.row_bytes, xp, ldp, y + i, ldy, q);
    for (int64_t i = R * q; i < n; ++i) xwt_fused_rows<D, 1, TT>(L, r0 + i, L.row_bytes, xp, ldp, y + i, ldy, 1);
  } else {
    int64_t i = 0;
    for (; i + R <= n; i += R)
      if (!xwt_fused_rows<D, R, TT>(L, r0 + i, L.row_bytes, xp, ldp, y + i, ldy, 1))
        matmul_xwt_ref(y + i, ldy, x, ldx, TT, W, RowRange{r0 + i, R});  // a NaN weight: exact path
    for (; i < n; ++i)
      if (!xwt_fused_rows<D, 1, TT>(L, r0 + i, L.row_bytes, xp, ldp, y + i, ldy, 1))
        matmul_xwt_ref(y + i, ldy, x, ldx, TT, W, RowRange{r0 + i, 1});
  }
}

template <class D>
void xwt_fused(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
               ThreadPool& pool) {
  const Layout<D> L(W);
  const int64_t Kp = round_up(W.cols, D::G);
  // x itself where the copy would change nothing.
  const bool copy_x = !identity_perm<D>() || W.scale_inv || D::factor != 1.0f || Kp != W.cols;
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    float* buf = copy_x ? scratch_x(T * Kp) : nullptr;
    const float* xp = copy_x ? buf : x;
    const int64_t ldp = copy_x ? Kp : ldx;
    // Segments of rows sharing one row of block scales.
    for (int64_t i = b; i < e;) {
      const int64_t r = rows.begin + i;
      int64_t end = e;
      const float* srow = nullptr;
      if (W.scale_inv) {
        end = std::min(e, (r / W.block + 1) * W.block - rows.begin);
        srow = W.scale_inv + (r / W.block) * W.scale_cols();
      }
      if (copy_x)
        for (int64_t t = 0; t < T; ++t)
          permute_x<D>(x + t * ldx, W.cols, Kp, buf + t * Kp, D::factor, srow, W.block);
      const int64_t n = end - i;
      float* yi = y + i;
      switch (T) {
        case 1: xwt_fused_range<D, 4, 1>(L, W, r, n, xp, ldp, yi, ldy, x, ldx); break;
        case 2: xwt_fused_range<D, 4, 2>(L, W, r, n, xp, ldp, yi, ldy, x, ldx); break;
        case 3: xwt_fused_range<D, 4, 3>(L, W, r, n, xp, ldp, yi, ldy, x, ldx); break;
        default: xwt_fused_range<D, 3, 4>(L, W, r, n, xp, ldp, yi, ldy, x, ldx); break;
      }
      i = end;
    }
  }, pool_grain(L.row_bytes, T, 16));
}

// ---------------------------------------------------------------------------
// Tiled (T >= 5): decode R x kc into L1, then 4 x 3 register tiles over it.

constexpr int64_t kKc = 512;                // columns per decoded chunk (a multiple of every G)
constexpr int64_t kTileRows = 4, kTileTokens = 3;
constexpr int64_t kXBlockBytes = 256 << 10; // the x block (tokens x panel columns) kept in L2

// out[(g - g0) G + j] = the real value of element perm(j) of group g of row r, g in [g0, g1).
template <class D>
void decode_chunk(const Layout<D>& L, const MatrixView& W, int64_t r, int64_t g0, int64_t g1, float* out) {
  const uint8_t* row = L.row(r);
  const float* srow = W.scale_inv ? W.scale_inv + (r / W.block) * W.scale_cols() : nullptr;
  const int64_t gpb = srow ? W.block / D::G : 1;  // groups per scale block
  __m256i nan = _mm256_setzero_si256();
  for (int64_t g = g0; g < g1; ++g) {
    __m256 wv[D::V];
    if (g < L.full) D::decode(row + g * D::kBytes, wv, nan);
    else decode_tail<D>(row + g * D::kBytes, L.tail_bytes, wv, nan);
    if (D::factor != 1.0f || srow) {
      const __m256 s = _mm256_set1_ps(D::factor * (srow ? srow[g / gpb] : 1.0f));
      for (int v = 0; v < D::V; ++v) wv[v] = _mm256_mul_ps(wv[v], s);
    }
    for (int v = 0; v < D::V; ++v) _mm256_storeu_ps(out + (g - g0) * D::G + 8 * v, wv[v]);
  }
  if constexpr (D::can_hide_nan) {
    if (D::has_nan(nan)) {  // exact decode (the table) for this chunk
      for (int64_t g = g0; g < g1; ++g)
        for (int j = 0; j < D::G; ++j) {
          const int64_t c = g * D::G + D::perm(j);
          out[(g - g0) * D::G + j] = c < L.K ? W.at(r, c) : 0.0f;
        }
    }
  }
}

// y[t, r] (+)= sum_k w[r, k] x[t, k] for an R x TT tile; n a multiple of 8.
template <int R, int TT>
void xwt_micro(const float* w, int64_t ldw, const float* xp, int64_t ldp, int64_t n, float* y, int64_t ldy,
               bool accumulate) {
  __m256 acc[R][TT];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t k = 0; k < n; k += 8) {
    __m256 xv[TT];
#pragma GCC unroll 3
    for (int t = 0; t < TT; ++t) xv[t] = _mm256_loadu_ps(xp + t * ldp + k);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 wv = _mm256_loadu_ps(w + r * ldw + k);
#pragma GCC unroll 3
      for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  for (int t = 0; t < TT; ++t) {
    float* yt = y + t * ldy;
    if constexpr (R == 4) {
      __m128 s = hsum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
      if (accumulate) s = _mm_add_ps(s, _mm_loadu_ps(yt));
      _mm_storeu_ps(yt, s);
    } else {
      for (int r = 0; r < R; ++r) yt[r] = hsum(acc[r][t]) + (accumulate ? yt[r] : 0.0f);
    }
  }
}

using MicroFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, bool);
constexpr MicroFn kMicro[4][3] = {
    {xwt_micro<1, 1>, xwt_micro<1, 2>, xwt_micro<1, 3>},
    {xwt_micro<2, 1>, xwt_micro<2, 2>, xwt_micro<2, 3>},
    {xwt_micro<3, 1>, xwt_micro<3, 2>, xwt_micro<3, 3>},
    {xwt_micro<4, 1>, xwt_micro<4, 2>, xwt_micro<4, 3>},
};

template <class D>
void xwt_tiled(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
               ThreadPool& pool) {
  const Layout<D> L(W);
  const int64_t Kp = round_up(W.cols, D::G);
  const int64_t kc = std::min(kKc, Kp);
  // x in the decoders' order, once for all threads (unscaled: the decode applies
  // the scales); x itself when that is its own order and no group is partial.
  const float* xp = x;
  int64_t ldp = ldx;
  if (!identity_perm<D>() || Kp != W.cols) {
    float* buf = scratch_x(T * Kp);
    pool.parallel_for(T, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) permute_x<D>(x + t * ldx, W.cols, Kp, buf + t * Kp, 1.0f, nullptr, 0);
    });
    xp = buf;
    ldp = Kp;
  }
  // Blocking: a token block of mc tokens x a panel of kp columns of x stays in L2
  // while every row block of the thread passes over it (decoded kc columns at a
  // time). Few tokens: all of them, and panels as wide as fit; many: panels of kc.
  const int64_t fit = kXBlockBytes / int64_t(sizeof(float));
  const int64_t mc = T * kc <= fit ? T : std::max<int64_t>(kTileTokens, fit / kc / kTileTokens * kTileTokens);
  const int64_t kp = std::min(Kp, std::max(kc, fit / mc / kc * kc));

  const bool direct = D::dtype == DType::F32 && !W.scale_inv && Kp == W.cols;
  pool.parallel_for(rows.count, [&](int64_t b, int64_t e, int) {
    float* ws = scratch_w(kTileRows * kc);
    // Into L2, the weights of a block to come (its decode would otherwise wait on
    // memory: short strided row pieces are what hardware prefetchers miss).
    auto prefetch = [&](int64_t i0, int64_t k0) {
      if (i0 >= e || k0 >= Kp) return;
      const int64_t from = k0 / D::G * D::kBytes, to = std::min(Kp, k0 + kc) / D::G * D::kBytes;
      for (int64_t r = i0; r < std::min(e, i0 + kTileRows); ++r) {
        const char* row = reinterpret_cast<const char*>(L.row(rows.begin + r));
        for (int64_t o = from; o < to; o += 64) _mm_prefetch(row + o, _MM_HINT_T1);
      }
    };
    // Rows [i0, i0 + nr) (relative to rows.begin), columns [k0, k0 + kc), tokens [t0, t1).
    auto block = [&](int64_t i0, int64_t k0, int64_t t0, int64_t t1) {
      const int64_t nr = std::min(kTileRows, e - i0), n = std::min(kc, Kp - k0);
      const float* w = ws;
      int64_t ldw = kc;
      if (direct) {  // plain fp32 rows: nothing to decode
        w = reinterpret_cast<const float*>(L.row(rows.begin + i0)) + k0;
        ldw = W.cols;
      } else {
        for (int64_t r = 0; r < nr; ++r)
          decode_chunk<D>(L, W, rows.begin + i0 + r, k0 / D::G, (k0 + n) / D::G, ws + r * kc);
      }
      for (int64_t t = t0; t < t1;) {
        // 3 tokens a tile; 4 left: 2 + 2 (a 1-token tile has too few FMA chains)
        const int64_t tt = t1 - t == 4 ? 2 : std::min(kTileTokens, t1 - t);
        kMicro[nr - 1][tt - 1](w, ldw, xp + t * ldp + k0, ldp, n, y + t * ldy + i0, ldy, k0 > 0);
        t += tt;
      }
    };
    for (int64_t t0 = 0; t0 < T; t0 += mc)
      for (int64_t p0 = 0; p0 < Kp; p0 += kp) {
        const int64_t p1 = std::min(Kp, p0 + kp);
        for (int64_t i0 = b; i0 < e; i0 += kTileRows)
          for (int64_t k0 = p0; k0 < p1; k0 += kc) {
            if (k0 + kc < p1) prefetch(i0, k0 + kc);
            else prefetch(i0 + kTileRows, p0);
            block(i0, k0, t0, std::min(T, t0 + mc));
          }
      }
  }, pool_grain(L.row_bytes, T, 16));
}

template <class D>
void xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
         ThreadPool& pool) {
  if constexpr (D::dtype == DType::Q8_0 || D::dtype == DType::Q4_0)
    if (matmul_xwt_int8(y, ldy, x, ldx, T, W, rows, pool)) return;
  if constexpr (D::dtype == DType::F8_E4M3 || D::dtype == DType::BF16)
    if (dpbf16_enabled() && matmul_xwt_dpbf16(y, ldy, x, ldx, T, W, rows, pool)) return;
  if (T <= 4) xwt_fused<D>(y, ldy, x, ldx, T, W, rows, pool);
  else xwt_tiled<D>(y, ldy, x, ldx, T, W, rows, pool);
}

}  // namespace

bool matmul_supports(const MatrixView& W) {
  switch (W.dtype) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::F8_E4M3: case DType::Q8_0: case DType::Q4_0: break;
    default: return false;
  }
  return !W.scale_inv || (W.block > 0 && W.block % 32 == 0);
}

void matmul_xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W, RowRange rows,
                ThreadPool& pool) {
  switch (W.dtype) {
    case DType::F32: return xwt<DecodeF32>(y, ldy, x, ldx, T, W, rows, pool);
    case DType::F16: return xwt<DecodeF16>(y, ldy, x, ldx, T, W, rows, pool);
    case DType::BF16: return xwt<DecodeBF16>(y, ldy, x, ldx, T, W, rows, pool);
    case DType::F8_E4M3: return xwt<DecodeE4M3>(y, ldy, x, ldx, T, W, rows, pool);
    case DType::Q8_0: return xwt<DecodeQ8_0>(y, ldy, x, ldx, T, W, rows, pool);
    case DType::Q4_0: return xwt<DecodeQ4_0>(y, ldy, x, ldx, T, W, rows, pool);
    default: FRUGAL_CHECK(false, "matmul_xwt: no AVX2 decoder for {}", dtype_name(W.dtype));
  }
}

}  // namespace frugal::avx2
