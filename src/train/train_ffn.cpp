// Legend: see train_ffn.h.
#include "train/train_ffn.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/router.h"
#include "train/scratch.h"

namespace frugal::train {

namespace {

template <typename S>
S dot(const S* a, const S* b, int64_t n) {
  S s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// V3's storage recipe (Sec. 3.3.3) for the experts of an MoE layer: every
// expert caches its SwiGLU inputs in FP8; the routed ones also receive their
// input and output gradient through FP8 dispatch with power-of-2 scales.
MlpFp8Storage shared_storage(GemmPrecision p) { return {.swiglu_inputs_fp8 = fp8_storage(p)}; }
MlpFp8Storage routed_storage(GemmPrecision p) {
  const Fp8Scale s = fp8_storage(p) ? Fp8Scale::Pow2 : Fp8Scale::Amax;
  return {.swiglu_inputs_fp8 = fp8_storage(p), .input = s, .output_grad = s};
}

}  // namespace

template <typename S>
void mlp_fwd(GemmPrecision p, ThreadPool* pool, const TMlp<S>& w, const S* x, int64_t n, S* y, MlpActs<S>& a,
             const MlpFp8Storage& st) {
  const int64_t d = w.gate_proj.in, I = w.gate_proj.out;
  linear_fwd(p, pool, sized(a.g, n * I).data(), x, w.gate_proj.w, n, d, I, {.x = st.input});  // [n, I]
  linear_fwd(p, pool, sized(a.u, n * I).data(), x, w.up_proj.w, n, d, I, {.x = st.input});    // [n, I]
  swiglu_fwd(sized(a.a, n * I).data(), a.g.data(), a.u.data(), n * I, pool);
  linear_fwd(p, pool, y, a.a.data(), w.down_proj.w, n, I, d);  // [n, d]
  if (st.swiglu_inputs_fp8 && n > 0) {  // what the backward will see of gate(x), up(x)
    FRUGAL_CHECK(pool, "FP8 storage needs a pool");
    fp8_store(*pool, a.g.data(), n, I, {.tile = kFp8ActivationTile});
    fp8_store(*pool, a.u.data(), n, I, {.tile = kFp8ActivationTile});
  }
}

template <typename S>
void mlp_bwd(GemmPrecision p, ThreadPool* pool, const TMlp<S>& w, const S* x, const S* dy, int64_t n, S* dx,
             MlpActs<S>& a, const MlpFp8Storage& st) {
  const int64_t d = w.gate_proj.in, I = w.gate_proj.out;
  Scratch<S> da(n * I, Scratch<S>::kZero), dg(n * I, Scratch<S>::kUninitialized), du(n * I, Scratch<S>::kUninitialized);
  // Recomputed from the cached FP8 inputs: down's weight gradient sees silu(Q(g)) Q(u).
  if (st.swiglu_inputs_fp8) swiglu_fwd(a.a.data(), a.g.data(), a.u.data(), n * I, pool);
  linear_bwd(p, pool, da.data(), w.down_proj.g, dy, a.a.data(), w.down_proj.w, n, I, d, {.dy = st.output_grad});
  swiglu_bwd(dg.data(), du.data(), da.data(), a.g.data(), a.u.data(), n * I, pool);
  linear_bwd(p, pool, dx, w.gate_proj.g, dg.data(), x, w.gate_proj.w, n, d, I, {.x = st.input});
  linear_bwd(p, pool, dx, w.up_proj.g, du.data(), x, w.up_proj.w, n, d, I, {.x = st.input});
}

template <typename S>
void moe_fwd(const MoeShape& sh, const TLayer<S>& w, const S* x, S* y, MoeActs<S>& a, ThreadPool& pool) {
  const ModelConfig& c = sh.cfg;
  const GemmPrecision p = sh.precision;
  const int64_t N = sh.B * sh.T, d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  const bool sigmoid = c.scoring_func == ScoringFunc::Sigmoid;

  // Router in full precision: logits, scores s = sigmoid / softmax(logits)   [N, E]
  linear_fwd(GemmPrecision::F32, &pool, sized(a.logits, N * E).data(), x, w.gate.w, N, d, E);
  sized(a.scores, N * E);
  sized(a.experts, N * K);
  sized(a.weights, N * K);
  std::vector<float> bias(static_cast<size_t>(E));
  if (w.e_score_correction_bias) std::copy_n(w.e_score_correction_bias.w, E, bias.begin());
  const RouterParams rp = RouterParams::from(c);
  const bool normalize = sigmoid || c.norm_topk_prob;
  for_range(&pool, N, 256, [&](int64_t n0, int64_t n1, int) {
    std::vector<float> lf(static_cast<size_t>(E)), wf(static_cast<size_t>(K));
    for (int64_t n = n0; n < n1; ++n) {
      const S* l = a.logits.data() + n * E;
      S* s = a.scores.data() + n * E;
      if (sigmoid) {
        for (int64_t e = 0; e < E; ++e) s[e] = S(1) / (S(1) + std::exp(-l[e]));
      } else {
        const S mx = *std::max_element(l, l + E);
        S sum = 0;
        for (int64_t e = 0; e < E; ++e) sum += (s[e] = std::exp(l[e] - mx));
        for (int64_t e = 0; e < E; ++e) s[e] /= sum;
      }
      // Selection as inference does it (model/router.cpp: biased scores, groups);
      // the gating weights are recomputed here in S from the unbiased scores.
      std::copy_n(l, E, lf.begin());
      router_select(rp, lf.data(), w.e_score_correction_bias ? bias.data() : nullptr, a.experts.data() + n * K,
                    wf.data());
      S sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += s[a.experts[size_t(n * K + k)]];
      for (int64_t k = 0; k < K; ++k) {
        const S sk = s[a.experts[size_t(n * K + k)]];
        a.weights[size_t(n * K + k)] = (normalize ? sk / sum : sk) * S(c.routed_scaling_factor);
      }
    }
  });

  // Load per expert and the sequence-wise balance statistic per row (V3 eqs. 17-20):
  // f_i = E / (K T) #tokens of the row routed to i, P_i = mean_t s_i,t / sum_j s_j,t.
  a.load.assign(size_t(E), 0);
  a.f.assign(size_t(sh.B * E), 0.0);
  a.balance = 0;
  for (int64_t b = 0; b < sh.B; ++b) {
    double* f = a.f.data() + b * E;
    std::vector<double> P(size_t(E), 0.0);
    for (int64_t t = 0; t < sh.T; ++t) {
      const int64_t n = b * sh.T + t;
      for (int64_t k = 0; k < K; ++k) f[a.experts[size_t(n * K + k)]] += 1.0;
      const S* s = a.scores.data() + n * E;
      double sum = 0;
      for (int64_t e = 0; e < E; ++e) sum += double(s[e]);
      for (int64_t e = 0; e < E; ++e) P[size_t(e)] += double(s[e]) / sum / double(sh.T);
    }
    double bal = 0;
    for (int64_t e = 0; e < E; ++e) {
      a.load[size_t(e)] += int64_t(f[e]);
      f[e] *= double(E) / double(K * sh.T);
      bal += f[e] * P[size_t(e)];
    }
    a.balance += bal / double(sh.B);
  }

  // Group the (token, k) pairs by expert, then run each expert once over its tokens.
  a.slot_begin.assign(size_t(E + 1), 0);
  for (int64_t i = 0; i < N * K; ++i) ++a.slot_begin[size_t(a.experts[size_t(i)] + 1)];
  for (int64_t e = 0; e < E; ++e) a.slot_begin[size_t(e + 1)] += a.slot_begin[size_t(e)];
  std::vector<int64_t> fill(a.slot_begin.begin(), a.slot_begin.end() - 1);
  sized(a.slots, N * K);
  sized(a.slot_of, N * K);  // inverse: pair n K + k -> its place in slot order
  for (int64_t i = 0; i < N * K; ++i) {
    const int64_t at = fill[size_t(a.experts[size_t(i)])]++;
    a.slots[size_t(at)] = int32_t(i);
    a.slot_of[size_t(i)] = at;
  }
  sized(a.xe, N * K * d);
  sized(a.ye, N * K * d);
  for_range(&pool, N * K, 256, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) std::copy_n(x + (a.slots[size_t(i)] / K) * d, d, a.xe.data() + i * d);
  });
  a.ex.resize(size_t(E));
  for (int64_t e = 0; e < E; ++e) {
    const int64_t s0 = a.slot_begin[size_t(e)], n = a.slot_begin[size_t(e + 1)] - s0;
    if (n > 0)
      mlp_fwd(p, &pool, w.experts[size_t(e)], a.xe.data() + s0 * d, n, a.ye.data() + s0 * d, a.ex[size_t(e)],
              routed_storage(p));
  }
  const bool shared = bool(w.shared_experts.gate_proj);
  if (shared)  // unweighted
    mlp_fwd(p, &pool, w.shared_experts, x, N, sized(a.shared_y, N * d).data(), a.shared, shared_storage(p));
  // y = sum_k w_k ye_k (+ shared), token by token (a token's k slots are in different places)
  for_range(&pool, N, 256, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      S* yr = y + n * d;
      if (shared)
        std::copy_n(a.shared_y.data() + n * d, d, yr);
      else
        std::fill_n(yr, d, S(0));
      for (int64_t k = 0; k < K; ++k) {
        const S wk = a.weights[size_t(n * K + k)];
        const S* ye = a.ye.data() + a.slot_of[size_t(n * K + k)] * d;
        for (int64_t j = 0; j < d; ++j) yr[j] += wk * ye[j];
      }
    }
  });
}

