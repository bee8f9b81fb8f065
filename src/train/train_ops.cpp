#include "train/train_ops.h"

#include <cblas.h>

#include <cmath>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/dispatch.h"
#include "kernels/fp8_linear.h"
#include "train/train_rows.h"

namespace frugal::train {

namespace {

void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              1.0f, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const double* A, int64_t lda, const double* B,
               int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              1.0, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

// Below this many multiply-adds a GEMM runs on the calling thread: waking the
// pool costs more than it saves.
constexpr int64_t kSerialFlops = 1 << 16;

}  // namespace

template <typename S>
void gemm(ThreadPool* pool, bool ta, bool tb, int64_t M, int64_t Nc, int64_t K, const S* A, int64_t lda, const S* B,
          int64_t ldb, S beta, S* C, int64_t ldc) {
  if (M <= 0 || Nc <= 0) return;
  if (K <= 0) {  // an empty sum: C = beta C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < Nc; ++j) C[i * ldc + j] = beta == S(0) ? S(0) : beta * C[i * ldc + j];
    return;
  }
  kernels_init();  // OpenBLAS single-threaded: the pool owns the cores
  auto rows = [&](int64_t i0, int64_t i1) {
    blas_single_thread_here();
    // Rows i0..i1 of op(A): row offset when A is stored [M, K], column offset when stored [K, M].
    const S* a = ta ? A + i0 : A + i0 * lda;
    blas_gemm(ta, tb, i1 - i0, Nc, K, a, lda, B, ldb, beta, C + i0 * ldc, ldc);
  };
  if (!pool || pool->size() <= 1 || M * Nc * K < kSerialFlops || M < 2) return rows(0, M);
  const int64_t grain = M >= 64 ? 16 : 1;
  pool->parallel_for(M, [&](int64_t b, int64_t e, int) { rows(b, e); }, grain);
}

// V3's FP8 recipe for the three GEMMs of a Linear (kernels/fp8_linear.h: E4M3
// fake quantization with 1x128 activation tiles, 128x128 weight blocks and
// 128x1 tiles for the weight-gradient GEMM). fp32 only: the double
// instantiation exists for finite differences of the exact math.
template <typename S>
bool use_fp8(GemmPrecision p, ThreadPool* pool) {
  if (!is_fp8(p)) return false;
  FRUGAL_CHECK((std::is_same_v<S, float>) && pool, "FP8 GEMMs need float and a pool");
  return true;
}

template <typename S>
void linear_fwd(GemmPrecision p, ThreadPool* pool, S* Y, const S* X, const S* W, int64_t N, int64_t in,
                int64_t out, Fp8LinearScales sc) {
  if constexpr (std::is_same_v<S, float>) {
    if (use_fp8<S>(p, pool)) return fp8_linear_fwd(Y, X, W, N, in, out, *pool, sc);
  }
  FRUGAL_CHECK(p == GemmPrecision::F32, "FP8 GEMMs need float");
  gemm<S>(pool, false, true, N, out, in, X, in, W, in, S(0), Y, out);  // Y = X W^T
}

template <typename S>
void linear_bwd(GemmPrecision p, ThreadPool* pool, S* dX, S* dW, const S* dY, const S* X, const S* W, int64_t N,
                int64_t in, int64_t out, Fp8LinearScales sc) {
  if constexpr (std::is_same_v<S, float>) {
    if (use_fp8<S>(p, pool)) {
      if (dX) fp8_linear_bwd_input(dX, dY, W, N, in, out, GemmOut::Accumulate, *pool, sc);
      fp8_linear_bwd_weight(dW, dY, X, N, in, out, GemmOut::Accumulate, *pool, sc);
      return;
    }
  }
  FRUGAL_CHECK(p == GemmPrecision::F32, "FP8 GEMMs need float");
  if (dX) gemm<S>(pool, false, false, N, in, out, dY, out, W, in, S(1), dX, in);  // dX += dY W
  gemm<S>(pool, true, false, out, in, N, dY, out, X, in, S(1), dW, in);           // dW += dY^T X
}

template <typename S>
void fp8_store(ThreadPool& pool, S* x, int64_t M, int64_t K, const Fp8Quant& q) {
  if constexpr (std::is_same_v<S, float>) {
    fp8_fake_quant(x, M, K, q, x, nullptr, pool);
  } else {
    FRUGAL_CHECK(false, "FP8 storage needs float");
  }
}

template <typename S>
void rmsnorm_fwd(S* y, int64_t ldy, S* rstd, const S* x, int64_t ldx, const S* w, int64_t N, int64_t C, double eps,
                 ThreadPool* pool) {
  if constexpr (std::is_same_v<S, float>) {
    if (rows::rows_fast()) {
      return for_range(pool, N, 64, [&](int64_t n0, int64_t n1, int) {
        for (int64_t n = n0; n < n1; ++n) {
          const float r = 1.0f / std::sqrt(rows::sum_squares(x + n * ldx, C) / float(C) + float(eps));
          rstd[n] = r;
          rows::scale_mul(y + n * ldy, x + n * ldx, r, w, C);
        }
      });
    }
  }
  for_range(pool, N, 64, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      const S* xr = x + n * ldx;
      S ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += xr[c] * xr[c];
      const S r = S(1) / std::sqrt(ss / S(C) + S(eps));
      rstd[n] = r;
      S* yr = y + n * ldy;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
    }
  });
}

