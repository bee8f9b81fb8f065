// The toy model of the loop tests is itself checked: its hand-written gradients
// against central finite differences of its loss (in double on the perturbed
// parameter, away from routing ties since the perturbation is small).
#include <cmath>

#include <gtest/gtest.h>

#include "toy_model.h"

namespace frugal {
namespace {

TEST(ToyModel, GradientsMatchFiniteDifferences) {
  test::ToyModel m(12, 6, 3);
  TrainBatch b{.B = 2, .T = 5};
  b.tokens = {1, 4, 7, 2, 9, 3, 3, 0, 11, 5};
  b.labels = {4, 7, 2, 9, -1, 3, 0, 11, 5, -1};
  b.doc.assign(10, 0);
  ThreadPool pool(1);
  const LossOptions opt{.grad_scale = 0.5f};
  const LossStats st = m.forward_backward(b, opt, pool);
  EXPECT_EQ(st.tokens, 8);
  int64_t routed = 0;
  for (int64_t c : st.expert_load[0]) routed += c;
  EXPECT_EQ(routed, 10);  // every input token is routed, targets or not
  int checked = 0;
  for (size_t k = 0; k < m.params().size(); ++k) {
    ParamTensor& p = m.params()[k];
    if (!p.grad) continue;
    for (int64_t i = 0; i < p.numel(); i += 7) {
      const float x0 = p.value[i];
      const float h = 1e-2f;
      p.value[i] = x0 + h;
      const double lp = m.forward_loss(b, opt, pool).loss;
      p.value[i] = x0 - h;
      const double lm = m.forward_loss(b, opt, pool).loss;
      p.value[i] = x0;
      const double fd = 0.5 * (lp - lm) / double(2 * h);  // times grad_scale 0.5
      ASSERT_NEAR(p.grad[i], fd, 2e-3 * std::max(1.0, std::fabs(fd)) + 2e-4) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
}  // namespace frugal
