// Learning test (CONVENTIONS.md "Learning tests"): plain SGD on the gradients of
// TrainModel drives a tiny V3 model's main and MTP losses on one fixed batch far
// down. Catches sign and wiring errors that per-op checks can miss (e.g. a
// gradient accumulated into the wrong tensor still passes FD checks of others).
#include <gtest/gtest.h>

#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

TEST(TrainLearns, SgdOverfitsOneBatchMainAndMtp) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 32}, {"hidden_size", 32}, {"num_hidden_layers", 2},
                                                 {"intermediate_size", 48}, {"moe_intermediate_size", 16},
                                                 {"q_lora_rank", 16}, {"kv_lora_rank", 16}, {"qk_nope_head_dim", 8},
                                                 {"qk_rope_head_dim", 8}, {"v_head_dim", 8}});
  auto m = train_model_create(c, {.seed = 2, .init_std = 0.1f});
  const TrainBatch b = make_batch(2, 12, c.vocab_size, 3);
  const LossOptions opt{.mtp_lambda = 0.3f, .balance_alpha = 1e-3f};
  LossStats first, last;
  for (int step = 0; step < 150; ++step) {
    for (ParamTensor& p : m->params())
      if (p.grad) std::fill_n(p.grad, p.numel(), 0.0f);
    last = m->forward_backward(b, opt, pool);
    if (step == 0) first = last;
    for (ParamTensor& p : m->params())
      if (p.grad)
        for (int64_t i = 0; i < p.numel(); ++i) p.value[i] -= 0.5f * p.grad[i];
  }
  std::printf("[ measured ] main %.3f -> %.3f, MTP %.3f -> %.3f after 150 SGD steps\n", first.main, last.main,
              first.mtp, last.mtp);
  EXPECT_GT(first.main, 3.0);  // ~ln(32) at init
  EXPECT_LT(last.main, 0.1 * first.main);
  EXPECT_LT(last.mtp, 0.3 * first.mtp);
  const LossStats eval = m->forward_loss(b, opt, pool);
  EXPECT_NEAR(eval.main, last.main, 0.5 * last.main + 0.05) << "forward_loss agrees with the training forward";
}

}  // namespace
}  // namespace frugal
