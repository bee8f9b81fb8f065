// The first optimizer steps of the whole training loop against PyTorch
// (tests/reference/deepseek_train_steps_ref.py: the autograd loss of
// deepseek_train_ref.py, torch.optim.AdamW, torch.nn.utils.clip_grad_norm_, the
// LR schedule and the router-bias sign rule written from the spec, in float64).
//
// frugal side: the real Trainer (TrainModel fp32 + AdamW + BiasBalancer) on a
// PackedDataset of documents; the reference gets the same initial weights and
// the same batches (a second PackedDataset with the same documents and seed).
// The schedule passes through warm-up, constant, cosine decay; clipping is
// active on some steps; lambda, alpha, z-loss and gamma are on.
//
// Checked per step: the loss and its parts (fp32 vs float64: 1e-6 relative,
// measured <= 2e-8 on the loss), the gradient norm before clipping (1e-4
// relative), the learning rate, and the expert loads of every main MoE layer
// (exactly: a routing flip would show here first). After the last step: every
// tensor, router biases included, within 5e-3 of the largest change any element
// of that tensor went through (measured 2e-4, 2e-3 with accumulation: fp32
// rounding through 5 steps of Adam, whose m / sqrt(v) amplifies the rounding of
// near-zero gradients, largest in rarely chosen experts).
// Two loops: one batch per step, and 2 micro-batches per step (gradient
// accumulation) with the bias moved every 2 steps from summed loads, zero-mean.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/npy.h"
#include "train/trainer.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

std::vector<double> read_npy_f64(const std::string& path) {
  NpyArray a = npy_read(path);
  std::vector<double> v(static_cast<size_t>(a.numel()));
  FRUGAL_CHECK(a.dtype == DType::F64, "{}: the reference writes float64", path);
  std::memcpy(v.data(), a.bytes.data(), v.size() * sizeof(double));
  return v;
}

// Documents of 4..19 tokens (several per row, so MTP targets get masked at
// boundaries) drawn from a few repeated phrases, so the loss moves.
std::vector<Document> documents(int64_t vocab, int n, uint32_t seed) {
  std::mt19937 rng{seed};
  std::vector<Document> docs;
  for (int d = 0; d < n; ++d) {
    Document doc;
    const int len = 4 + int(rng() % 16);
    const int32_t start = int32_t(rng() % uint32_t(vocab)), stride = 1 + int32_t(rng() % 3);
    for (int t = 0; t < len; ++t) doc.tokens.push_back(int32_t((start + stride * t) % vocab));
    docs.push_back(std::move(doc));
  }
  return docs;
}

struct StepsCase {
  const char* name;
  int64_t accumulation;       // micro-batches per optimizer step
  int64_t bias_accumulate;    // optimizer steps of loads per bias update
  bool bias_zero_mean;
  double clip;                // chosen so that some steps clip and some do not
};
void PrintTo(const StepsCase& c, std::ostream* os) { *os << c.name; }

class PyTorchTrainingSteps : public ::testing::TestWithParam<StepsCase> {};

