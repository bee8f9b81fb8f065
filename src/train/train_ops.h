// The small ops of the training forward and backward, templated on the scalar
// type S (float for training, double for the finite-difference checks, which
// need ~1e-7 relative accuracy that float cannot give). Backward functions are
// the forward read bottom-up and ACCUMULATE (+=) into input and weight
// gradients (CONVENTIONS.md, llm.c gpt2_backward).
//
// Legend: N rows (B x T tokens), C channels, `ld*` row strides in elements.
// GEMMs go to OpenBLAS (cblas_sgemm / cblas_dgemm), split over rows of the
// output on the pool, one BLAS thread per pool thread (kernels_init sets
// OpenBLAS to 1 thread: DESIGN.md, never two pools fighting).
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/fp8_linear.h"

namespace frugal::train {

// v resized to n elements (activations are reused across steps), returned for chaining.
template <typename T>
std::vector<T>& sized(std::vector<T>& v, int64_t n) {
  v.resize(size_t(n));
  return v;
}

// How the three GEMMs of a Linear are computed (V3 report Sec. 3.3).
enum class GemmPrecision {
  F32,  // plain fp32 (double in the FD instantiation)
  // V3's recipe: the GEMMs in fine-grained E4M3 (kernels/fp8_linear.h, Sec.
  // 3.3.2) and its low-precision activation storage (Sec. 3.3.3): the o_proj
  // input cached in E5M6 with power-of-2 scales, the MoE experts' SwiGLU inputs
  // cached in E4M3 (the SwiGLU recomputed in the backward), power-of-2 scales on
  // the routed experts' dispatched input and output gradient. float only.
  FP8,
  FP8GemmOnly,  // the FP8 GEMMs alone, every cached activation fp32 (ablation)
};
inline bool is_fp8(GemmPrecision p) { return p != GemmPrecision::F32; }
// V3's low-precision storage (Sec. 3.3.3) on top of the FP8 GEMMs.
inline bool fp8_storage(GemmPrecision p) { return p == GemmPrecision::FP8; }

// C[M, Nc] = op(A) op(B) + beta C, op = transpose when ta / tb. Split over the
// M rows of C on `pool` (nullptr: the calling thread only).
template <typename S>
void gemm(ThreadPool* pool, bool ta, bool tb, int64_t M, int64_t Nc, int64_t K, const S* A, int64_t lda, const S* B,
          int64_t ldb, S beta, S* C, int64_t ldc);

// A Linear without bias: Y [N, out] = X [N, in] W^T, W [out, in]. `sc`: the
// FP8 scale rules of X and dY (ignored in F32).
template <typename S>
void linear_fwd(GemmPrecision p, ThreadPool* pool, S* Y, const S* X, const S* W, int64_t N, int64_t in,
                int64_t out, Fp8LinearScales sc = {});
// dX [N, in] += dY W (skipped when dX is null);  dW [out, in] += dY^T X.
template <typename S>
void linear_bwd(GemmPrecision p, ThreadPool* pool, S* dX, S* dW, const S* dY, const S* X, const S* W, int64_t N,
                int64_t in, int64_t out, Fp8LinearScales sc = {});

// x [M, K] replaced in place by its fake quantization (kernels/fp8_quant.h):
// what V3 caches for the backward (Sec. 3.3.3). float only.
template <typename S>
void fp8_store(ThreadPool& pool, S* x, int64_t M, int64_t K, const Fp8Quant& q);

// y = x / sqrt(mean(x^2) + eps) * w per row; rstd[n] = 1 / sqrt(mean(x^2) + eps).
// Rows are split over `pool` when given.
template <typename S>
void rmsnorm_fwd(S* y, int64_t ldy, S* rstd, const S* x, int64_t ldx, const S* w, int64_t N, int64_t C, double eps,
                 ThreadPool* pool = nullptr);
// dx += rstd (dy w) - x rstd^3 / C sum(dy w x);  dw += sum_n dy x rstd.
template <typename S>
void rmsnorm_bwd(S* dx, int64_t lddx, S* dw, const S* dy, int64_t lddy, const S* x, int64_t ldx, const S* rstd,
                 const S* w, int64_t N, int64_t C, ThreadPool* pool = nullptr);

// Interleaved RoPE (spec "RoPE and YaRN"): pairs (2i, 2i+1) of `heads` vectors
// per row, at x + n * ld + h * head_stride, rotated by the angles of position
// n % T (packed rows restart at 0). cos / sin: [T, n_pairs], YaRN mscale
// included. inverse: the transpose rotation, i.e. the backward of the forward.
template <typename S>
void rope_apply(S* x, int64_t ld, int64_t N, int64_t T, int64_t heads, int64_t head_stride, const S* cos,
                const S* sin, int64_t n_pairs, bool inverse);

// x[i] = exp(x[i] - shift) when store; returns sum_i exp(x[i] - shift), summed in
// double (float: train_rows.h's AVX2 row where rows_fast()). The softmax of the
// cross-entropy and of the attention core.
template <typename S>
double exp_shift_sum(S* x, int64_t n, S shift, bool store);

// SwiGLU pieces: a = silu(g) * u;  dg = da u silu'(g), du = da silu(g) (written, not accumulated).
template <typename S>
void swiglu_fwd(S* a, const S* g, const S* u, int64_t n, ThreadPool* pool = nullptr);
template <typename S>
void swiglu_bwd(S* dg, S* du, const S* da, const S* g, const S* u, int64_t n, ThreadPool* pool = nullptr);

// fn(begin, end, thread) over [0, n) on the pool, or on the caller when pool is
// null or n is below `serial_below`.
template <typename Fn>
void for_range(ThreadPool* pool, int64_t n, int64_t serial_below, const Fn& fn) {
  if (!pool || pool->size() <= 1 || n < serial_below) return fn(int64_t(0), n, 0);
  pool->parallel_for(n, fn);
}

}  // namespace frugal::train
