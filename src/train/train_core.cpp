// Legend: see train_core.h.
#include "train/train_core.h"

#include <algorithm>

#include "core/error.h"
#include "train/train_loss.h"
#include "train/scratch.h"

namespace frugal::train {

namespace {

template <typename S>
void add(S* y, const S* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

// Rejects malformed batches with a clear message before anything runs.
void check_batch(const TrainBatch& b, const ModelConfig& c) {
  const size_t n = size_t(b.B * b.T);
  if (b.B <= 0 || b.T <= 0) fail("training batch of {} x {} tokens: both must be positive", b.B, b.T);
  if (b.tokens.size() != n || b.labels.size() != n || (!b.doc.empty() && b.doc.size() != n) ||
      (!b.label_weight.empty() && b.label_weight.size() != n))
    fail("training batch {} x {}: tokens / labels / doc / label_weight hold {} / {} / {} / {} values, {} expected",
         b.B, b.T, b.tokens.size(), b.labels.size(), b.doc.size(), b.label_weight.size(), n);
  for (size_t i = 0; i < n; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= c.vocab_size)
      fail("token id {} at batch position {} is outside the vocabulary [0, {})", b.tokens[i], i, c.vocab_size);
    if (b.labels[i] < -1 || b.labels[i] >= c.vocab_size)
      fail("label {} at batch position {} is neither -1 nor in the vocabulary [0, {})", b.labels[i], i, c.vocab_size);
  }
}

}  // namespace

template <typename S>
TrainCore<S>::TrainCore(const ModelConfig& c, GemmPrecision p)
    : cfg(c), layout(param_layout(c)), values(size_t(layout.total), S(0)), grads(size_t(layout.total), S(0)),
      w(tweights_bind<S>(c, values.data(), grads.data())), precision(p) {
  layers_.resize(size_t(c.num_hidden_layers));
  mtp_.resize(size_t(c.num_nextn_predict_layers));
}

template <typename S>
const std::vector<S>& TrainCore<S>::rope_cos(int64_t T) {
  if (rope_T_ < T) {  // positions 0..T-1; shorter rows (MTP depths) use a prefix
    rope_tables(cfg, T, cos_, sin_);
    rope_T_ = T;
  }
  return cos_;
}

// One decoder layer on the residual stream h [N, d], in place (V3 Sec. 2):
//   h += MLA(RMSNorm(h));  h += FFN(RMSNorm(h))
template <typename S>
void TrainCore<S>::layer_fwd(const TLayer<S>& lw, S* h, LayerActs<S>& a, int64_t B, int64_t T, ThreadPool& pool) {
  const int64_t N = B * T, d = cfg.hidden_size;
  const double eps = cfg.rms_norm_eps;
  Scratch<S> out(N * d, Scratch<S>::kZero);
  sized(a.h_in, N * d).assign(h, h + N * d);
  rmsnorm_fwd(sized(a.x_attn, N * d).data(), d, sized(a.rstd_attn, N).data(), h, d, lw.input_layernorm.w, N, d, eps, &pool);
  mla_fwd(MlaShape{cfg, B, T, precision}, lw, rope_cos(T), sin_, a.x_attn.data(), out.data(), a.mla, pool);
  add(h, out.data(), N * d);                                                                       // residual
  sized(a.h_mid, N * d).assign(h, h + N * d);
  rmsnorm_fwd(sized(a.x_ffn, N * d).data(), d, sized(a.rstd_ffn, N).data(), h, d, lw.post_attention_layernorm.w, N,
              d, eps, &pool);
  if (lw.is_moe) moe_fwd(MoeShape{cfg, B, T, precision}, lw, a.x_ffn.data(), out.data(), a.moe, pool);
  else           mlp_fwd(precision, &pool, lw.mlp, a.x_ffn.data(), N, out.data(), a.mlp);
  add(h, out.data(), N * d);                                                                       // residual
}

// dh: gradient of the layer's output in, of its input out.
template <typename S>
void TrainCore<S>::layer_bwd(const TLayer<S>& lw, S* dh, LayerActs<S>& a, int64_t B, int64_t T, double balance_coef,
                             ThreadPool& pool) {
  const int64_t N = B * T, d = cfg.hidden_size;
  Scratch<S> dx(N * d, Scratch<S>::kZero);
  if (lw.is_moe) moe_bwd(MoeShape{cfg, B, T, precision}, lw, a.x_ffn.data(), dh, dx.data(), balance_coef, a.moe, pool);
  else           mlp_bwd(precision, &pool, lw.mlp, a.x_ffn.data(), dh, N, dx.data(), a.mlp);
  rmsnorm_bwd(dh, d, lw.post_attention_layernorm.g, dx.data(), d, a.h_mid.data(), d, a.rstd_ffn.data(),
              lw.post_attention_layernorm.w, N, d, &pool);
  std::fill(dx.begin(), dx.end(), S(0));
  mla_bwd(MlaShape{cfg, B, T, precision}, lw, rope_cos(T), sin_, a.x_attn.data(), dh, dx.data(), a.mla, pool);
  rmsnorm_bwd(dh, d, lw.input_layernorm.g, dx.data(), d, a.h_in.data(), d, a.rstd_attn.data(), lw.input_layernorm.w,
              N, d, &pool);
}

// MTP module k (0-based, depth k + 1): see train_core.h.
template <typename S>
void TrainCore<S>::mtp_fwd(int64_t k, const TrainBatch& batch, bool backward, ThreadPool& pool) {
  MtpActs<S>& m = mtp_[size_t(k)];
  const TMtp<S>& mw = w.mtp[size_t(k)];
  const int64_t B = B_, T = T_, depth = k + 1, Tk = T - depth, d = cfg.hidden_size, V = cfg.vocab_size;
  const double eps = cfg.rms_norm_eps;
  m.T = Tk;
  m.loss = 0;
  m.count = 0;
  if (Tk <= 0) return;
  const int64_t Nk = B * Tk;
  // h^{k-1}: the main final-normed state, or the previous module's block output.
  const std::vector<S>& prev = k == 0 ? hf_ : mtp_[size_t(k - 1)].h;
  const int64_t Tprev = k == 0 ? T : mtp_[size_t(k - 1)].T;
  sized(m.tokens, Nk);
  sized(m.targets, Nk);
  sized(m.h_prev, Nk * d);
  sized(m.emb, Nk * d);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tk; ++t) {
      const int64_t n = b * Tk + t, src = b * T + t, ahead = src + depth;
      const bool same_doc = batch.doc.empty() || batch.doc[size_t(ahead)] == batch.doc[size_t(src)];
      m.tokens[size_t(n)] = batch.tokens[size_t(ahead)];
      m.targets[size_t(n)] = same_doc ? batch.labels[size_t(ahead)] : -1;
      std::copy_n(prev.data() + (b * Tprev + t) * d, d, m.h_prev.data() + n * d);
      std::copy_n(w.embed_tokens.w + int64_t(m.tokens[size_t(n)]) * d, d, m.emb.data() + n * d);
    }
  // h' = eh_proj([enorm(embed(t_{i+k})) ; hnorm(h^{k-1}_i)])              [Nk, d]
  sized(m.cat, Nk * 2 * d);
  rmsnorm_fwd(m.cat.data(), 2 * d, sized(m.e_rstd, Nk).data(), m.emb.data(), d, mw.enorm.w, Nk, d, eps, &pool);
  rmsnorm_fwd(m.cat.data() + d, 2 * d, sized(m.hp_rstd, Nk).data(), m.h_prev.data(), d, mw.hnorm.w, Nk, d, eps, &pool);
  linear_fwd(precision, &pool, sized(m.h, Nk * d).data(), m.cat.data(), mw.eh_proj.w, Nk, 2 * d, d);
  layer_fwd(mw.layer, m.h.data(), m.layer, B, Tk, pool);
  // logits = lm_head(shared_head.norm(h^k)), the shared output head          [Nk, V]
  rmsnorm_fwd(sized(m.hn, Nk * d).data(), d, sized(m.hn_rstd, Nk).data(), m.h.data(), d, mw.shared_head_norm.w, Nk,
              d, eps, &pool);
  linear_fwd(GemmPrecision::F32, &pool, sized(m.logits, Nk * V).data(), m.hn.data(), w.lm_head.w, Nk, d, V);
  const CeSums ce = cross_entropy_fwd(m.logits.data(), m.targets.data(), Nk, V, m.lse, {.to_probs = backward}, pool);
  m.count = ce.count;
  m.loss = ce.count ? ce.loss / double(ce.count) : 0.0;
}

