// The GRPO hooks of the training model: target log-probabilities equal the log
// softmax of the main logits, and per-target weights give the gradient of the
// weighted sum of cross-entropies (checked by linearity against plain batches).
#include <gtest/gtest.h>

#include <cmath>

#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

std::vector<float> grads_of(TrainModel& m) {
  std::vector<float> g;
  for (const ParamTensor& p : m.params())
    if (p.grad) g.insert(g.end(), p.grad, p.grad + p.numel());
  return g;
}
void zero(TrainModel& m) {
  for (ParamTensor& p : m.params())
    if (p.grad) std::fill_n(p.grad, p.numel(), 0.0f);
}

TEST(TrainWeighted, TargetLogprobsAreTheLogSoftmax) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", small_v3());
  auto m = train_model_create(c, {.seed = 4, .init_std = 0.2f});
  const TrainBatch b = make_batch(2, 7, c.vocab_size, 5);
  LossStats st = m->forward_loss(b, {.target_logprobs = true}, pool);
  ASSERT_EQ(st.target_logprob.size(), b.labels.size());
  const std::vector<float>& logits = m->main_logits();
  const int64_t V = c.vocab_size;
  double mean_ce = 0;
  for (size_t n = 0; n < b.labels.size(); ++n) {
    if (b.labels[n] < 0) {
      EXPECT_EQ(st.target_logprob[n], 0.0f);
      continue;
    }
    double mx = -1e30, sum = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(logits[n * V + v]));
    for (int64_t v = 0; v < V; ++v) sum += std::exp(double(logits[n * V + v]) - mx);
    const double want = double(logits[n * V + b.labels[n]]) - mx - std::log(sum);
    EXPECT_NEAR(st.target_logprob[n], want, 1e-5);
    mean_ce -= want;
  }
  EXPECT_NEAR(st.main, mean_ce / double(st.tokens), 1e-5);
}

TEST(TrainWeighted, WeightedGradientIsTheSumOfSingleTargetGradients) {
  ThreadPool pool(2);
  const ModelConfig c = tiny_config("tiny", small_v3());
  auto m = train_model_create(c, {.seed = 4, .init_std = 0.2f});
  TrainBatch b = make_batch(2, 6, c.vocab_size, 8);
  const LossOptions opt{.mtp_lambda = 0.0f};
  // Weights on three targets (one negative, as GRPO's are for bad answers).
  const std::vector<std::pair<size_t, float>> picks = {{1, 0.7f}, {4, -0.3f}, {8, 1.2f}};
  TrainBatch weighted = b;
  weighted.label_weight.assign(b.labels.size(), 0.0f);
  for (auto [n, w] : picks) {
    ASSERT_GE(b.labels[n], 0);
    weighted.label_weight[n] = w;
  }
  zero(*m);
  LossStats ws = m->forward_backward(weighted, opt, pool);
  const std::vector<float> got = grads_of(*m);
  // sum_n w_n * (gradient of the plain mean loss of a batch whose only target is n)
  std::vector<double> want(got.size(), 0.0);
  double want_loss = 0;
  for (auto [n, w] : picks) {
    TrainBatch one = b;
    std::fill(one.labels.begin(), one.labels.end(), -1);
    one.labels[n] = b.labels[n];
    zero(*m);
    LossStats s = m->forward_backward(one, opt, pool);
    want_loss += w * s.main;
    std::vector<float> g = grads_of(*m);
    for (size_t i = 0; i < g.size(); ++i) want[i] += w * g[i];
  }
  EXPECT_NEAR(ws.main, want_loss, 1e-5);
  double max_err = 0, max_g = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    max_err = std::max(max_err, std::abs(got[i] - want[i]));
    max_g = std::max(max_g, std::abs(want[i]));
  }
  EXPECT_GT(max_g, 1e-3);
  EXPECT_LT(max_err, 1e-5 * std::max(1.0, max_g)) << "max |g| " << max_g;
}

}  // namespace
}  // namespace frugal
