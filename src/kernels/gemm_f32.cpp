#include "kernels/gemm_f32.h"

#include <cblas.h>

#include "kernels/dispatch.h"

namespace frugal {

namespace {

// The reference: one double sum per C element. b_at(n, k) reads B[n, k] of B^T.
template <typename BAt>
void gemm_ref(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, BAt b_at, float beta,
              float* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(A[m * lda + k]) * double(b_at(n, k));
      float& c = C[m * ldc + n];
      c = float(double(alpha) * s + (beta == 0.0f ? 0.0 : double(beta) * double(c)));
    }
}

void clear_if_empty(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
}

}  // namespace

void gemm_f32_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (kernel_impl() == KernelImpl::Ref)
    return gemm_ref(M, N, K, alpha, A, lda, [&](int64_t n, int64_t k) { return B[n * ldb + k]; }, beta, C, ldc);
  if (K <= 0) return clear_if_empty(M, N, beta, C, ldc);  // BLAS may leave C alone for K = 0
  blas_single_thread_here();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta,
              C, int(ldc));
}

void gemm_f32_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (kernel_impl() == KernelImpl::Ref)
    return gemm_ref(M, N, K, alpha, A, lda, [&](int64_t n, int64_t k) { return B[k * ldb + n]; }, beta, C, ldc);
  if (K <= 0) return clear_if_empty(M, N, beta, C, ldc);
  blas_single_thread_here();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb),
              beta, C, int(ldc));
}

}  // namespace frugal
