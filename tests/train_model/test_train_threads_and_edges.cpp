// TrainModel on 1 and 3 threads gives the same loss and gradients (races in the
// per-head / per-row splits would show here), and degenerate batches behave:
// rows shorter than the MTP depth, every label masked, bad token ids.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

std::vector<float> all_grads(Trainable& m) {
  std::vector<float> g;
  for (ParamTensor& p : m.params())
    if (p.grad) g.insert(g.end(), p.grad, p.grad + p.numel());
  return g;
}

TEST(TrainThreads, SameGradientsOnOneAndThreeThreads) {
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 64}, {"num_hidden_layers", 2}});
  const TrainBatch b = make_batch(4, 80, c.vocab_size, 8);  // above the split thresholds of every parallel loop
  const LossOptions opt{.balance_alpha = 0.01f, .z_loss = 1e-3f};
  auto m1 = train_model_create(c, {.seed = 4, .init_std = 0.05f});
  auto m3 = train_model_create(c, {.seed = 4, .init_std = 0.05f});
  ThreadPool p1(1), p3(3);
  const LossStats s1 = m1->forward_backward(b, opt, p1), s3 = m3->forward_backward(b, opt, p3);
  EXPECT_NEAR(s1.loss, s3.loss, 1e-5 * s1.loss);
  EXPECT_EQ(s1.expert_load, s3.expert_load);
  const std::vector<float> g1 = all_grads(*m1), g3 = all_grads(*m3);
  ASSERT_EQ(g1.size(), g3.size());
  float gmax = 0, err = 0;
  for (size_t i = 0; i < g1.size(); ++i) {
    gmax = std::max(gmax, std::fabs(g1[i]));
    err = std::max(err, std::fabs(g1[i] - g3[i]));
  }
  EXPECT_LE(err, 1e-4f * gmax);
}

TEST(TrainEdges, RowsShorterThanMtpDepthAndAllMasked) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 40}, {"num_hidden_layers", 2},
                                                 {"num_nextn_predict_layers", 2}});
  auto m = train_model_create(c, {.seed = 1});
  TrainBatch one{.B = 2, .T = 1, .tokens = {3, 4}, .labels = {5, -1}, .doc = {0, 0}};
  LossStats s = m->forward_backward(one, {}, pool);  // T - k <= 0 for both MTP depths
  EXPECT_EQ(s.tokens, 1);
  EXPECT_EQ(s.mtp, 0.0);
  EXPECT_TRUE(std::isfinite(s.loss));
  TrainBatch masked{.B = 1, .T = 4, .tokens = {1, 2, 3, 4}, .labels = {-1, -1, -1, -1}, .doc = {0, 0, 0, 0}};
  s = m->forward_backward(masked, {}, pool);
  EXPECT_EQ(s.tokens, 0);
  EXPECT_EQ(s.loss, 0.0);
  EXPECT_EQ(s.expert_load.size(), 1u);  // layer 1 is MoE
  int64_t routed = 0;
  for (int64_t n : s.expert_load[0]) routed += n;
  EXPECT_EQ(routed, 4 * c.num_experts_per_tok);
  EXPECT_EQ(s.mtp_expert_load.size(), 2u);
}

TEST(TrainLoss, TargetLogprobsAreLogSoftmaxOfTheLogits) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 40}, {"num_hidden_layers", 2}});
  auto m = train_model_create(c, {.seed = 6, .init_std = 0.2f});
  const TrainBatch b = make_batch(2, 7, c.vocab_size, 2);
  const LossStats s = m->forward_loss(b, {.target_logprobs = true}, pool);
  ASSERT_EQ(s.target_logprob.size(), b.labels.size());
  const std::vector<float>& logits = m->main_logits();
  for (size_t n = 0; n < b.labels.size(); ++n) {
    if (b.labels[n] < 0) {
      EXPECT_EQ(s.target_logprob[n], 0.0f);
      continue;
    }
    const float* l = logits.data() + n * size_t(c.vocab_size);
    double sum = 0;
    for (int64_t v = 0; v < c.vocab_size; ++v) sum += std::exp(double(l[v]));
    EXPECT_NEAR(s.target_logprob[n], double(l[b.labels[n]]) - std::log(sum), 1e-5);
  }
}

TEST(TrainEdges, MtpLambdaZeroSkipsTheMtpModules) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 40}, {"num_hidden_layers", 2}});
  auto m = train_model_create(c, {.seed = 1});
  const TrainBatch b = make_batch(2, 8, c.vocab_size, 1);
  const LossStats s = m->forward_backward(b, {.mtp_lambda = 0.0f}, pool);
  EXPECT_EQ(s.mtp, 0.0);
  EXPECT_TRUE(s.mtp_expert_load.empty());
  EXPECT_EQ(s.loss, s.main);
  for (ParamTensor& p : m->params()) {
    if (!p.grad) continue;
    double sum = 0;
    for (int64_t i = 0; i < p.numel(); ++i) sum += std::fabs(p.grad[i]);
    if (p.layer == 2) {
      EXPECT_EQ(sum, 0.0) << p.name;  // the MTP module
    } else if (p.name.find(".experts.") == std::string::npos) {
      EXPECT_GT(sum, 0.0) << p.name;
    }
  }
}

TEST(TrainEdges, BadBatchesAreUserErrors) {
  ThreadPool pool(1);
  const ModelConfig c = tiny_config("tiny", json{{"vocab_size", 40}, {"num_hidden_layers", 2}});
  auto m = train_model_create(c, {});
  TrainBatch bad{.B = 1, .T = 2, .tokens = {1, 40}, .labels = {2, -1}, .doc = {0, 0}};
  EXPECT_THROW(m->forward_loss(bad, {}, pool), Error);
  bad.tokens = {1, 2};
  bad.labels = {2, -2};
  EXPECT_THROW(m->forward_loss(bad, {}, pool), Error);
  bad.labels = {2};
  EXPECT_THROW(m->forward_loss(bad, {}, pool), Error);
  bad.labels = {2, -1};
  bad.label_weight = {1.0f};
  EXPECT_THROW(m->forward_loss(bad, {}, pool), Error);
}

}  // namespace
}  // namespace frugal
