// FP8 emulation in training: the same small model, data and seed trained with
// its hidden Linear's three GEMMs in fp32 and in emulated E4M3
// (kernels/fp8_linear.h). DeepSeek-V3 reports a relative loss gap below 0.25 %
// for its FP8 recipe; the gap measured here is printed and held under 1 %.
#include <cmath>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kernels/dispatch.h"
#include "../common/temp_dir.h"
#include "toy_mlp_model.h"
#include "train/trainer.h"

namespace frugal {
namespace {

// A noisy first-order process over 64 tokens: next = (5 t + 3) mod 64 four
// times in five, a seeded random token otherwise.
std::vector<Document> process_docs(int n) {
  std::vector<Document> docs;
  uint64_t s = 12345;
  auto rnd = [&] { s = s * 6364136223846793005ull + 1442695040888963407ull; return uint32_t(s >> 33); };
  for (int d = 0; d < n; ++d) {
    Document doc{.tokens = {int32_t(rnd() % 64)}};
    for (int i = 0; i < 63; ++i) doc.tokens.push_back(rnd() % 5 == 0 ? int32_t(rnd() % 64) : (doc.tokens.back() * 5 + 3) % 64);
    docs.push_back(doc);
  }
  return docs;
}

double final_loss(const std::string& run_dir, bool fp8) {
  test::ToyMlpModel model({.fp8 = fp8});
  PackedDataset data(process_docs(200), {.seq_len = 64, .seed = 1, .val_docs = 20});
  ThreadPool pool(2);
  Trainer t(model, data, {.steps = 100, .batch_size = 4, .lr = {.lr = 0.01, .warmup_steps = 10, .decay_steps = 90, .min_lr = 0.001},
                          .eval_every = 100, .run_dir = run_dir, .progress = {.enabled = false}}, pool);
  t.run();
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line, last;
  double first = 0;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i == 0) first = nlohmann::json::parse(line)["main"];
    last = line;
  }
  const nlohmann::json j = nlohmann::json::parse(last);
  EXPECT_LT(j["val"]["main"].get<double>(), 0.75 * first) << (fp8 ? "fp8" : "fp32") << " run did not learn";
  return j["val"]["main"];
}

TEST(Fp8Training, FinalLossWithinOnePercentOfFp32) {
  kernels_init();  // BLAS on one thread (the pool does the threading) before the toy's own sgemm calls
  test::TempDir dir("fp8_training");
  const double l32 = final_loss(dir / "fp32", false), l8 = final_loss(dir / "fp8", true);
  const double gap = (l8 - l32) / l32;
  std::printf("validation loss after 100 steps: fp32 %.5f, fp8 %.5f, relative gap %+.3f %%\n", l32, l8, 100 * gap);
  EXPECT_NE(l8, l32);  // the emulation is really in the loop
  EXPECT_LT(std::fabs(gap), 0.01);
}

}  // namespace
}  // namespace frugal
