// gemm_f32_nt / gemm_f32_nn against double sums written here, on odd shapes,
// strided operands, alpha / beta, K = 0, and a C full of NaN when beta = 0
// (it must not be read).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm_f32.h"

namespace frugal {
namespace {

struct Shape {
  int64_t M, N, K;
};

std::vector<float> random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void check(bool transposed_b, Shape s, float alpha, float beta, std::mt19937& rng) {
  const int64_t lda = s.K + 3, ldc = s.N + 2;
  const int64_t ldb = transposed_b ? s.K + 5 : s.N + 1;
  const int64_t b_rows = transposed_b ? s.N : s.K;
  const std::vector<float> A = random_vec(size_t(s.M * lda), rng), B = random_vec(size_t(b_rows * ldb), rng);
  std::vector<float> C = random_vec(size_t(s.M * ldc), rng);
  if (beta == 0.0f) std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> C0 = C;
  if (transposed_b) gemm_f32_nt(s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  else gemm_f32_nn(s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t n = 0; n < ldc; ++n) {
      const float got = C[size_t(m * ldc + n)];
      if (n >= s.N) {  // the stride's padding is left alone
        if (beta == 0.0f) EXPECT_TRUE(std::isnan(got));
        else EXPECT_EQ(got, C0[size_t(m * ldc + n)]);
        continue;
      }
      double sum = 0, mag = 0;
      for (int64_t k = 0; k < s.K; ++k) {
        const double b = transposed_b ? B[size_t(n * ldb + k)] : B[size_t(k * ldb + n)];
        sum += double(A[size_t(m * lda + k)]) * b;
        mag += std::fabs(double(A[size_t(m * lda + k)]) * b);
      }
      const double c0 = beta == 0.0f ? 0.0 : double(beta) * C0[size_t(m * ldc + n)];
      const double want = double(alpha) * sum + c0;
      // fp32 accumulation: at most K roundings of partial sums bounded by mag.
      const double tol = std::ldexp(double(s.K + 2), -23) * (std::fabs(alpha) * mag + std::fabs(c0)) + 1e-30;
      ASSERT_NEAR(got, want, tol) << (transposed_b ? "nt" : "nn") << " M=" << s.M << " N=" << s.N << " K=" << s.K
                                  << " at " << m << "," << n;
    }
}

TEST(GemmF32, MatchesDoubleSums) {
  std::mt19937 rng(11);
  for (bool nt : {true, false})
    for (Shape s : {Shape{1, 1, 1}, Shape{1, 7, 3}, Shape{5, 1, 17}, Shape{64, 513, 192}, Shape{33, 65, 128},
                    Shape{3, 4, 0}, Shape{17, 300, 64}})
      for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{0.125f, 1.0f}, std::pair{-2.0f, 0.5f}})
        check(nt, s, alpha, beta, rng);
}

}  // namespace
}  // namespace frugal
