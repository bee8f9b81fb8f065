// Gradients of every training module and of the whole loss against central
// finite differences, in double (the templated training code instantiated with
// S = double; cblas_dgemm), on the smallest shapes that take every path.
//
// Central differences with h = 1e-5 in double: truncation ~h^2 f''' ~ 1e-10,
// rounding ~1e-16 |L| / h ~ 1e-11, so analytic and numeric gradients agree to
// ~1e-7 relative of the largest gradient of a tensor; an error in a backward
// formula shows as O(1) relative.
//
// The MoE selection (top-k, group limit) is piecewise constant: a perturbation
// that flips a choice makes the loss jump and the difference meaningless. Every
// perturbation below asserts that the chosen experts did not change, and the
// seeds / init scale were picked so that the top-k margins are far above h.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "train/train_core.h"
#include "train/train_loss.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train;
using namespace train_test;

constexpr double kH = 1e-5;

std::vector<double> randn(int64_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, scale);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = nd(rng);
  return v;
}

// Model parameters from param_init (float) widened to double; router biases small
// random values so that the biased selection path is exercised.
void init_core(TrainCore<double>& core, uint64_t seed, float init_std) {
  std::vector<float> f(static_cast<size_t>(core.layout.total));
  param_init(core.layout, f.data(), seed, init_std);
  std::copy(f.begin(), f.end(), core.values.begin());
  std::mt19937 rng{uint32_t(seed + 7)};
  std::uniform_real_distribution<double> u(-0.1, 0.1);
  for (const ParamSlot& s : core.layout.slots)
    if (s.router_bias)
      for (int64_t i = 0; i < s.numel; ++i) core.values[size_t(s.offset + i)] = u(rng);
}

struct FdReport {
  double max_err = 0;  // max |fd - analytic| / (max |analytic| of the tensor)
  std::string worst;
};

// Checks the analytic gradient `g` of `loss` w.r.t. the n values at `v`, at up to
// `samples` evenly spread entries. `same_routing` (optional) must stay true.
void fd_check(const std::string& name, double* v, const double* g, int64_t n, const std::function<double()>& loss,
              FdReport& rep, int64_t samples = 24, const std::function<bool()>& same_routing = nullptr) {
  double gmax = 1e-12;
  for (int64_t i = 0; i < n; ++i) gmax = std::max(gmax, std::fabs(g[i]));
  const int64_t step = std::max<int64_t>(1, n / samples);
  for (int64_t i = (n - 1) % step; i < n; i += step) {
    const double keep = v[i];
    v[i] = keep + kH;
    const double lp = loss();
    if (same_routing) {
      ASSERT_TRUE(same_routing()) << name << "[" << i << "]: a perturbation changed the expert choice";
    }
    v[i] = keep - kH;
    const double lm = loss();
    if (same_routing) {
      ASSERT_TRUE(same_routing()) << name << "[" << i << "]: a perturbation changed the expert choice";
    }
    v[i] = keep;
    const double fd = (lp - lm) / (2 * kH), err = std::fabs(fd - g[i]) / gmax;
    if (err > rep.max_err) {
      rep.max_err = err;
      rep.worst = name + "[" + std::to_string(i) + "] fd " + std::to_string(fd) + " analytic " + std::to_string(g[i]);
    }
  }
}

double weighted_sum(const std::vector<double>& y, const std::vector<double>& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
  return s;
}

// ---- the whole objective ----

struct WholeCase {
  const char* name;
  const char* like;
  json overrides;
  LossOptions opt;
  int64_t B, T;
  uint64_t seed;
  bool label_weights = false;  // GRPO-style per-target weights of both signs
};