template <typename S>
void moe_bwd(const MoeShape& sh, const TLayer<S>& w, const S* x, const S* dy, S* dx, double balance_coef, MoeActs<S>& a,
             ThreadPool& pool) {
  const ModelConfig& c = sh.cfg;
  const GemmPrecision p = sh.precision;
  const int64_t N = sh.B * sh.T, d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  const bool sigmoid = c.scoring_func == ScoringFunc::Sigmoid, normalize = sigmoid || c.norm_topk_prob;

  if (w.shared_experts.gate_proj) mlp_bwd(p, &pool, w.shared_experts, x, dy, N, dx, a.shared, shared_storage(p));

  // Routed experts, one at a time over their tokens; gw: dL / d(gating weight).
  // Every slot belongs to one expert, so gw is written in full; dye, dxe hold
  // one expert's tokens at a time (at most N).
  Scratch<S> gw(N * K, Scratch<S>::kUninitialized), dye(N * d, Scratch<S>::kUninitialized),
      dxe(N * d, Scratch<S>::kUninitialized);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t s0 = a.slot_begin[size_t(e)], n = a.slot_begin[size_t(e + 1)] - s0;
    if (n == 0) continue;
    std::fill_n(dxe.data(), n * d, S(0));
    for_range(&pool, n, 64, [&](int64_t i0, int64_t i1, int) {
      for (int64_t i = i0; i < i1; ++i) {
        const int32_t slot = a.slots[size_t(s0 + i)];
        const S* dyr = dy + (slot / K) * d;
        gw[slot] = dot(dyr, a.ye.data() + (s0 + i) * d, d);
        const S wk = a.weights[size_t(slot)];
        for (int64_t j = 0; j < d; ++j) dye[i * d + j] = wk * dyr[j];
      }
    });
    mlp_bwd(p, &pool, w.experts[size_t(e)], a.xe.data() + s0 * d, dye.data(), n, dxe.data(), a.ex[size_t(e)],
            routed_storage(p));
    // An expert sees a token at most once (top-k picks distinct experts): no race.
    for_range(&pool, n, 64, [&](int64_t i0, int64_t i1, int) {
      for (int64_t i = i0; i < i1; ++i) {
        S* dxr = dx + (a.slots[size_t(s0 + i)] / K) * d;
        for (int64_t j = 0; j < d; ++j) dxr[j] += dxe[i * d + j];
      }
    });
  }

  // d scores: through the gating weights of the chosen experts ...
  Scratch<S> ds(N * E, Scratch<S>::kZero);
  const S F = S(c.routed_scaling_factor);
  for_range(&pool, N, 256, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      const int32_t* ex = a.experts.data() + n * K;
      const S* s = a.scores.data() + n * E;
      const S* g = gw.data() + n * K;
      S* dsr = ds.data() + n * E;
      if (normalize) {  // w_k = F s_k / sum_j s_j
        S sum = 0, gs = 0;
        for (int64_t k = 0; k < K; ++k) {
          sum += s[ex[k]];
          gs += g[k] * s[ex[k]];
        }
        for (int64_t k = 0; k < K; ++k) dsr[ex[k]] += F * (g[k] / sum - gs / (sum * sum));
      } else {
        for (int64_t k = 0; k < K; ++k) dsr[ex[k]] += F * g[k];
      }
    }
  });
  // ... and the balance loss: d/ds of (1/B) sum_b sum_i f_i (1/T) sum_t s_i,t / sum_j s_j,t
  if (balance_coef != 0) {
    for_range(&pool, N, 256, [&](int64_t n0, int64_t n1, int) {
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t b = n / sh.T;
        const S* s = a.scores.data() + n * E;
        S sum = 0;
        for (int64_t e = 0; e < E; ++e) sum += s[e];
        const S k = S(balance_coef / double(sh.B * sh.T));
        S fs = 0;  // sum_i f_i s_i / sum
        for (int64_t e = 0; e < E; ++e) fs += S(a.f[size_t(b * E + e)]) * s[e] / sum;
        for (int64_t e = 0; e < E; ++e) ds[n * E + e] += k * (S(a.f[size_t(b * E + e)]) - fs) / sum;
      }
    });
  }
  // d logits through sigmoid (element-wise) or softmax (row Jacobian)
  Scratch<S> dl(N * E, Scratch<S>::kUninitialized);  // written in full
  for_range(&pool, N, 256, [&](int64_t n0, int64_t n1, int) {
    for (int64_t n = n0; n < n1; ++n) {
      const S* s = a.scores.data() + n * E;
      const S* dsr = ds.data() + n * E;
      S* dlr = dl.data() + n * E;
      if (sigmoid) {
        for (int64_t e = 0; e < E; ++e) dlr[e] = dsr[e] * s[e] * (S(1) - s[e]);
      } else {
        const S sd = dot(s, dsr, E);
        for (int64_t e = 0; e < E; ++e) dlr[e] = s[e] * (dsr[e] - sd);
      }
    }
  });
  linear_bwd(GemmPrecision::F32, &pool, dx, w.gate.g, dl.data(), x, w.gate.w, N, d, E);
}

#define FRUGAL_TRAIN_FFN(S)                                                                                           \
  template void mlp_fwd<S>(GemmPrecision, ThreadPool*, const TMlp<S>&, const S*, int64_t, S*, MlpActs<S>&,           \
                           const MlpFp8Storage&);                                                                   \
  template void mlp_bwd<S>(GemmPrecision, ThreadPool*, const TMlp<S>&, const S*, const S*, int64_t, S*, MlpActs<S>&, \
                           const MlpFp8Storage&);                                                                   \
  template void moe_fwd<S>(const MoeShape&, const TLayer<S>&, const S*, S*, MoeActs<S>&, ThreadPool&);                \
  template void moe_bwd<S>(const MoeShape&, const TLayer<S>&, const S*, const S*, S*, double, MoeActs<S>&, ThreadPool&);
FRUGAL_TRAIN_FFN(float)
FRUGAL_TRAIN_FFN(double)

}  // namespace frugal::train
