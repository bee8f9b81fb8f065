// Plain fp32 matrix products on strided row-major operands, for activations times
// activations (attention's scores and weighted sums), where no weight format is
// involved. Single-threaded: called inside a pool task. OpenBLAS runs them; with
// FRUGAL_KERNELS=ref, loops summing in double.
#pragma once

#include <cstdint>

namespace frugal {

// C[M, N] = alpha A[M, K] B[N, K]^T + beta C      (beta = 0: C is not read)
void gemm_f32_nt(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc);
// C[M, N] = alpha A[M, K] B[K, N] + beta C        (beta = 0: C is not read)
void gemm_f32_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace frugal
