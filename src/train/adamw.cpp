#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "train/train_rows.h"

namespace frugal {

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
  step -= warmup_steps;
  if (step < constant_steps) return lr;
  step -= constant_steps;
  if (step < decay_steps) {  // cosine from lr (step 0) towards min_lr
    const double progress = double(step) / double(decay_steps);
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
  }
  return decay_steps > 0 ? min_lr : lr;
}

bool adamw_updates(const ParamTensor& p) { return p.grad != nullptr && !p.router_bias; }

namespace {
constexpr int64_t kNormBlock = 1 << 14;  // elements per partial sum of the norm
}

double grad_global_norm(const std::vector<ParamTensor>& params, ThreadPool& pool) {
  double total = 0;
  std::vector<double> partial;
  for (const ParamTensor& p : params) {
    if (!adamw_updates(p)) continue;
    const int64_t n = p.numel();
    const int64_t blocks = (n + kNormBlock - 1) / kNormBlock;
    partial.assign(size_t(blocks), 0.0);
    pool.parallel_for(blocks, [&](int64_t b0, int64_t b1, int) {
      for (int64_t b = b0; b < b1; ++b) {
        double s = 0;
        for (int64_t i = b * kNormBlock; i < std::min(n, (b + 1) * kNormBlock); ++i) s += double(p.grad[i]) * p.grad[i];
        partial[size_t(b)] = s;
      }
    });
    for (double s : partial) total += s;
  }
  return std::sqrt(total);
}

AdamW::AdamW(std::vector<ParamTensor>& params, const AdamWOptions& opt) : params_(params), opt_(opt) {
  m_.resize(params.size());
  v_.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    if (adamw_updates(params[i])) {
      m_[i].assign(size_t(params[i].numel()), 0.0f);
      v_[i].assign(size_t(params[i].numel()), 0.0f);
    }
}

AdamWStepStats AdamW::step(double lr, double clip, ThreadPool& pool) {
  FRUGAL_CHECK(m_.size() == params_.size(), "AdamW built for {} tensors, the model now has {}", m_.size(),
               params_.size());
  AdamWStepStats st;
  st.grad_norm = grad_global_norm(params_, pool);
  if (!std::isfinite(st.grad_norm)) return st;
  // torch.nn.utils.clip_grad_norm_: scale = clip / (norm + 1e-6), applied when < 1.
  if (clip > 0 && st.grad_norm > clip) st.clip_scale = clip / (st.grad_norm + 1e-6);
  ++t_;
  const float b1 = opt_.beta1, b2 = opt_.beta2, eps = opt_.eps;
  const double bc1 = 1.0 - std::pow(double(b1), double(t_));
  const double bc2 = 1.0 - std::pow(double(b2), double(t_));
  const float step_size = float(lr / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  const float g_scale = float(st.clip_scale);
  const bool fast = train::rows::rows_fast();
  for (size_t k = 0; k < params_.size(); ++k) {
    ParamTensor& p = params_[k];
    if (!adamw_updates(p)) continue;
    FRUGAL_CHECK(int64_t(m_[k].size()) == p.numel(), "AdamW moments of {} have {} values, tensor {}", p.name,
                 m_[k].size(), p.numel());
    const float decay = p.decay ? float(1.0 - lr * opt_.weight_decay) : 1.0f;
    float* m = m_[k].data();
    float* v = v_[k].data();
    const train::rows::AdamWConsts c{.g_scale = g_scale, .b1 = b1, .b2 = b2, .eps = eps, .bc2_sqrt = bc2_sqrt,
                              .step_size = step_size, .decay = decay};
    pool.parallel_for(p.numel(), [&](int64_t i0, int64_t i1, int) {
      if (fast) return train::rows::adamw_update(p.value + i0, p.grad + i0, m + i0, v + i0, i1 - i0, c);
      for (int64_t i = i0; i < i1; ++i) {
        const float g = p.grad[i] * g_scale;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
        p.value[i] = p.value[i] * decay - step_size * (m[i] / denom);
      }
    }, 1024);
  }
  return st;
}

void AdamW::zero_grad(ThreadPool& pool) {
  for (ParamTensor& p : params_)
    if (p.grad) pool.parallel_for(p.numel(), [&](int64_t i0, int64_t i1, int) {
        std::fill(p.grad + i0, p.grad + i1, 0.0f);
      }, 4096);
}

}  // namespace frugal