template <typename S>
void TrainCore<S>::mtp_bwd(int64_t k, const LossOptions& opt, std::vector<S>& dh_out, std::vector<S>& dh_prev,
                           ThreadPool& pool) {
  MtpActs<S>& m = mtp_[size_t(k)];
  const TMtp<S>& mw = w.mtp[size_t(k)];
  const int64_t B = B_, Tk = m.T, Nk = B * Tk, d = cfg.hidden_size, V = cfg.vocab_size;
  const double D = double(cfg.num_nextn_predict_layers), gs = opt.grad_scale;
  const double ce_coef = m.count ? gs * double(opt.mtp_lambda) / D / double(m.count) : 0.0;
  cross_entropy_bwd(m.logits.data(), m.targets.data(), m.lse.data(), Nk, V, ce_coef, 0.0, nullptr, pool);
  Scratch<S> dhn(Nk * d, Scratch<S>::kZero);
  linear_bwd(GemmPrecision::F32, &pool, dhn.data(), w.lm_head.g, m.logits.data(), m.hn.data(), w.lm_head.w, Nk, d, V);
  // dh_out holds the next module's gradient of h^k (or zeros): add the head's.
  rmsnorm_bwd(dh_out.data(), d, mw.shared_head_norm.g, dhn.data(), d, m.h.data(), d, m.hn_rstd.data(),
              mw.shared_head_norm.w, Nk, d, &pool);
  layer_bwd(mw.layer, dh_out.data(), m.layer, B, Tk, double(opt.balance_alpha) * gs, pool);
  Scratch<S> dcat(Nk * 2 * d, Scratch<S>::kZero), demb(Nk * d, Scratch<S>::kZero);
  linear_bwd(precision, &pool, dcat.data(), mw.eh_proj.g, dh_out.data(), m.cat.data(), mw.eh_proj.w, Nk, 2 * d, d);
  rmsnorm_bwd(demb.data(), d, mw.enorm.g, dcat.data(), 2 * d, m.emb.data(), d, m.e_rstd.data(), mw.enorm.w, Nk, d, &pool);
  for (int64_t n = 0; n < Nk; ++n) add(w.embed_tokens.g + int64_t(m.tokens[size_t(n)]) * d, demb.data() + n * d, d);
  dh_prev.assign(size_t(Nk * d), S(0));
  rmsnorm_bwd(dh_prev.data(), d, mw.hnorm.g, dcat.data() + d, 2 * d, m.h_prev.data(), d, m.hp_rstd.data(), mw.hnorm.w,
              Nk, d, &pool);
}