TEST_P(PyTorchTrainingSteps, FiveAdamWStepsMatchTorchOptim) {
  const StepsCase& cs = GetParam();
  ThreadPool pool(2);
  const ModelConfig c = tiny_config(
      "tiny", json{{"vocab_size", 48}, {"hidden_size", 32}, {"num_hidden_layers", 3}, {"intermediate_size", 48},
                   {"moe_intermediate_size", 12}, {"num_attention_heads", 2}, {"q_lora_rank", 24},
                   {"kv_lora_rank", 16}, {"qk_nope_head_dim", 8}, {"qk_rope_head_dim", 8}, {"v_head_dim", 12},
                   {"num_nextn_predict_layers", 1}});
  ASSERT_EQ(c.topk_method, TopkMethod::NoauxTc);
  ASSERT_GT(c.n_shared_experts, 0);
  auto m = train_model_create(c, {.seed = 23, .init_std = 0.08f});

  const std::string dir = std::string(FRUGAL_BINARY_DIR) + "/test-tmp/train-steps-torch-" + cs.name;
  std::filesystem::remove_all(dir);
  save_f32_checkpoint(*m, dir + "/model");
  std::vector<std::vector<float>> initial;  // to measure how far each tensor moved
  for (const ParamTensor& p : m->params()) initial.emplace_back(p.value, p.value + p.numel());

  const int steps = 5;
  const int64_t B = 3;
  const PackOptions pack{.seq_len = 12, .seed = 7};
  {  // the batches the trainer will draw, for the reference
    PackedDataset replay(documents(c.vocab_size, 40, 5), pack);
    json batches = json::array();
    for (int64_t s = 0; s < steps * cs.accumulation; ++s) {
      const TrainBatch b = replay.next_batch(B);
      batches.push_back({{"B", b.B}, {"T", b.T}, {"tokens", b.tokens}, {"labels", b.labels}, {"doc", b.doc}});
    }
    write_text(dir + "/batches.json", batches.dump());
  }
  PackedDataset data(documents(c.vocab_size, 40, 5), pack);
  const TrainerOptions opt{
      .steps = steps,
      .batch_size = B,
      .accumulation = cs.accumulation,
      .lr = {.lr = 1e-2, .warmup_steps = 2, .constant_steps = 1, .decay_steps = 2, .min_lr = 1e-3},
      .adamw = {.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f},
      .clip = cs.clip,
      .loss = {.mtp_lambda = 0.3f, .balance_alpha = 0.01f, .z_loss = 0.001f},
      .balance = {.gamma = 0.01, .zero_mean = cs.bias_zero_mean, .accumulate_steps = cs.bias_accumulate},
      .run_dir = dir + "/run",
      .progress = {.enabled = false},
  };
  Trainer trainer(*m, data, opt, pool);
  trainer.run();

  const std::string cmd = "/usr/bin/python3 " + std::string(FRUGAL_SOURCE_DIR) +
                          "/tests/reference/deepseek_train_steps_ref.py --double --model " + dir + "/model --batches " +
                          dir + "/batches.json --out " + dir + "/ref --lr 1e-2 --warmup 2 --constant 1 --decay 2 "
                          "--min-lr 1e-3 --beta1 0.9 --beta2 0.95 --eps 1e-8 --weight-decay 0.1 --clip " + std::to_string(cs.clip) + " "
                          "--mtp-lambda 0.3 --alpha 0.01 --z 0.001 --gamma 0.01 --accum " +
                          std::to_string(cs.accumulation) + " --bias-accumulate " +
                          std::to_string(cs.bias_accumulate) + (cs.bias_zero_mean ? " --bias-zero-mean" : "");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the PyTorch training-steps reference failed: " << cmd;
  json want;
  std::ifstream(dir + "/ref/steps.json") >> want;
  ASSERT_EQ(want.size(), size_t(steps));

  std::vector<json> got;
  {
    std::ifstream in(dir + "/run/metrics.jsonl");
    for (std::string line; std::getline(in, line);) got.push_back(json::parse(line));
  }
  ASSERT_EQ(got.size(), size_t(steps));
  int clipped = 0;
  for (int s = 0; s < steps; ++s) {
    const json &g = got[size_t(s)], &w = want[size_t(s)];
    std::printf("[ measured ] step %d: lr %.5f loss frugal %.9f torch %.9f (rel %.2e); grad norm %.6f / %.6f\n", s + 1,
                g["lr"].get<double>(), g["loss"].get<double>(), w["loss"].get<double>(),
                std::fabs(g["loss"].get<double>() / w["loss"].get<double>() - 1), g["grad_norm"].get<double>(),
                w["grad_norm"].get<double>());
    EXPECT_NEAR(g["lr"].get<double>(), w["lr"].get<double>(), 1e-12) << "step " << s + 1;
    for (const char* part : {"loss", "main", "mtp", "balance", "z"}) {
      const double a = g[part].get<double>(), b = w[part].get<double>();
      EXPECT_NEAR(a, b, 1e-6 * std::max(1e-3, std::fabs(b))) << part << " at step " << s + 1;
    }
    EXPECT_EQ(g["tokens"].get<int64_t>(), w["tokens"].get<int64_t>()) << "step " << s + 1;
    EXPECT_NEAR(g["grad_norm"].get<double>(), w["grad_norm"].get<double>(), 1e-4 * w["grad_norm"].get<double>())
        << "step " << s + 1;
    EXPECT_EQ(g["expert_load"], w["expert_load"]) << "expert loads (routing) at step " << s + 1;
    clipped += w["grad_norm"].get<double>() > cs.clip;
  }
  EXPECT_GT(clipped, 0) << "clipping never applied: the test does not cover it";
  EXPECT_LT(clipped, steps) << "clipping applied on every step";

  double worst = 0;
  std::string worst_name;
  int biases = 0;
  for (size_t i = 0; i < m->params().size(); ++i) {
    const ParamTensor& p = m->params()[i];
    const std::vector<double> ref = read_npy_f64(dir + "/ref/final/" + p.name + ".npy");
    ASSERT_EQ(int64_t(ref.size()), p.numel()) << p.name;
    double moved = 0;
    for (int64_t k = 0; k < p.numel(); ++k) moved = std::max(moved, std::fabs(ref[size_t(k)] - initial[i][size_t(k)]));
    if (p.router_bias) {
      ++biases;
      if (p.layer < c.num_hidden_layers) {
        EXPECT_GT(moved, 0.0) << p.name << ": the bias rule moved nothing";
      }
    } else {
      EXPECT_GT(moved, 0.0) << p.name << " did not change in the reference";
    }
    for (int64_t k = 0; k < p.numel(); ++k) {
      const double e = std::fabs(double(p.value[k]) - ref[size_t(k)]) / std::max(moved, 1e-30);
      if (e > worst) worst = e, worst_name = p.name;
    }
  }
  EXPECT_GT(biases, 0);
  std::printf("[ measured ] final weights: max |frugal - torch| / max change of the tensor = %.3g (%s)\n", worst,
              worst_name.c_str());
  EXPECT_LE(worst, 5e-3) << worst_name;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Loops, PyTorchTrainingSteps,
                         ::testing::Values(StepsCase{"plain", 1, 1, false, 4.0},
                                           // 2 micro-batches per step; biases moved every 2 steps
                                           // from summed loads, zero-mean updates
                                           StepsCase{"accumulated", 2, 2, true, 2.2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace frugal
