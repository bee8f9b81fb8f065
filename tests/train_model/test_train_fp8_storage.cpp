// V3's low-precision activation storage (report Sec. 3.3.3) in the training
// model: the SwiGLU MLP of an MoE expert with its inputs cached in E4M3 and the
// SwiGLU recomputed in the backward, and power-of-2 scales on the dispatched
// input and output gradient, against the same GEMMs composed here by hand from
// the kernels (kernels/fp8_linear.h, fp8_quant.h, tested on their own against
// naive loops); then the whole model in --fp8 against --fp8-gemm-only.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/fp8_linear.h"
#include "train/train_ffn.h"
#include "train/trainable_factory.h"
#include "../common/random_values.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

using test::randn;

float silu(float g) { return g / (1.0f + std::exp(-g)); }

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  float scale = 0;
  for (float w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f * scale) << what << " i=" << i;
}

TEST(TrainFp8Storage, MoeExpertCachesSwigluInputsInFp8AndUsesPow2Scales) {
  const int64_t n = 150, d = 136, I = 132;  // partial 128-wide tiles everywhere
  std::vector<float> Wg = randn(I * d, 0.05f, 1), Wu = randn(I * d, 0.05f, 2), Wd = randn(d * I, 0.05f, 3);
  std::vector<float> gWg(Wg.size(), 0.0f), gWu(Wu.size(), 0.0f), gWd(Wd.size(), 0.0f);
  const std::vector<float> x = randn(n * d, 1.0f, 4), dy = randn(n * d, 1e-3f, 5);
  train::TMlp<float> w{.gate_proj = {Wg.data(), gWg.data(), I, d},
                       .up_proj = {Wu.data(), gWu.data(), I, d},
                       .down_proj = {Wd.data(), gWd.data(), d, I}};
  const train::MlpFp8Storage st{.swiglu_inputs_fp8 = true, .input = Fp8Scale::Pow2, .output_grad = Fp8Scale::Pow2};
  ThreadPool pool(2);
  train::MlpActs<float> acts;
  std::vector<float> y(size_t(n * d)), dx(size_t(n * d), 0.0f);
  train::mlp_fwd(train::GemmPrecision::FP8, &pool, w, x.data(), n, y.data(), acts, st);
  train::mlp_bwd(train::GemmPrecision::FP8, &pool, w, x.data(), dy.data(), n, dx.data(), acts, st);

  // By hand. Forward: g, u from x with power-of-2 scales; SwiGLU from the fp32 g, u.
  const Fp8LinearScales in_pow2{.x = Fp8Scale::Pow2}, out_pow2{.dy = Fp8Scale::Pow2};
  std::vector<float> g(size_t(n * I)), u(size_t(n * I)), a(size_t(n * I)), y_want(size_t(n * d));
  fp8_linear_fwd(g.data(), x.data(), Wg.data(), n, d, I, pool, in_pow2);
  fp8_linear_fwd(u.data(), x.data(), Wu.data(), n, d, I, pool, in_pow2);
  for (size_t i = 0; i < a.size(); ++i) a[i] = silu(g[i]) * u[i];
  fp8_linear_fwd(y_want.data(), a.data(), Wd.data(), n, I, d, pool);
  expect_near_all(y, y_want, "y");
  // Backward: g, u as cached (E4M3, 1x128, amax scales); a recomputed from them.
  fp8_fake_quant(g.data(), n, I, kFp8ActivationTile, g.data(), nullptr, pool);
  fp8_fake_quant(u.data(), n, I, kFp8ActivationTile, u.data(), nullptr, pool);
  for (size_t i = 0; i < a.size(); ++i) a[i] = silu(g[i]) * u[i];
  std::vector<float> gWd_want(Wd.size()), da(size_t(n * I)), dg(size_t(n * I)), du(size_t(n * I));
  fp8_linear_bwd_weight(gWd_want.data(), dy.data(), a.data(), n, I, d, GemmOut::Overwrite, pool, out_pow2);
  fp8_linear_bwd_input(da.data(), dy.data(), Wd.data(), n, I, d, GemmOut::Overwrite, pool, out_pow2);
  for (size_t i = 0; i < da.size(); ++i) {  // d/dg silu(g) u = u sig (1 + g (1 - sig)); d/du = silu(g)
    const float sig = 1.0f / (1.0f + std::exp(-g[i]));
    dg[i] = da[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
    du[i] = da[i] * silu(g[i]);
  }
  std::vector<float> gWg_want(Wg.size()), gWu_want(Wu.size()), dx_want(size_t(n * d), 0.0f);
  fp8_linear_bwd_weight(gWg_want.data(), dg.data(), x.data(), n, d, I, GemmOut::Overwrite, pool, in_pow2);
  fp8_linear_bwd_weight(gWu_want.data(), du.data(), x.data(), n, d, I, GemmOut::Overwrite, pool, in_pow2);
  fp8_linear_bwd_input(dx_want.data(), dg.data(), Wg.data(), n, d, I, GemmOut::Accumulate, pool, in_pow2);
  fp8_linear_bwd_input(dx_want.data(), du.data(), Wu.data(), n, d, I, GemmOut::Accumulate, pool, in_pow2);
  expect_near_all(gWd, gWd_want, "down_proj grad");
  expect_near_all(gWg, gWg_want, "gate_proj grad");
  expect_near_all(gWu, gWu_want, "up_proj grad");
  expect_near_all(dx, dx_want, "dx");
}

// The whole model: --fp8 (GEMMs + storage) against --fp8-gemm-only on the same
// weights and batch. The storage rounds o_proj's input to E5M6 and the SwiGLU
// inputs to E4M3 for the backward only, and the forward moves only through the
// power-of-2 scales: the loss and gradients stay close, yet o_proj's gradient
// (the E5M6 input of its weight-gradient GEMM) differs.
TEST(TrainFp8Storage, FullRecipeCloseToGemmOnlyButDifferent) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 64}, {"hidden_size", 256}, {"num_hidden_layers", 2}});
  auto gemm = trainable_create(c, {.seed = 3, .init_std = 0.05f, .fp8 = true, .fp8_gemm_only = true});
  auto full = trainable_create(c, {.seed = 3, .init_std = 0.05f, .fp8 = true});
  const TrainBatch b = make_batch(2, 16, c.vocab_size, 5);
  const LossOptions opt{.balance_alpha = 1e-3f};
  const LossStats sg = gemm->forward_backward(b, opt, pool), sf = full->forward_backward(b, opt, pool);
  std::printf("[ measured ] loss gemm-only %.6f full recipe %.6f\n", sg.loss, sf.loss);
  EXPECT_NEAR(sf.loss, sg.loss, 2e-3 * sg.loss);
  double dot = 0, ng = 0, nf = 0;
  bool o_proj_differs = false;
  for (size_t i = 0; i < gemm->params().size(); ++i) {
    const ParamTensor& p = gemm->params()[i];
    const ParamTensor& q = full->params()[i];
    if (!p.grad) continue;
    for (int64_t j = 0; j < p.numel(); ++j) {
      dot += double(p.grad[j]) * q.grad[j];
      ng += double(p.grad[j]) * p.grad[j];
      nf += double(q.grad[j]) * q.grad[j];
      if (p.name.find("o_proj") != std::string::npos && p.grad[j] != q.grad[j]) o_proj_differs = true;
    }
  }
  const double cosine = dot / std::sqrt(ng * nf);
  std::printf("[ measured ] gradient cosine full recipe vs gemm-only: %.5f\n", cosine);
  EXPECT_TRUE(o_proj_differs) << "the storage path was not taken";
  EXPECT_GT(cosine, 0.98);
}

}  // namespace
}  // namespace frugal
