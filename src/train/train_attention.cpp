// Legend: see train_attention.h.
#include "train/train_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/rope.h"
#include "train/scratch.h"

namespace frugal::train {

namespace {

struct Dims {
  int64_t B, T, N, d, H, dn, dr, dv, dq, dkv, r_q, r_kv, half;
  explicit Dims(const MlaShape& s)
      : B(s.B), T(s.T), N(s.B * s.T), d(s.cfg.hidden_size), H(s.cfg.num_attention_heads),
        dn(s.cfg.qk_nope_head_dim), dr(s.cfg.qk_rope_head_dim), dv(s.cfg.v_head_dim), dq(dn + dr), dkv(dn + dv),
        r_q(s.cfg.q_lora_rank), r_kv(s.cfg.kv_lora_rank), half(dr / 2) {}
};

// K_h of row b: [T, dq] = [k_nope_h | k_pe], gathered contiguous for the GEMMs.
template <typename S>
void gather_k(const Dims& D, const S* kv, const S* k_pe, int64_t b, int64_t h, S* K) {
  for (int64_t j = 0; j < D.T; ++j) {
    const int64_t n = b * D.T + j;
    std::copy_n(kv + n * D.H * D.dkv + h * D.dkv, D.dn, K + j * D.dq);
    std::copy_n(k_pe + n * D.dr, D.dr, K + j * D.dq + D.dn);
  }
}

// Query blocks [t0, t1) of the causal attention: block rows only see keys
// [0, t1), so the products skip most of the masked upper triangle.
constexpr int64_t kQueryBlock = 64;
template <typename Fn>
void causal_blocks(int64_t T, const Fn& fn) {
  for (int64_t t0 = 0; t0 < T; t0 += kQueryBlock) fn(t0, std::min(T, t0 + kQueryBlock));
}

// o_proj's input: power-of-2 scales in V3's storage recipe (Sec. 3.3.3).
Fp8LinearScales o_proj_scales(GemmPrecision p) {
  return {.x = fp8_storage(p) ? Fp8Scale::Pow2 : Fp8Scale::Amax};
}

}  // namespace

template <typename S>
void rope_tables(const ModelConfig& c, int64_t T, std::vector<S>& cos, std::vector<S>& sin) {
  const RopeTable rope(c);
  const int64_t half = rope.n_pairs();
  std::vector<float> cf(static_cast<size_t>(half)), sf(static_cast<size_t>(half));
  cos.resize(size_t(T * half));
  sin.resize(size_t(T * half));
  for (int64_t t = 0; t < T; ++t) {
    rope.angles(t, cf.data(), sf.data());  // fp32 angles, as inference and the reference compute them
    std::copy(cf.begin(), cf.end(), cos.begin() + t * half);
    std::copy(sf.begin(), sf.end(), sin.begin() + t * half);
  }
}

template <typename S>
void mla_fwd(const MlaShape& sh, const TLayer<S>& w, const std::vector<S>& cos, const std::vector<S>& sin, const S* x,
             S* y, MlaActs<S>& a, ThreadPool& pool) {
  const Dims D(sh);
  const GemmPrecision p = sh.precision;
  const int64_t N = D.N, dlat = D.r_kv + D.dr;
  const double eps = sh.cfg.rms_norm_eps;
  const S scale = S(sh.cfg.softmax_scale());

  // q = q_b(RMSNorm(q_a(x))) or q_proj(x)                                [N, H*dq]
  sized(a.q, N * D.H * D.dq);
  if (D.r_q > 0) {
    linear_fwd(p, &pool, sized(a.q_a, N * D.r_q).data(), x, w.q_a_proj.w, N, D.d, D.r_q);    // [N, r_q]
    rmsnorm_fwd(sized(a.q_a_n, N * D.r_q).data(), D.r_q, sized(a.q_a_rstd, N).data(), a.q_a.data(), D.r_q,
                w.q_a_layernorm.w, N, D.r_q, eps, &pool);
    linear_fwd(p, &pool, a.q.data(), a.q_a_n.data(), w.q_b_proj.w, N, D.r_q, D.H * D.dq);
  } else {
    linear_fwd(p, &pool, a.q.data(), x, w.q_proj.w, N, D.d, D.H * D.dq);
  }
  rope_apply(a.q.data() + D.dn, D.H * D.dq, N, D.T, D.H, D.dq, cos.data(), sin.data(), D.half, false);
  // [c_kv | k_pe] = kv_a(x); c_kv = RMSNorm(c_kv); k_pe = RoPE(k_pe)      [N, r_kv + dr]
  linear_fwd(p, &pool, sized(a.kv_a, N * dlat).data(), x, w.kv_a_proj_with_mqa.w, N, D.d, dlat);
  rmsnorm_fwd(sized(a.c_kv, N * D.r_kv).data(), D.r_kv, sized(a.kv_rstd, N).data(), a.kv_a.data(), dlat,
              w.kv_a_layernorm.w, N, D.r_kv, eps, &pool);
  sized(a.k_pe, N * D.dr);
  for (int64_t n = 0; n < N; ++n) std::copy_n(a.kv_a.data() + n * dlat + D.r_kv, D.dr, a.k_pe.data() + n * D.dr);
  rope_apply(a.k_pe.data(), D.dr, N, D.T, 1, 0, cos.data(), sin.data(), D.half, false);
  // [k_nope | v]_h = kv_b(c_kv)                                            [N, H*(dn+dv)]
  linear_fwd(p, &pool, sized(a.kv, N * D.H * D.dkv).data(), a.c_kv.data(), w.kv_b_proj.w, N, D.r_kv, D.H * D.dkv);

  // Per (row, head): P = softmax(scale Q K^T + causal mask), O = P V      (fp32 core)
  sized(a.probs, D.B * D.H * D.T * D.T);
  sized(a.attn, N * D.H * D.dv);
  pool.parallel_for(D.B * D.H, [&](int64_t i0, int64_t i1, int) {
    thread_local std::vector<S> K;
    sized(K, D.T * D.dq);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / D.H, h = i % D.H;
      gather_k(D, a.kv.data(), a.k_pe.data(), b, h, K.data());
      S* P = a.probs.data() + i * D.T * D.T;
      const S* Q = a.q.data() + b * D.T * D.H * D.dq + h * D.dq;
      const int64_t ldq = D.H * D.dq, ldv = D.H * D.dkv, ldo = D.H * D.dv;
      causal_blocks(D.T, [&](int64_t t0, int64_t t1) {  // S = Q K^T                       [T, T]
        gemm<S>(nullptr, false, true, t1 - t0, t1, D.dq, Q + t0 * ldq, ldq, K.data(), D.dq, S(0), P + t0 * D.T, D.T);
      });
      for (int64_t t = 0; t < D.T; ++t) {
        S* row = P + t * D.T;
        S mx = -std::numeric_limits<S>::infinity();
        for (int64_t j = 0; j <= t; ++j) mx = std::max(mx, row[j] *= scale);
        const S sum = S(exp_shift_sum(row, t + 1, mx, /*store=*/true));
        for (int64_t j = 0; j <= t; ++j) row[j] /= sum;
        std::fill(row + t + 1, row + D.T, S(0));  // causal
      }
      const S* V = a.kv.data() + b * D.T * ldv + h * D.dkv + D.dn;
      S* O = a.attn.data() + b * D.T * ldo + h * D.dv;
      causal_blocks(D.T, [&](int64_t t0, int64_t t1) {  // O = P V                           [T, dv]
        gemm<S>(nullptr, false, false, t1 - t0, D.dv, t1, P + t0 * D.T, D.T, V, ldv, S(0), O + t0 * ldo, ldo);
      });
    }
  });
  // y = o_proj(concat_h O_h)                                              [N, d]
  linear_fwd(p, &pool, y, a.attn.data(), w.o_proj.w, N, D.H * D.dv, D.d, o_proj_scales(p));
  // V3 caches this activation for the backward (o_proj's weight gradient and the
  // attention backward) in E5M6, 1x128 tiles with power-of-2 scales (Sec. 3.3.3).
  if (fp8_storage(p))
    fp8_store(pool, a.attn.data(), N, D.H * D.dv, {.tile = kFp8ActivationTile, .format = Fp8Format::E5M6,
                                                   .scale = Fp8Scale::Pow2});
}