void check_whole_loss(const WholeCase& wc, double tol) {
  ThreadPool pool(2);
  json o = small_v3();
  o.merge_patch(wc.overrides);
  const ModelConfig c = tiny_config(wc.like, o);
  TrainCore<double> core(c, GemmPrecision::F32);
  init_core(core, wc.seed, 0.3f);
  TrainBatch batch = make_batch(wc.B, wc.T, c.vocab_size, wc.seed);
  if (wc.label_weights) {
    const std::vector<double> w = randn(wc.B * wc.T, 99, 0.5);
    batch.label_weight.assign(w.begin(), w.end());
  }
  core.run(batch, wc.opt, pool, true);
  const std::vector<double> grads = core.grads;
  const std::vector<int32_t> routing = core.routing();
  auto loss = [&] { return core.run(batch, wc.opt, pool, false).loss; };
  auto same = [&] { return core.routing() == routing; };
  FdReport rep;
  for (const ParamSlot& s : core.layout.slots) {
    if (s.router_bias) continue;  // no gradient: changed by the balance rule only
    fd_check(s.name, core.values.data() + s.offset, grads.data() + s.offset, s.numel, loss, rep, 6, same);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::printf("[ measured ] %s: max FD error %.3g (relative to each tensor's largest gradient), worst %s\n", wc.name,
              rep.max_err, rep.worst.c_str());
  EXPECT_LE(rep.max_err, tol) << rep.worst;
}

TEST(TrainGradFd, WholeLossV3AllParts) {
  // q LoRA, YaRN, sigmoid noaux_tc with groups + bias, shared expert, dense first layer,
  // MTP depth 2 (chained modules), balance loss and z-loss on.
  check_whole_loss({"v3", "tiny", json{{"num_nextn_predict_layers", 2}},
                    LossOptions{.mtp_lambda = 0.3f, .balance_alpha = 0.1f, .z_loss = 0.01f}, 2, 6, 3},
                   1e-6);
}

TEST(TrainGradFd, WholeLossV3LabelWeights) {
  // GRPO's weighted main loss sum_t w_t CE_t, with MTP and z-loss beside it.
  check_whole_loss({"v3_weighted", "tiny", json::object(), LossOptions{.mtp_lambda = 0.3f, .z_loss = 0.01f}, 2, 5, 4,
                    true},
                   1e-6);
}

TEST(TrainGradFd, WholeLossV2Softmax) {
  // plain q_proj, softmax group-limited greedy, no normalization, factor 16, 2 shared, no MTP.
  check_whole_loss({"v2", "tiny-v2",
                    json{{"q_lora_rank", 0}, {"n_shared_experts", 2}, {"num_nextn_predict_layers", 0},
                         {"rope_scaling", nullptr}},
                    LossOptions{.balance_alpha = 0.1f}, 2, 5, 5},
                   1e-6);
}

// ---- single modules: L = sum(y * R) (+ extra terms), gradients w.r.t. inputs and weights ----

struct ModuleFixture {
  ThreadPool pool{2};
  ModelConfig c;
  std::unique_ptr<TrainCore<double>> core;
  explicit ModuleFixture(const char* like, json overrides = {}) {
    json o = small_v3();
    if (!overrides.is_null()) o.merge_patch(overrides);
    c = tiny_config(like, o);
    core = std::make_unique<TrainCore<double>>(c, GemmPrecision::F32);
    init_core(*core, 11, 0.4f);
  }
  void zero_grads() { std::fill(core->grads.begin(), core->grads.end(), 0.0); }
  // FD over the weights of the named tensors (prefix match) and the input x.
  void check(const std::string& prefix, std::vector<double>& x, const std::vector<double>& dx,
             const std::function<double()>& loss, const std::function<bool()>& same, double tol) {
    FdReport rep;
    const std::vector<double> grads = core->grads;
    fd_check("x", x.data(), dx.data(), int64_t(x.size()), loss, rep, 40, same);
    for (const ParamSlot& s : core->layout.slots)
      if (s.name.starts_with(prefix.substr(0, prefix.find(' '))) && !s.router_bias)
        fd_check(s.name, core->values.data() + s.offset, grads.data() + s.offset, s.numel, loss, rep, 12, same);
    std::printf("[ measured ] %s: max FD error %.3g, worst %s\n", prefix.c_str(), rep.max_err, rep.worst.c_str());
    EXPECT_LE(rep.max_err, tol) << rep.worst;
  }
};

TEST(TrainGradFd, RmsNorm) {
  const int64_t N = 3, C = 7;
  std::vector<double> x = randn(N * C, 1), w = randn(C, 2), r = randn(N * C, 3), y(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_fwd(y.data(), C, rstd.data(), x.data(), C, w.data(), N, C, 1e-6);
    return weighted_sum(y, r);
  };
  loss();
  std::vector<double> dx(N * C, 0.0), dw(C, 0.0);
  rmsnorm_bwd(dx.data(), C, dw.data(), r.data(), C, x.data(), C, rstd.data(), w.data(), N, C);
  FdReport rep;
  fd_check("x", x.data(), dx.data(), N * C, loss, rep, 100);
  fd_check("w", w.data(), dw.data(), C, loss, rep, 100);
  EXPECT_LE(rep.max_err, 1e-7) << rep.worst;
}

TEST(TrainGradFd, RopeInverseIsTheBackward) {
  // The backward of a linear map is its transpose: <R, rope(x)> == <rope^T(R), x>.
  ModelConfig c = tiny_config("tiny", small_v3());
  std::vector<double> cos, sin;
  const int64_t T = 5, N = 10, heads = 3, dr = c.qk_rope_head_dim;
  rope_tables(c, T, cos, sin);
  std::vector<double> x = randn(N * heads * dr, 4), r = randn(N * heads * dr, 5);
  std::vector<double> y = x, rt = r;
  rope_apply(y.data(), heads * dr, N, T, heads, dr, cos.data(), sin.data(), dr / 2, false);
  rope_apply(rt.data(), heads * dr, N, T, heads, dr, cos.data(), sin.data(), dr / 2, true);
  EXPECT_NEAR(weighted_sum(y, r), weighted_sum(x, rt), 1e-12);
}

TEST(TrainGradFd, Mla) {
  // q LoRA + YaRN; plain q_proj + YaRN; and T = 150 rows, which span 3 query blocks of
  // the causal attention (train_attention.cpp kQueryBlock = 64).
  struct Shape {
    const char* like;
    int64_t B, T;
  };
  for (const Shape sh_ : {Shape{"tiny", 2, 4}, Shape{"tiny-v2-lite", 2, 4}, Shape{"tiny", 1, 150}}) {
    ModuleFixture f(sh_.like, sh_.like == std::string("tiny-v2-lite") ? json{{"q_lora_rank", 0}} : json{});
    const int64_t B = sh_.B, T = sh_.T, N = B * T, d = f.c.hidden_size;
    std::vector<double> cos, sin;
    rope_tables(f.c, T, cos, sin);
    std::vector<double> x = randn(N * d, 6), r = randn(N * d, 7), y(N * d);
    MlaActs<double> a;
    const MlaShape sh{f.c, B, T, GemmPrecision::F32};
    const TLayer<double>& w = f.core->w.layers[1];
    auto loss = [&] {
      mla_fwd(sh, w, cos, sin, x.data(), y.data(), a, f.pool);
      return weighted_sum(y, r);
    };
    loss();
    f.zero_grads();
    std::vector<double> dx(N * d, 0.0);
    mla_bwd(sh, w, cos, sin, x.data(), r.data(), dx.data(), a, f.pool);
    f.check(std::string("model.layers.1.self_attn.") + " (" + sh_.like + ", T " + std::to_string(T) + ")", x, dx, loss,
            nullptr, 1e-7);
  }
}

TEST(TrainGradFd, DenseMlp) {
  ModuleFixture f("tiny");
  const int64_t N = 5, d = f.c.hidden_size;
  std::vector<double> x = randn(N * d, 8), r = randn(N * d, 9), y(N * d);
  MlpActs<double> a;
  const TMlp<double>& w = f.core->w.layers[0].mlp;
  auto loss = [&] {
    mlp_fwd(GemmPrecision::F32, &f.pool, w, x.data(), N, y.data(), a);
    return weighted_sum(y, r);
  };
  loss();
  f.zero_grads();
  std::vector<double> dx(N * d, 0.0);
  mlp_bwd(GemmPrecision::F32, &f.pool, w, x.data(), r.data(), N, dx.data(), a);
  f.check("model.layers.0.mlp.", x, dx, loss, nullptr, 1e-7);
}

void check_moe(const char* like, json overrides, uint32_t seed) {
  ModuleFixture f(like, overrides);
  const int64_t B = 2, T = 4, N = B * T, d = f.c.hidden_size;
  const double alpha = 0.5;  // balance loss on: its gradient reaches the router through P_i
  std::vector<double> x = randn(N * d, seed), r = randn(N * d, seed + 1), y(N * d);
  MoeActs<double> a;
  const MoeShape sh{f.c, B, T, GemmPrecision::F32};
  const TLayer<double>& w = f.core->w.layers[1];
  ASSERT_TRUE(w.is_moe);
  auto loss = [&] {
    moe_fwd(sh, w, x.data(), y.data(), a, f.pool);
    return weighted_sum(y, r) + alpha * a.balance;
  };
  loss();
  const std::vector<int32_t> experts = a.experts;
  f.zero_grads();
  std::vector<double> dx(N * d, 0.0);
  moe_bwd(sh, w, x.data(), r.data(), dx.data(), alpha, a, f.pool);
  f.check("model.layers.1.mlp.", x, dx, loss, [&] { return a.experts == experts; }, 1e-7);
}

TEST(TrainGradFd, MoeSigmoidNoauxTcGroups) { check_moe("tiny", {}, 21); }

TEST(TrainGradFd, MoeSoftmaxGreedyUnnormalized) {
  check_moe("tiny-v2-lite", json{{"q_lora_rank", 0}, {"n_group", 1}, {"topk_group", 1}, {"n_shared_experts", 2}},
            23);
}

TEST(TrainGradFd, MoeSoftmaxNormTopk) {
  check_moe("tiny-v2", json{{"norm_topk_prob", true}, {"routed_scaling_factor", 2.0}}, 25);
}

TEST(TrainGradFd, CrossEntropyWithZLoss) {
  ThreadPool pool(2);
  const int64_t N = 4, V = 9;
  std::vector<double> logits = randn(N * V, 30, 2.0), lse;
  const std::vector<int32_t> targets = {3, -1, 0, 8};
  const double zc = 0.1;
  auto loss = [&] {
    CeSums s = cross_entropy_fwd(logits.data(), targets.data(), N, V, lse, {}, pool);
    return s.loss / double(s.count) + zc * s.z / double(s.count);
  };
  std::vector<double> d = logits;
  const CeSums s = cross_entropy_fwd(d.data(), targets.data(), N, V, lse, {.to_probs = true}, pool);
  EXPECT_NEAR(s.loss / 3 + zc * s.z / 3, loss(), 1e-12) << "to_probs does not change the loss";
  cross_entropy_bwd(d.data(), targets.data(), lse.data(), N, V, 1.0 / 3, zc / 3, nullptr, pool);
  FdReport rep;
  fd_check("logits", logits.data(), d.data(), N * V, loss, rep, 100);
  EXPECT_LE(rep.max_err, 1e-7) << rep.worst;
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(d[size_t(1 * V + v)], 0.0) << "a masked row has no gradient";
}

TEST(TrainGrad, AccumulatesAndScales) {
  // forward_backward adds grad_scale dL/dp: two calls at scale 0.5 equal one at 1.
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", small_v3());
  auto m = train_model_create(c, {.seed = 1, .init_std = 0.1f});
  const TrainBatch b = make_batch(2, 6, c.vocab_size, 1);
  m->forward_backward(b, {.grad_scale = 1.0f}, pool);
  std::vector<std::vector<float>> once;
  for (ParamTensor& p : m->params()) {
    if (!p.grad) continue;
    once.emplace_back(p.grad, p.grad + p.numel());
    std::fill_n(p.grad, p.numel(), 0.0f);
  }
  m->forward_backward(b, {.grad_scale = 0.5f}, pool);
  m->forward_backward(b, {.grad_scale = 0.5f}, pool);
  size_t i = 0;
  double nonzero = 0;
  for (ParamTensor& p : m->params()) {
    if (!p.grad) continue;
    for (int64_t j = 0; j < p.numel(); ++j) {
      ASSERT_NEAR(p.grad[j], once[i][size_t(j)], 1e-6 + 1e-5 * std::fabs(once[i][size_t(j)])) << p.name;
      nonzero += std::fabs(p.grad[j]);
    }
    ++i;
  }
  EXPECT_GT(nonzero, 0.0);
}

}  // namespace
}  // namespace frugal
