#include "kernels/fp8_linear.h"

#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/fp8_quant.h"

namespace frugal {

namespace {

std::vector<float> fake_quant(const float* x, int64_t M, int64_t K, Fp8Tile tile, Fp8Scale scale, ThreadPool& pool) {
  std::vector<float> q(size_t(M * K));
  fp8_fake_quant(x, M, K, Fp8Quant{.tile = tile, .scale = scale}, q.data(), nullptr, pool);
  return q;
}

constexpr int64_t kRowGrain = 16;

}  // namespace

void fp8_linear_fwd(float* Y, const float* X, const float* W, int64_t T, int64_t K, int64_t N, ThreadPool& pool,
                    Fp8LinearScales sc) {
  kernels_init();
  if (T == 0 || N == 0) return;
  if (K == 0) {
    std::fill_n(Y, T * N, 0.0f);
    return;
  }
  const std::vector<float> xq = fake_quant(X, T, K, kFp8ActivationTile, sc.x, pool);
  const std::vector<float> wq = fake_quant(W, N, K, kFp8WeightTile, Fp8Scale::Amax, pool);
  pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {  // Y[t0:t1] = xq[t0:t1] wq^T
    blas_single_thread_here();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(t1 - t0), int(N), int(K), 1.0f, xq.data() + t0 * K,
                int(K), wq.data(), int(K), 0.0f, Y + t0 * N, int(N));
  }, kRowGrain);
}

void fp8_linear_bwd_input(float* dX, const float* dY, const float* W, int64_t T, int64_t K, int64_t N, GemmOut out,
                          ThreadPool& pool, Fp8LinearScales sc) {
  kernels_init();
  if (T == 0 || K == 0) return;
  const float beta = out == GemmOut::Accumulate ? 1.0f : 0.0f;
  if (N == 0) {
    if (out == GemmOut::Overwrite) std::fill_n(dX, T * K, 0.0f);
    return;
  }
  const std::vector<float> gq = fake_quant(dY, T, N, kFp8ActivationTile, sc.dy, pool);
  const std::vector<float> wq = fake_quant(W, N, K, kFp8WeightTile, Fp8Scale::Amax, pool);
  pool.parallel_for(T, [&](int64_t t0, int64_t t1, int) {  // dX[t0:t1] (+)= gq[t0:t1] wq
    blas_single_thread_here();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(t1 - t0), int(K), int(N), 1.0f, gq.data() + t0 * N,
                int(N), wq.data(), int(K), beta, dX + t0 * K, int(K));
  }, kRowGrain);
}

void fp8_linear_bwd_weight(float* dW, const float* dY, const float* X, int64_t T, int64_t K, int64_t N, GemmOut out,
                           ThreadPool& pool, Fp8LinearScales sc) {
  kernels_init();
  if (N == 0 || K == 0) return;
  const float beta = out == GemmOut::Accumulate ? 1.0f : 0.0f;
  if (T == 0) {
    if (out == GemmOut::Overwrite) std::fill_n(dW, N * K, 0.0f);
    return;
  }
  const std::vector<float> gq = fake_quant(dY, T, N, kFp8WeightGradTile, sc.dy, pool);
  const std::vector<float> xq = fake_quant(X, T, K, kFp8WeightGradTile, sc.x, pool);
  pool.parallel_for(N, [&](int64_t n0, int64_t n1, int) {  // dW[n0:n1] (+)= gq[:, n0:n1]^T xq
    blas_single_thread_here();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(n1 - n0), int(K), int(T), 1.0f, gq.data() + n0, int(N),
                xq.data(), int(K), beta, dW + n0 * K, int(K));
  }, kRowGrain);
}

}  // namespace frugal