template <typename S>
LossStats TrainCore<S>::run(const TrainBatch& batch, const LossOptions& opt, ThreadPool& pool, bool backward) {
  check_batch(batch, cfg);
  const int64_t B = batch.B, T = batch.T, N = B * T, d = cfg.hidden_size, V = cfg.vocab_size;
  const int64_t L = cfg.num_hidden_layers, D = cfg.num_nextn_predict_layers;
  const double eps = cfg.rms_norm_eps, gs = opt.grad_scale;
  B_ = B;
  T_ = T;

  // ---- forward ----
  sized(h_, N * d);
  for (int64_t n = 0; n < N; ++n)                                                       // h = embed(tokens)
    std::copy_n(w.embed_tokens.w + int64_t(batch.tokens[size_t(n)]) * d, d, h_.data() + n * d);
  for (int64_t l = 0; l < L; ++l) layer_fwd(w.layers[size_t(l)], h_.data(), layers_[size_t(l)], B, T, pool);
  rmsnorm_fwd(sized(hf_, N * d).data(), d, sized(hf_rstd_, N).data(), h_.data(), d, w.norm.w, N, d, eps, &pool);
  linear_fwd(GemmPrecision::F32, &pool, sized(logits_, N * V).data(), hf_.data(), w.lm_head.w, N, d, V);
  LossStats st;
  const bool weighted = !batch.label_weight.empty();
  if (opt.target_logprobs) st.target_logprob.resize(size_t(N));
  const CeSums ce = cross_entropy_fwd(logits_.data(), batch.labels.data(), N, V, lse_,
                                      {.to_probs = backward,
                                       .weights = weighted ? batch.label_weight.data() : nullptr,
                                       .target_logprob = opt.target_logprobs ? st.target_logprob.data() : nullptr},
                                      pool);
  // lambda = 0 (e.g. GRPO): the MTP modules do not touch the objective; skip them.
  const int64_t D_run = opt.mtp_lambda != 0.0f ? D : 0;
  for (int64_t k = 0; k < D_run; ++k) mtp_fwd(k, batch, backward, pool);

  st.tokens = ce.count;
  // With label weights (GRPO) the main loss is their weighted sum, else the mean.
  st.main = weighted ? ce.weighted : ce.count ? ce.loss / double(ce.count) : 0.0;
  st.z = ce.count ? ce.z / double(ce.count) : 0.0;
  for (int64_t k = 0; k < D_run; ++k) st.mtp += mtp_[size_t(k)].loss / double(D);
  for (int64_t l = 0; l < L; ++l)
    if (w.layers[size_t(l)].is_moe) {
      st.balance += layers_[size_t(l)].moe.balance;
      st.expert_load.push_back(layers_[size_t(l)].moe.load);
    }
  for (int64_t k = 0; k < D_run; ++k)
    if (w.mtp[size_t(k)].layer.is_moe && mtp_[size_t(k)].T > 0) {
      st.balance += mtp_[size_t(k)].layer.moe.balance;
      st.mtp_expert_load.push_back(mtp_[size_t(k)].layer.moe.load);
    }
  st.loss = st.main + double(opt.mtp_lambda) * st.mtp + double(opt.balance_alpha) * st.balance + double(opt.z_loss) * st.z;
  if (!backward) return st;

  // ---- backward: the forward read bottom-up ----
  Scratch<S> dhf(N * d, Scratch<S>::kZero);
  // Module k's output gradient (from module k + 1) and its h_prev gradient;
  // members, so their memory is reused from step to step.
  std::vector<S>& dh_out = dh_out_;
  std::vector<S>& dh_prev = dh_prev_;
  dh_out.clear();
  for (int64_t k = D_run - 1; k >= 0; --k) {
    const MtpActs<S>& m = mtp_[size_t(k)];
    if (m.T <= 0) continue;
    if (dh_out.size() != size_t(B * m.T * d)) dh_out.assign(size_t(B * m.T * d), S(0));
    mtp_bwd(k, opt, dh_out, dh_prev, pool);
    // h_prev rows (b, t < T_k) came from rows (b, t) of h^{k-1}: hf (k = 0) or module k - 1's output.
    const int64_t Tprev = k == 0 ? T : mtp_[size_t(k - 1)].T;
    Scratch<S> next(B * Tprev * d, Scratch<S>::kZero);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < m.T; ++t) add(next.data() + (b * Tprev + t) * d, dh_prev.data() + (b * m.T + t) * d, d);
    if (k == 0) add(dhf.data(), next.data(), N * d);
    else dh_out.assign(next.begin(), next.end());
  }
  const double ce_coef = weighted ? gs : ce.count ? gs / double(ce.count) : 0.0;
  const double z_coef = ce.count ? gs * double(opt.z_loss) / double(ce.count) : 0.0;
  cross_entropy_bwd(logits_.data(), batch.labels.data(), lse_.data(), N, V, ce_coef, z_coef,
                    weighted ? batch.label_weight.data() : nullptr, pool);
  linear_bwd(GemmPrecision::F32, &pool, dhf.data(), w.lm_head.g, logits_.data(), hf_.data(), w.lm_head.w, N, d, V);
  Scratch<S> dh(N * d, Scratch<S>::kZero);
  rmsnorm_bwd(dh.data(), d, w.norm.g, dhf.data(), d, h_.data(), d, hf_rstd_.data(), w.norm.w, N, d, &pool);
  // h_ is the last layer's output; each layer restores its input from its saved h_in.
  for (int64_t l = L - 1; l >= 0; --l)
    layer_bwd(w.layers[size_t(l)], dh.data(), layers_[size_t(l)], B, T, double(opt.balance_alpha) * gs, pool);
  for (int64_t n = 0; n < N; ++n) add(w.embed_tokens.g + int64_t(batch.tokens[size_t(n)]) * d, dh.data() + n * d, d);
  logits_.clear();  // overwritten by probabilities, then the gradient
  return st;
}

template <typename S>
std::vector<int32_t> TrainCore<S>::routing() const {
  std::vector<int32_t> r;
  for (const LayerActs<S>& a : layers_) r.insert(r.end(), a.moe.experts.begin(), a.moe.experts.end());
  for (const MtpActs<S>& m : mtp_) r.insert(r.end(), m.layer.moe.experts.begin(), m.layer.moe.experts.end());
  return r;
}

template class TrainCore<float>;
template class TrainCore<double>;

}  // namespace frugal::train
