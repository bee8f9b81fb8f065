// AdamW, clipping and the LR schedule against closed forms and an independent
// float64 NumPy reference (adamw_ref.py).
#include <cmath>
#include <numbers>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "core/atomic_file.h"
#include "core/npy.h"
#include "../common/temp_dir.h"
#include "train/adamw.h"

namespace frugal {
namespace {

TEST(LrSchedule, WarmupConstantCosineFloor) {
  const LrSchedule s{.lr = 1.0, .warmup_steps = 4, .constant_steps = 3, .decay_steps = 10, .min_lr = 0.1};
  EXPECT_DOUBLE_EQ(s.at(0), 0.25);  // linear warm-up: (step + 1) / warmup
  EXPECT_DOUBLE_EQ(s.at(1), 0.5);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.at(4), 1.0);  // constant
  EXPECT_DOUBLE_EQ(s.at(6), 1.0);
  EXPECT_DOUBLE_EQ(s.at(7), 1.0);  // decay starts at the peak
  EXPECT_NEAR(s.at(12), 0.1 + 0.45 * (1 + std::cos(std::numbers::pi * 0.5)), 1e-12);  // half-way: the midpoint
  EXPECT_NEAR(s.at(12), 0.55, 1e-12);
  EXPECT_NEAR(s.at(16), 0.1 + 0.45 * (1 + std::cos(std::numbers::pi * 0.9)), 1e-12);
  EXPECT_DOUBLE_EQ(s.at(17), 0.1);  // the floor, held
  EXPECT_DOUBLE_EQ(s.at(1000), 0.1);
  const LrSchedule flat{.lr = 0.5};
  EXPECT_DOUBLE_EQ(flat.at(0), 0.5);
  EXPECT_DOUBLE_EQ(flat.at(99), 0.5);
}

struct Tensor {
  ParamTensor p;
  std::vector<float> value, grad;
};

TEST(AdamW, MatchesNumpyReferenceOverSeveralSteps) {
  test::TempDir dir("adamw_ref");
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  // A matrix that decays, a norm weight that does not, and a router bias that
  // AdamW must leave alone even though (unlike the contract) it is given a gradient.
  struct Def { const char* name; std::vector<int64_t> shape; bool decay, router_bias; };
  const std::vector<Def> defs = {{"model.layers.0.mlp.gate_proj.weight", {7, 33}, true, false},
                                 {"model.layers.0.input_layernorm.weight", {33}, false, false},
                                 {"model.layers.1.mlp.gate.e_score_correction_bias", {8}, false, true}};
  std::vector<ParamTensor> params;
  std::vector<std::vector<float>> values(defs.size()), grads(defs.size());
  nlohmann::json tensors = nlohmann::json::array();
  for (size_t k = 0; k < defs.size(); ++k) {
    ParamTensor p{.name = defs[k].name, .shape = defs[k].shape, .decay = defs[k].decay, .router_bias = defs[k].router_bias};
    values[k].resize(size_t(p.numel()));
    grads[k].resize(size_t(p.numel()));
    for (float& x : values[k]) x = nd(rng);
    npy_write(dir / ("p0_" + std::to_string(k) + ".npy"), DType::F32, p.shape, values[k].data());
    params.push_back(p);
    tensors.push_back({{"decay", defs[k].decay}, {"router_bias", defs[k].router_bias}});
  }
  for (size_t k = 0; k < defs.size(); ++k) {
    params[k].value = values[k].data();
    params[k].grad = grads[k].data();
  }
  const std::vector<double> lrs = {0.01, 0.02, 0.03, 0.03, 0.015, 0.005};
  const AdamWOptions opt{.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
  const double clip = 6.0;  // some steps exceed it (gradients are scaled per step below)
  const std::vector<float> grad_scale = {1.0f, 0.05f, 3.0f, 0.2f, 1.0f, 0.02f};
  std::vector<std::vector<std::vector<float>>> step_grads(lrs.size());
  for (size_t s = 0; s < lrs.size(); ++s)
    for (size_t k = 0; k < defs.size(); ++k) {
      std::vector<float> g(values[k].size());
      for (float& x : g) x = nd(rng) * grad_scale[s];
      npy_write(dir / ("g_" + std::to_string(s) + "_" + std::to_string(k) + ".npy"), DType::F32, params[k].shape, g.data());
      step_grads[s].push_back(g);
    }
  write_file_atomic(dir / "case.json", nlohmann::json{{"beta1", 0.9}, {"beta2", 0.95}, {"eps", 1e-8},
                                                      {"weight_decay", 0.1}, {"clip", clip}, {"lrs", lrs},
                                                      {"tensors", tensors}}.dump());
  const auto r = test::run_command("/usr/bin/python3 " FRUGAL_SOURCE_DIR "/tests/train/adamw_ref.py " + dir.str());
  ASSERT_EQ(r.code, 0) << r.out;
  const NpyArray norms = npy_read(dir / "norms.npy");

  ThreadPool pool(2);
  AdamW adamw(params, opt);
  const std::vector<float> bias0 = values[2];
  int clipped = 0;
  for (size_t s = 0; s < lrs.size(); ++s) {
    for (size_t k = 0; k < defs.size(); ++k) grads[k] = step_grads[s][k];
    const AdamWStepStats st = adamw.step(lrs[s], clip, pool);
    const double want_norm = reinterpret_cast<const double*>(norms.bytes.data())[s];
    EXPECT_NEAR(st.grad_norm, want_norm, 1e-9 * want_norm) << "step " << s;
    clipped += st.clip_scale < 1;
    for (size_t k = 0; k < defs.size(); ++k) {
      const NpyArray want = npy_read(dir / ("want_" + std::to_string(s) + "_" + std::to_string(k) + ".npy"));
      for (size_t i = 0; i < values[k].size(); ++i)
        ASSERT_NEAR(values[k][i], want.f32()[i], 2e-6 * (1 + std::fabs(want.f32()[i])))
            << defs[k].name << "[" << i << "] step " << s;
    }
  }
  EXPECT_GE(clipped, 2);  // the clipping path was exercised
  EXPECT_LT(clipped, int(lrs.size()));
  EXPECT_EQ(values[2], bias0);  // router bias untouched
  EXPECT_EQ(adamw.steps_taken(), int64_t(lrs.size()));
  EXPECT_TRUE(adamw.exp_avg()[2].empty());
}

TEST(AdamW, NonFiniteGradientChangesNothing) {
  std::vector<float> v = {1, 2, 3}, g = {0.5f, NAN, 0.5f};
  std::vector<ParamTensor> params{{.name = "w", .shape = {3}, .value = v.data(), .grad = g.data(), .decay = true}};
  ThreadPool pool(1);
  AdamW adamw(params, {});
  EXPECT_TRUE(std::isnan(adamw.step(0.1, 1.0, pool).grad_norm));
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(adamw.steps_taken(), 0);
  EXPECT_EQ(adamw.exp_avg()[0], (std::vector<float>{0, 0, 0}));
}

TEST(AdamW, ZeroGradClearsEveryGradient) {
  std::vector<float> v(10, 1.0f), g(10, 3.0f);
  std::vector<ParamTensor> params{{.name = "w", .shape = {10}, .value = v.data(), .grad = g.data()}};
  ThreadPool pool(2);
  AdamW adamw(params, {});
  adamw.zero_grad(pool);
  for (float x : g) EXPECT_EQ(x, 0.0f);
}

TEST(AdamW, GlobalNormIndependentOfThreadCount) {
  std::vector<float> v(100000), g(100000);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  double want = 0;
  for (float& x : g) {
    x = nd(rng);
    want += double(x) * x;
  }
  std::vector<ParamTensor> params{{.name = "w", .shape = {100000}, .value = v.data(), .grad = g.data()}};
  ThreadPool p1(1), p2(2), p3(3);
  const double n1 = grad_global_norm(params, p1);
  EXPECT_EQ(n1, grad_global_norm(params, p2));
  EXPECT_EQ(n1, grad_global_norm(params, p3));
  EXPECT_NEAR(n1, std::sqrt(want), 1e-9 * n1);
}

}  // namespace
}  // namespace frugal
