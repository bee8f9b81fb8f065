// Fast products. On AVX2/FMA/F16C CPUs: the kernels of matmul_*_avx2.cpp, which
// decode the weights in registers (see there). Elsewhere (and for what those do not
// cover: x W with T > 16, odd scale blocks), the generic path: rows of W are decoded
// a tile at a time into fp32 scratch owned by the calling thread, then multiplied
// with BLAS (one BLAS thread per pool thread); decode costs O(tile * cols) per tile,
// amortized over all T tokens.
#include "kernels/matmul.h"

#include <algorithm>
#include <cblas.h>
#include <vector>

#include "core/error.h"
#include "kernels/dispatch.h"
#include "kernels/matmul_avx2.h"

namespace frugal {

namespace {

constexpr int64_t kTileRows = 32;

std::vector<float>& thread_scratch(size_t n) {
  thread_local std::vector<float> scratch;
  if (scratch.size() < n) scratch.resize(n);
  return scratch;
}

// Pointer to fp32 rows [r0, r0 + n) of W: the stored data itself when W is plain
// f32, otherwise a decoded copy in `scratch`.
const float* rows_as_f32(const MatrixView& W, int64_t r0, int64_t n, std::vector<float>& scratch) {
  if (W.dtype == DType::F32 && !W.scale_inv) return static_cast<const float*>(W.data) + r0 * W.cols;
  for (int64_t i = 0; i < n; ++i) W.row_to_f32(r0 + i, scratch.data() + i * W.cols);
  return scratch.data();
}

bool use_avx2(const MatrixView& W) {
  static const bool avx2 = cpu_has_avx2_fma();
  return avx2 && avx2::matmul_supports(W);
}

}  // namespace

void matmul_check(const MatrixView& W, RowRange rows) {
  FRUGAL_CHECK(rows.begin >= 0 && rows.count >= 0 && rows.begin + rows.count <= W.rows, "rows [{}, +{}) of {}",
               rows.begin, rows.count, W.rows);
  FRUGAL_CHECK(W.cols % dtype_block_elems(W.dtype) == 0,
               "a {} matrix needs cols a multiple of its {}-value blocks, got [{}, {}]", dtype_name(W.dtype),
               dtype_block_elems(W.dtype), W.rows, W.cols);
  FRUGAL_CHECK(!W.scale_inv || W.block > 0, "block scales with block size {}", W.block);
}

void matmul_xwt_generic(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                        RowRange rows, ThreadPool& pool) {
  kernels_init();
  matmul_check(W, rows);
  if (T == 0 || rows.count == 0) return;
  const int64_t K = W.cols;
  pool.parallel_for(rows.count, [&](int64_t begin, int64_t end, int) {
    blas_single_thread_here();
    std::vector<float>& scratch = thread_scratch(size_t(kTileRows * K));
    for (int64_t i0 = begin; i0 < end; i0 += kTileRows) {
      const int64_t n = std::min(kTileRows, end - i0);
      const float* w = rows_as_f32(W, rows.begin + i0, n, scratch);
      if (T == 1) {
        for (int64_t i = 0; i < n; ++i) y[i0 + i] = K ? cblas_sdot(int(K), x, 1, w + i * K, 1) : 0.0f;
      } else if (K == 0) {
        for (int64_t t = 0; t < T; ++t) std::fill_n(y + t * ldy + i0, n, 0.0f);
      } else {  // y[:, i0:i0+n] = x [T, K] * w^T [K, n]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(T), int(n), int(K), 1.0f, x, int(ldx),
                    w, int(K), 0.0f, y + i0, int(ldy));
      }
    }
  }, kTileRows);
}

void matmul_xw_generic(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                       RowRange rows, ThreadPool& pool) {
  kernels_init();
  matmul_check(W, rows);
  if (T == 0 || W.cols == 0) return;
  if (rows.count == 0) {
    for (int64_t t = 0; t < T; ++t) std::fill_n(y + t * ldy, W.cols, 0.0f);
    return;
  }
  const int64_t K = W.cols;
  // Split the output columns; each thread decodes its column slice of every row.
  constexpr int64_t kColTile = 128;
  pool.parallel_for(K, [&](int64_t c0, int64_t c1, int) {
    blas_single_thread_here();
    const int64_t nc = c1 - c0;
    std::vector<float>& w = thread_scratch(size_t(rows.count * nc));
    for (int64_t i = 0; i < rows.count; ++i) W.row_to_f32(rows.begin + i, c0, nc, w.data() + i * nc);
    // y[:, c0:c1] = x [T, n] * w [n, nc]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(T), int(nc), int(rows.count), 1.0f, x,
                int(ldx), w.data(), int(nc), 0.0f, y + c0, int(ldy));
  }, kColTile);
}

void matmul_xwt_fast(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                     RowRange rows, ThreadPool& pool) {
  if (!use_avx2(W) || W.cols == 0) return matmul_xwt_generic(y, ldy, x, ldx, T, W, rows, pool);
  matmul_check(W, rows);
  if (T == 0 || rows.count == 0) return;
  avx2::matmul_xwt(y, ldy, x, ldx, T, W, rows, pool);
}

void matmul_xw_fast(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                    RowRange rows, ThreadPool& pool) {
  if (!use_avx2(W) || T > avx2::kXwMaxT || rows.count == 0 || W.cols == 0)
    return matmul_xw_generic(y, ldy, x, ldx, T, W, rows, pool);
  matmul_check(W, rows);
  if (T == 0) return;
  avx2::matmul_xw(y, ldy, x, ldx, T, W, rows, pool);
}

void matmul_xwt(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
                RowRange rows, ThreadPool& pool) {
  matmul_check(W, rows);
  if (kernel_impl() == KernelImpl::Ref) return matmul_xwt_ref(y, ldy, x, ldx, T, W, rows);
  matmul_xwt_fast(y, ldy, x, ldx, T, W, rows, pool);
}

void matmul_xw(float* y, int64_t ldy, const float* x, int64_t ldx, int64_t T, const MatrixView& W,
               RowRange rows, ThreadPool& pool) {
  matmul_check(W, rows);
  if (kernel_impl() == KernelImpl::Ref) return matmul_xw_ref(y, ldy, x, ldx, T, W, rows);
  matmul_xw_fast(y, ldy, x, ldx, T, W, rows, pool);
}

}  // namespace frugal