template <typename S>
void mla_bwd(const MlaShape& sh, const TLayer<S>& w, const std::vector<S>& cos, const std::vector<S>& sin, const S* x,
             const S* dy, S* dx, MlaActs<S>& a, ThreadPool& pool) {
  const Dims D(sh);
  const GemmPrecision p = sh.precision;
  const int64_t N = D.N, dlat = D.r_kv + D.dr;
  const S scale = S(sh.cfg.softmax_scale());

  Scratch<S> dattn(N * D.H * D.dv, Scratch<S>::kZero);
  linear_bwd(p, &pool, dattn.data(), w.o_proj.g, dy, a.attn.data(), w.o_proj.w, N, D.H * D.dv, D.d, o_proj_scales(p));
  // Under V3's storage the softmax backward's row sums come from the cached
  // (E5M6) O as FlashAttention computes them, sum_j P dP = dO . O; otherwise from P.
  const bool sum_from_o = fp8_storage(p);

  // Attention core, per (row, head). k_pe is shared by the heads: each head
  // writes its part of dk_pe apart, summed below (no race).
  Scratch<S> dq(N * D.H * D.dq, Scratch<S>::kZero), dkv(N * D.H * D.dkv, Scratch<S>::kZero);
  Scratch<S> dkpe_h(D.B * D.H * D.T * D.dr, Scratch<S>::kUninitialized);  // written in full
  pool.parallel_for(D.B * D.H, [&](int64_t i0, int64_t i1, int) {
    thread_local std::vector<S> K, dS, dK;
    sized(K, D.T * D.dq);
    sized(dS, D.T * D.T);
    sized(dK, D.T * D.dq);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / D.H, h = i % D.H;
      gather_k(D, a.kv.data(), a.k_pe.data(), b, h, K.data());
      const S* P = a.probs.data() + i * D.T * D.T;
      const S* Q = a.q.data() + b * D.T * D.H * D.dq + h * D.dq;
      const S* V = a.kv.data() + b * D.T * D.H * D.dkv + h * D.dkv + D.dn;
      const S* dO = dattn.data() + b * D.T * D.H * D.dv + h * D.dv;
      S* dV = dkv.data() + b * D.T * D.H * D.dkv + h * D.dkv + D.dn;
      const int64_t ldq = D.H * D.dq, ldv = D.H * D.dkv, ldo = D.H * D.dv;
      causal_blocks(D.T, [&](int64_t t0, int64_t t1) {
        // dP = dO V^T;  dV += P^T dO
        gemm<S>(nullptr, false, true, t1 - t0, t1, D.dv, dO + t0 * ldo, ldo, V, ldv, S(0), dS.data() + t0 * D.T, D.T);
        gemm<S>(nullptr, true, false, t1, D.dv, t1 - t0, P + t0 * D.T, D.T, dO + t0 * ldo, ldo, S(1), dV, ldv);
      });
      // Softmax backward: dS = P (dP - sum_j P dP) * scale
      const S* O = a.attn.data() + b * D.T * ldo + h * D.dv;
      for (int64_t t = 0; t < D.T; ++t) {
        const S* pr = P + t * D.T;
        S* dr = dS.data() + t * D.T;
        S s = 0;
        if (sum_from_o)
          for (int64_t c = 0; c < D.dv; ++c) s += dO[t * ldo + c] * O[t * ldo + c];
        else
          for (int64_t j = 0; j <= t; ++j) s += pr[j] * dr[j];
        for (int64_t j = 0; j <= t; ++j) dr[j] = pr[j] * (dr[j] - s) * scale;
        std::fill(dr + t + 1, dr + D.T, S(0));
      }
      S* dQ = dq.data() + b * D.T * ldq + h * D.dq;
      std::fill(dK.begin(), dK.end(), S(0));
      causal_blocks(D.T, [&](int64_t t0, int64_t t1) {
        // dQ += dS K;  dK += dS^T Q
        gemm<S>(nullptr, false, false, t1 - t0, D.dq, t1, dS.data() + t0 * D.T, D.T, K.data(), D.dq, S(1),
                dQ + t0 * ldq, ldq);
        gemm<S>(nullptr, true, false, t1, D.dq, t1 - t0, dS.data() + t0 * D.T, D.T, Q + t0 * ldq, ldq, S(1), dK.data(),
                D.dq);
      });
      for (int64_t j = 0; j < D.T; ++j) {
        S* dkn = dkv.data() + (b * D.T + j) * D.H * D.dkv + h * D.dkv;
        for (int64_t c = 0; c < D.dn; ++c) dkn[c] += dK[size_t(j * D.dq + c)];
        std::copy_n(dK.data() + j * D.dq + D.dn, D.dr, dkpe_h.data() + (i * D.T + j) * D.dr);
      }
    }
  });

  // d[c_kv | k_pe] (pre-norm, pre-RoPE)                                    [N, r_kv + dr]
  Scratch<S> dkv_a(N * dlat, Scratch<S>::kZero), dc_kv(N * D.r_kv, Scratch<S>::kZero);
  for (int64_t b = 0; b < D.B; ++b)
    for (int64_t h = 0; h < D.H; ++h)
      for (int64_t t = 0; t < D.T; ++t) {
        const S* src = dkpe_h.data() + ((b * D.H + h) * D.T + t) * D.dr;
        S* dst = dkv_a.data() + (b * D.T + t) * dlat + D.r_kv;
        for (int64_t c = 0; c < D.dr; ++c) dst[c] += src[c];
      }
  rope_apply(dkv_a.data() + D.r_kv, dlat, N, D.T, 1, 0, cos.data(), sin.data(), D.half, true);
  linear_bwd(p, &pool, dc_kv.data(), w.kv_b_proj.g, dkv.data(), a.c_kv.data(), w.kv_b_proj.w, N, D.r_kv,
             D.H * D.dkv);
  rmsnorm_bwd(dkv_a.data(), dlat, w.kv_a_layernorm.g, dc_kv.data(), D.r_kv, a.kv_a.data(), dlat, a.kv_rstd.data(),
              w.kv_a_layernorm.w, N, D.r_kv, &pool);
  linear_bwd(p, &pool, dx, w.kv_a_proj_with_mqa.g, dkv_a.data(), x, w.kv_a_proj_with_mqa.w, N, D.d, dlat);

  // dq: un-rotate q_pe, then back through q_b / q_a_layernorm / q_a or q_proj
  rope_apply(dq.data() + D.dn, D.H * D.dq, N, D.T, D.H, D.dq, cos.data(), sin.data(), D.half, true);
  if (D.r_q > 0) {
    Scratch<S> dq_a_n(N * D.r_q, Scratch<S>::kZero), dq_a(N * D.r_q, Scratch<S>::kZero);
    linear_bwd(p, &pool, dq_a_n.data(), w.q_b_proj.g, dq.data(), a.q_a_n.data(), w.q_b_proj.w, N, D.r_q,
               D.H * D.dq);
    rmsnorm_bwd(dq_a.data(), D.r_q, w.q_a_layernorm.g, dq_a_n.data(), D.r_q, a.q_a.data(), D.r_q, a.q_a_rstd.data(),
                w.q_a_layernorm.w, N, D.r_q, &pool);
    linear_bwd(p, &pool, dx, w.q_a_proj.g, dq_a.data(), x, w.q_a_proj.w, N, D.d, D.r_q);
  } else {
    linear_bwd(p, &pool, dx, w.q_proj.g, dq.data(), x, w.q_proj.w, N, D.d, D.H * D.dq);
  }
}

#define FRUGAL_TRAIN_MLA(S)                                                                                       \
  template void rope_tables<S>(const ModelConfig&, int64_t, std::vector<S>&, std::vector<S>&);                    \
  template void mla_fwd<S>(const MlaShape&, const TLayer<S>&, const std::vector<S>&, const std::vector<S>&,       \
                           const S*, S*, MlaActs<S>&, ThreadPool&);                                               \
  template void mla_bwd<S>(const MlaShape&, const TLayer<S>&, const std::vector<S>&, const std::vector<S>&,       \
                           const S*, const S*, S*, MlaActs<S>&, ThreadPool&);
FRUGAL_TRAIN_MLA(float)
FRUGAL_TRAIN_MLA(double)

}  // namespace frugal::train
