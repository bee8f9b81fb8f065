// FP8 mode (V3 report Sec. 3.3): the Linear GEMMs go through the E4M3 emulation
// of kernels/fp8_linear.h, the rest stays fp32. On the same weights and batch the
// FP8 loss and gradients are close to fp32 but not identical (the path is taken),
// and trainable_create builds it from TrainableOptions. (The claim of the report,
// final training loss within 0.25 % of fp32, is for a training run, not this.)
#include <gtest/gtest.h>

#include "train/trainable_factory.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

TEST(TrainFp8, LossAndGradientsCloseToFp32) {
  ThreadPool pool(2);
  // hidden 256: K spans two 128-wide tiles
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 64}, {"hidden_size", 256}, {"num_hidden_layers", 2}});
  auto f32 = trainable_create(c, {.seed = 3, .init_std = 0.05f});
  auto fp8 = trainable_create(c, {.seed = 3, .init_std = 0.05f, .fp8 = true});
  const TrainBatch b = make_batch(2, 16, c.vocab_size, 5);
  const LossOptions opt{.balance_alpha = 1e-3f};
  const LossStats s32 = f32->forward_backward(b, opt, pool), s8 = fp8->forward_backward(b, opt, pool);
  std::printf("[ measured ] loss fp32 %.6f fp8 %.6f (rel %.2g)\n", s32.loss, s8.loss,
              std::fabs(s8.loss - s32.loss) / s32.loss);
  EXPECT_NE(s32.loss, s8.loss) << "the FP8 path was not taken";
  EXPECT_NEAR(s8.loss, s32.loss, 0.01 * s32.loss);
  // Cosine of the concatenated gradients, over all tensors and over those outside the
  // MoE layers: rounded activations flip the choice of near-tie tokens, which moves
  // whole rows of the routed experts' (and router's) gradients.
  double dot[2] = {0, 0}, n32[2] = {0, 0}, n8[2] = {0, 0};
  for (size_t i = 0; i < f32->params().size(); ++i) {
    const ParamTensor& a = f32->params()[i];
    const ParamTensor& q = fp8->params()[i];
    if (!a.grad) continue;
    const bool routed = a.name.find(".mlp.experts.") != std::string::npos || a.name.find(".mlp.gate.") != std::string::npos;
    for (int64_t j = 0; j < a.numel(); ++j)
      for (int k = 0; k < (routed ? 1 : 2); ++k) {
        dot[k] += double(a.grad[j]) * q.grad[j];
        n32[k] += double(a.grad[j]) * a.grad[j];
        n8[k] += double(q.grad[j]) * q.grad[j];
      }
  }
  const double all = dot[0] / std::sqrt(n32[0] * n8[0]), dense = dot[1] / std::sqrt(n32[1] * n8[1]);
  std::printf("[ measured ] gradient cosine fp8 vs fp32: all %.4f, outside the routed experts %.4f\n", all, dense);
  // Measured 0.981 / 0.981 (0.984 / 0.985 with --fp8-gemm-only: the E5M6 / FP8 activation
  // storage adds a little): E4M3 keeps 3 mantissa bits (~2 % rms per rounded input) and
  // the errors of the chained GEMMs of the backward add up; the loss itself moves < 0.2 %.
  EXPECT_GT(all, 0.97);
  EXPECT_GT(dense, 0.97);
}

}  // namespace
}  // namespace frugal
