// The training loop on the toy model: it learns, it records what it did, and a
// run resumed from a checkpoint repeats the uninterrupted run's losses bit for bit.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "core/error.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "../common/temp_dir.h"
#include "run_files.h"
#include "toy_model.h"
#include "train/trainer.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kVocab = 16;

// Documents of a learnable bigram process: the next token is (3 t + 1) mod V,
// with every fifth step replaced by a fixed detour so the model has work to do.
std::vector<Document> bigram_docs(int n) {
  std::vector<Document> docs;
  for (int d = 0; d < n; ++d) {
    Document doc;
    int32_t t = d % kVocab;
    for (int i = 0; i < 20 + d % 9; ++i) {
      doc.tokens.push_back(t);
      t = (i % 5 == 4) ? (t + 7) % kVocab : (3 * t + 1) % kVocab;
    }
    docs.push_back(doc);
  }
  return docs;
}

TrainerOptions options(const std::string& run_dir, int64_t steps) {
  return {.steps = steps,
          .batch_size = 3,
          .accumulation = 2,
          .lr = {.lr = 0.05, .warmup_steps = 4, .constant_steps = 10, .decay_steps = steps, .min_lr = 0.005},
          .adamw = {.weight_decay = 0.01f},
          .clip = 1.0,
          .balance = {.gamma = 0.01, .accumulate_steps = 3},
          .eval_every = 10,
          .checkpoint_every = 10,
          .keep_checkpoints = 0,
          .run_dir = run_dir,
          .progress = {.enabled = false}};
}