template <typename S>
void rmsnorm_bwd(S* dx, int64_t lddx, S* dw, const S* dy, int64_t lddy, const S* x, int64_t ldx, const S* rstd,
                 const S* w, int64_t N, int64_t C, ThreadPool* pool) {
  // dw: one partial sum per thread, added in thread order (deterministic for a given pool size).
  const int n_parts = pool ? pool->size() : 1;
  std::vector<S> part(size_t(n_parts * C), S(0));
  const bool fast = std::is_same_v<S, float> && rows::rows_fast();
  for_range(pool, N, 64, [&](int64_t n0, int64_t n1, int t) {
    S* dwp = part.data() + t * C;
    for (int64_t n = n0; n < n1; ++n) {
      if constexpr (std::is_same_v<S, float>) {
        if (fast) {
          rows::rmsnorm_bwd_row(dx + n * lddx, dwp, dy + n * lddy, x + n * ldx, w, rstd[n], C);
          continue;
        }
      }
      const S* xr = x + n * ldx;
      const S* dyr = dy + n * lddy;
      S* dxr = dx + n * lddx;
      const S r = rstd[n];
      S dot = 0;  // sum_c dy w x
      for (int64_t c = 0; c < C; ++c) {
        dot += dyr[c] * w[c] * xr[c];
        dwp[c] += dyr[c] * xr[c] * r;
      }
      const S k = dot * r * r * r / S(C);
      for (int64_t c = 0; c < C; ++c) dxr[c] += r * dyr[c] * w[c] - k * xr[c];
    }
  });
  for (int t = 0; t < n_parts; ++t)
    for (int64_t c = 0; c < C; ++c) dw[c] += part[size_t(t * C + c)];
}

template <typename S>
void rope_apply(S* x, int64_t ld, int64_t N, int64_t T, int64_t heads, int64_t head_stride, const S* cos,
                const S* sin, int64_t n_pairs, bool inverse) {
  const S sign = inverse ? S(-1) : S(1);
  for (int64_t n = 0; n < N; ++n) {
    const S* c = cos + (n % T) * n_pairs;
    const S* s = sin + (n % T) * n_pairs;
    for (int64_t h = 0; h < heads; ++h) {
      S* v = x + n * ld + h * head_stride;
      for (int64_t i = 0; i < n_pairs; ++i) {
        const S a = v[2 * i], b = v[2 * i + 1], si = sign * s[i];
        v[2 * i] = a * c[i] - b * si;  // (a + ib)(c + is): the complex product
        v[2 * i + 1] = a * si + b * c[i];
      }
    }
  }
}