TEST(Trainer, ToyModelLearnsAndTheRunIsRecorded) {
  test::TempDir run("trainer_learns");
  test::ToyModel model(kVocab, 8, 1);
  PackedDataset data(bigram_docs(40), {.seq_len = 16, .seed = 2, .val_fraction = 0.1});
  ThreadPool pool(2);
  Trainer trainer(model, data, options(run.str(), 60), pool);
  trainer.run();
  EXPECT_EQ(trainer.step(), 60);

  const std::vector<json> m = test::read_metrics(run / "metrics.jsonl");
  ASSERT_EQ(m.size(), 60u);
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["step"], int64_t(i + 1));
    for (const char* k : {"lr", "loss", "main", "mtp", "balance", "grad_norm", "tokens_per_s", "elapsed_s"})
      EXPECT_TRUE(m[i][k].is_number()) << k;
    ASSERT_EQ(m[i]["max_vio"].size(), 1u);
    ASSERT_EQ(m[i]["expert_load"][0].size(), size_t(test::ToyModel::kExperts));
    int64_t routed = 0;
    for (const auto& c : m[i]["expert_load"][0]) routed += c.get<int64_t>();
    EXPECT_EQ(routed, 2 * 3 * 16);  // every input token of the 2 micro-batches
    EXPECT_EQ(m[i].contains("val"), (i + 1) % 10 == 0) << i;
  }
  EXPECT_DOUBLE_EQ(m[0]["lr"].get<double>(), 0.05 / 4);  // warm-up
  EXPECT_DOUBLE_EQ(m[59]["lr"].get<double>(), 0.005 + 0.5 * (0.05 - 0.005) * (1 + std::cos(M_PI * 45.0 / 60.0)));
  // It learns: the loss falls well below the uniform guess ln 16 = 2.77.
  const double first = m[0]["main"], last = m[59]["main"];
  EXPECT_GT(first, 2.3);
  EXPECT_LT(last, 0.6 * first);
  EXPECT_LT(m[59]["val"]["main"].get<double>(), 0.7 * m[9]["val"]["main"].get<double>());

  // Plots and checkpoints.
  for (const char* f : {"loss.svg", "lr.svg", "max_vio.svg", "expert_load.svg", "mtp_loss.svg"}) {
    std::ifstream in(run / f);
    const std::string svg((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(svg.rfind("<svg", 0), 0u) << f;
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << f;
  }
  // Well-formed XML, as a browser needs it (parsed by Python's XML parser).
  std::string files;
  for (const char* f : {"loss.svg", "lr.svg", "max_vio.svg", "expert_load.svg", "mtp_loss.svg"}) files += " " + run / f;
  const auto xml = test::run_command("/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; "
                                     "[E.parse(f) for f in sys.argv[1:]]'" + files);
  EXPECT_EQ(xml.code, 0) << xml.out;
  const std::string loss_svg = [&] { std::ifstream in(run / "loss.svg"); return std::string((std::istreambuf_iterator<char>(in)), {}); }();
  EXPECT_NE(loss_svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(checkpoint_list(run.str()).size(), 6u);
  const std::string last_ckpt = checkpoint_latest(run.str());
  EXPECT_EQ(fs::path(last_ckpt).filename(), "step-00000060");
  EXPECT_EQ(config_load(last_ckpt + "/config.json").vocab_size, kVocab);
  const Checkpoint ck(last_ckpt);
  EXPECT_EQ(ck.size(), model.params().size());
}

class TrainerResume : public ::testing::TestWithParam<SavedDType> {};

// With the model files in bf16 the train state carries the fp32 master weights.
TEST_P(TrainerResume, RepeatsTheUninterruptedRunBitForBit) {
  test::TempDir run_a("trainer_resume_a"), run_b("trainer_resume_b");
  auto options = [&](const std::string& dir, int64_t steps) {
    TrainerOptions o = ::frugal::options(dir, steps);
    o.save.dtype = GetParam();
    return o;
  };
  const auto docs = bigram_docs(30);
  const PackOptions pack{.seq_len = 16, .seed = 5, .val_docs = 3};
  ThreadPool pool(2);

  test::ToyModel a(kVocab, 8, 1);
  PackedDataset data_a(docs, pack);
  Trainer ta(a, data_a, options(run_a.str(), 30), pool);
  ta.run();

  // The interrupted run: its folder as it was at step 10 (metrics of steps 1-10
  // and the step-10 checkpoint), resumed by a fresh process-like setup whose
  // model starts from other weights.
  fs::create_directories(run_b / "checkpoints");
  fs::copy(run_a / "checkpoints/step-00000010", run_b / "checkpoints/step-00000010", fs::copy_options::recursive);
  {
    std::ifstream in(run_a / "metrics.jsonl");
    std::ofstream out(run_b / "metrics.jsonl");
    std::string line;
    for (int i = 0; i < 14 && std::getline(in, line); ++i) out << line << "\n";  // 4 records too many: dropped on resume
  }
  test::ToyModel b(kVocab, 8, 77);
  PackedDataset data_b(docs, pack);
  Trainer tb(b, data_b, options(run_b.str(), 30), pool);
  tb.resume_from(checkpoint_latest(run_b.str()));
  EXPECT_EQ(tb.step(), 10);
  tb.run();

  const std::vector<json> ma = test::read_metrics(run_a / "metrics.jsonl"), mb = test::read_metrics(run_b / "metrics.jsonl");
  ASSERT_EQ(ma.size(), 30u);
  ASSERT_EQ(mb.size(), 30u);
  for (size_t i = 0; i < 30; ++i) {
    EXPECT_EQ(mb[i]["step"], ma[i]["step"]);
    // Exact equality of the doubles (JSON keeps 17 significant digits).
    for (const char* k : {"loss", "main", "grad_norm", "lr"})
      EXPECT_EQ(mb[i][k].get<double>(), ma[i][k].get<double>()) << k << " at step " << i + 1;
    EXPECT_EQ(mb[i]["expert_load"], ma[i]["expert_load"]) << i + 1;
    if (ma[i].contains("val")) {
      EXPECT_EQ(mb[i]["val"]["main"].get<double>(), ma[i]["val"]["main"].get<double>());
    }
  }
  EXPECT_EQ(a.values_, b.values_);  // the router bias included
  if (GetParam() == SavedDType::BF16) {  // the model files really are bf16
    const Checkpoint ck(checkpoint_latest(run_a.str()));
    EXPECT_EQ(ck.get("lm_head.weight").dtype, DType::BF16);
  }

  // Other data (here another seed) would make the saved position meaningless: refused.
  test::ToyModel c(kVocab, 8, 77);
  PackedDataset data_c(docs, {.seq_len = 16, .seed = 6, .val_docs = 3});
  Trainer tc(c, data_c, options(run_b.str(), 30), pool);
  try {
    tc.resume_from(run_a / "checkpoints/step-00000010");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trained on other data"), std::string::npos) << e.what();
  }
  // The balance rule was active (the toy's bias moved).
  EXPECT_NE(a.values_[2], std::vector<float>(size_t(test::ToyModel::kExperts), 0.0f));
}

INSTANTIATE_TEST_SUITE_P(SavedAs, TrainerResume, ::testing::Values(SavedDType::F32, SavedDType::BF16),
                         [](const auto& info) { return info.param == SavedDType::F32 ? "f32" : "bf16"; });

// A model whose loss turns NaN at its 4th micro-batch: the run stops with a
// message naming the step and the last checkpoint, the weights untouched.
class NanAfter : public test::ToyModel {
 public:
  NanAfter() : ToyModel(kVocab, 8, 1) {}
  LossStats forward_backward(const TrainBatch& b, const LossOptions& opt, ThreadPool& pool) override {
    LossStats st = ToyModel::forward_backward(b, opt, pool);
    if (++calls_ >= 4) {
      params()[4].grad[0] = NAN;
      st.loss = NAN;
    }
    return st;
  }
  int calls_ = 0;
};

TEST(Trainer, DivergenceStopsWithAClearMessage) {
  test::TempDir run("trainer_nan");
  NanAfter model;
  PackedDataset data(bigram_docs(10), {.seq_len = 16});
  ThreadPool pool(1);
  TrainerOptions opt = options(run.str(), 10);
  opt.accumulation = 1;
  opt.checkpoint_every = 2;
  Trainer t(model, data, opt, pool);
  try {
    t.run();
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("step 4: training diverged"), std::string::npos) << msg;
    EXPECT_NE(msg.find("step-00000002"), std::string::npos) << msg;
  }
  EXPECT_EQ(t.step(), 3);
  for (const auto& v : model.values_)
    for (float x : v) ASSERT_TRUE(std::isfinite(x));
}

}  // namespace
}  // namespace frugal