template <typename S>
double exp_shift_sum(S* x, int64_t n, S shift, bool store) {
  if constexpr (std::is_same_v<S, float>) {
    if (rows::rows_fast()) return rows::exp_shift_sum(x, n, shift, store);
  }
  double sum = 0;
  if (store) {
    for (int64_t i = 0; i < n; ++i) sum += double(x[i] = std::exp(x[i] - shift));
  } else {
    for (int64_t i = 0; i < n; ++i) sum += double(std::exp(x[i] - shift));
  }
  return sum;
}

template <typename S>
void swiglu_fwd(S* a, const S* g, const S* u, int64_t n, ThreadPool* pool) {
  if constexpr (std::is_same_v<S, float>) {
    if (rows::rows_fast())
      return for_range(pool, n, 1 << 14, [&](int64_t i0, int64_t i1, int) {
        rows::swiglu_fwd(a + i0, g + i0, u + i0, i1 - i0);
      });
  }
  for_range(pool, n, 1 << 14, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) a[i] = g[i] / (S(1) + std::exp(-g[i])) * u[i];
  });
}

template <typename S>
void swiglu_bwd(S* dg, S* du, const S* da, const S* g, const S* u, int64_t n, ThreadPool* pool) {
  if constexpr (std::is_same_v<S, float>) {
    if (rows::rows_fast())
      return for_range(pool, n, 1 << 14, [&](int64_t i0, int64_t i1, int) {
        rows::swiglu_bwd(dg + i0, du + i0, da + i0, g + i0, u + i0, i1 - i0);
      });
  }
  for_range(pool, n, 1 << 14, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const S sig = S(1) / (S(1) + std::exp(-g[i]));
      du[i] = da[i] * g[i] * sig;
      dg[i] = da[i] * u[i] * sig * (S(1) + g[i] * (S(1) - sig));  // silu'(g) = sig (1 + g (1 - sig))
    }
  });
}

#define FRUGAL_TRAIN_OPS(S)                                                                                      \
  template void gemm<S>(ThreadPool*, bool, bool, int64_t, int64_t, int64_t, const S*, int64_t, const S*, int64_t, \
                        S, S*, int64_t);                                                                          \
  template void linear_fwd<S>(GemmPrecision, ThreadPool*, S*, const S*, const S*, int64_t, int64_t, int64_t,    \
                              Fp8LinearScales);                                                                   \
  template void linear_bwd<S>(GemmPrecision, ThreadPool*, S*, S*, const S*, const S*, const S*, int64_t, int64_t, \
                              int64_t, Fp8LinearScales);                                                          \
  template void fp8_store<S>(ThreadPool&, S*, int64_t, int64_t, const Fp8Quant&);                                 \
  template void rmsnorm_fwd<S>(S*, int64_t, S*, const S*, int64_t, const S*, int64_t, int64_t, double,           \
                               ThreadPool*);                                                                      \
  template void rmsnorm_bwd<S>(S*, int64_t, S*, const S*, int64_t, const S*, int64_t, const S*, const S*, int64_t, \
                               int64_t, ThreadPool*);                                                             \
  template void rope_apply<S>(S*, int64_t, int64_t, int64_t, int64_t, int64_t, const S*, const S*, int64_t, bool); \
  template double exp_shift_sum<S>(S*, int64_t, S, bool);                                                       \
  template void swiglu_fwd<S>(S*, const S*, const S*, int64_t, ThreadPool*);                                      \
  template void swiglu_bwd<S>(S*, S*, const S*, const S*, const S*, int64_t, ThreadPool*);
FRUGAL_TRAIN_OPS(float)
FRUGAL_TRAIN_OPS(double)

}  // namespace frugal::train
