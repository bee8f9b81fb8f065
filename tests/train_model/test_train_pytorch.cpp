// The training loss and EVERY parameter gradient against PyTorch autograd
// (tests/reference/deepseek_train_ref.py, written from the spec; run in float64
// by Debian's python3-torch) on tiny V3- and V2-style models, with MTP, the
// balance loss, z-loss, document-boundary masking and -1 labels on.
//
// Two comparisons per case:
//  - the double instantiation of the training code: loss parts to 1e-7
//    relative (measured ~1e-8), gradients to 1e-6 of each tensor's largest gradient (RoPE tables
//    are fp32 on both sides but computed by different cos / sin routines);
//  - TrainModel itself (fp32): loss parts to 1e-5 relative, gradients to 2e-3
//    of each tensor's largest gradient (fp32 sums over B T rows).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/npy.h"
#include "train/train_core.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

struct TorchTrainCase {
  const char* name;
  const char* like;
  json overrides;
};
void PrintTo(const TorchTrainCase& c, std::ostream* os) { *os << c.name; }

std::vector<double> read_f64(const std::string& path) {
  NpyArray a = npy_read(path);
  std::vector<double> v(static_cast<size_t>(a.numel()));
  if (a.dtype == DType::F64) std::memcpy(v.data(), a.bytes.data(), v.size() * sizeof(double));
  else {
    std::vector<float> f = a.to_f32();
    std::copy(f.begin(), f.end(), v.begin());
  }
  return v;
}

std::string json_ints(const std::vector<int32_t>& v) {
  json j = v;
  return j.dump();
}

class PyTorchTraining : public ::testing::TestWithParam<TorchTrainCase> {};

TEST_P(PyTorchTraining, LossPartsAndEveryGradientMatch) {
  const TorchTrainCase& cs = GetParam();
  ThreadPool pool(2);
  json o = json{{"vocab_size", 64},  {"hidden_size", 32},   {"num_hidden_layers", 3}, {"intermediate_size", 48},
                {"moe_intermediate_size", 12}, {"num_attention_heads", 2}, {"q_lora_rank", 24}, {"kv_lora_rank", 16},
                {"qk_nope_head_dim", 8}, {"qk_rope_head_dim", 8}, {"v_head_dim", 12}};
  o.merge_patch(cs.overrides);
  const ModelConfig c = tiny_config(cs.like, o);
  auto m = train_model_create(c, {.seed = 17, .init_std = 0.08f});
  for (ParamTensor& p : m->params())
    if (p.router_bias)
      for (int64_t i = 0; i < p.numel(); ++i) p.value[i] = 0.02f * float((i * 5) % 7) - 0.06f;
  const TrainBatch batch = make_batch(3, 10, c.vocab_size, 4);
  const LossOptions opt{.mtp_lambda = 0.3f, .balance_alpha = 0.01f, .z_loss = 0.001f, .grad_scale = 0.5f};

  const std::string dir = std::string(FRUGAL_BINARY_DIR) + "/test-tmp/train-torch-" + cs.name;
  std::filesystem::remove_all(dir);
  save_f32_checkpoint(*m, dir + "/model");
  write_text(dir + "/batch.json", "{\"B\": " + std::to_string(batch.B) + ", \"T\": " + std::to_string(batch.T) +
                                      ", \"tokens\": " + json_ints(batch.tokens) + ", \"labels\": " +
                                      json_ints(batch.labels) + ", \"doc\": " + json_ints(batch.doc) + "}");
  const std::string cmd = "/usr/bin/python3 " + std::string(FRUGAL_SOURCE_DIR) +
                          "/tests/reference/deepseek_train_ref.py --double --model " + dir + "/model --batch " + dir +
                          "/batch.json --out " + dir + "/ref --mtp-lambda 0.3 --alpha 0.01 --z 0.001 --grad-scale 0.5";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the PyTorch training reference failed: " << cmd;
  json want;
  std::ifstream(dir + "/ref/losses.json") >> want;

  // fp32 TrainModel
  const LossStats got = m->forward_backward(batch, opt, pool);
  // double instantiation on the same weights
  train::TrainCore<double> core(c, train::GemmPrecision::F32);
  for (const train::ParamSlot& s : core.layout.slots) {
    const ParamTensor* p = nullptr;
    for (const ParamTensor& q : m->params())
      if (q.name == s.name) p = &q;
    ASSERT_NE(p, nullptr) << s.name;
    std::copy(p->value, p->value + s.numel, core.values.begin() + s.offset);
  }
  const LossStats got_d = core.run(batch, opt, pool, true);

  std::printf("[ measured ] %s: loss torch %.9f double %.9f fp32 %.9f (main %.6f mtp %.6f balance %.6f z %.6f)\n",
              cs.name, want["loss"].get<double>(), got_d.loss, got.loss, got.main, got.mtp, got.balance, got.z);
  EXPECT_EQ(got.tokens, want["tokens"].get<int64_t>());
  for (const auto& [part, g, gd] : {std::tuple{"loss", got.loss, got_d.loss}, {"main", got.main, got_d.main},
                                    {"mtp", got.mtp, got_d.mtp}, {"balance", got.balance, got_d.balance},
                                    {"z", got.z, got_d.z}}) {
    const double w = want[part].get<double>();
    EXPECT_NEAR(gd, w, 1e-7 * std::max(1.0, std::fabs(w))) << part << " (double)";
    EXPECT_NEAR(g, w, 1e-5 * std::max(1.0, std::fabs(w))) << part << " (fp32)";
  }
  if (c.num_nextn_predict_layers > 0) {
    EXPECT_GT(got.mtp, 0.0);
  }
  EXPECT_GT(got.balance, 0.0);

  double worst32 = 0, worst64 = 0;
  std::string worst32_name, worst64_name;
  int compared = 0;
  for (const ParamTensor& p : m->params()) {
    if (!p.grad) continue;
    const std::vector<double> ref = read_f64(dir + "/ref/grad/" + p.name + ".npy");
    ASSERT_EQ(int64_t(ref.size()), p.numel()) << p.name;
    const double* gd = core.grads.data() + [&] {
      for (const train::ParamSlot& s : core.layout.slots)
        if (s.name == p.name) return s.offset;
      return int64_t(-1);
    }();
    double gmax = 1e-30;
    for (double v : ref) gmax = std::max(gmax, std::fabs(v));
    // A routed expert that no token chose has a zero gradient; everything else must have one.
    if (p.name.find(".experts.") == std::string::npos) {
      EXPECT_GT(gmax, 1e-12) << p.name << " has no gradient in the reference";
    }
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double e32 = std::fabs(double(p.grad[i]) - ref[size_t(i)]) / gmax;
      const double e64 = std::fabs(gd[i] - ref[size_t(i)]) / gmax;
      if (e32 > worst32) worst32 = e32, worst32_name = p.name;
      if (e64 > worst64) worst64 = e64, worst64_name = p.name;
    }
    ++compared;
  }
  std::printf("[ measured ] %s: %d gradients; max error / tensor max: double %.3g (%s), fp32 %.3g (%s)\n", cs.name,
              compared, worst64, worst64_name.c_str(), worst32, worst32_name.c_str());
  EXPECT_LE(worst64, 1e-6) << worst64_name;
  EXPECT_LE(worst32, 2e-3) << worst32_name;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Families, PyTorchTraining,
    ::testing::Values(
        // q LoRA, sigmoid noaux_tc over 4 groups (bias), 1 shared expert, first layer dense,
        // MTP depth 1, YaRN
        TorchTrainCase{"v3", "tiny",
                       json{{"rope_scaling", {{"type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 8},
                                              {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", 1.0},
                                              {"mscale_all_dim", 1.0}}}}},
        // MTP depth 2 (chained modules)
        TorchTrainCase{"v3_mtp2", "tiny", json{{"num_nextn_predict_layers", 2}, {"num_hidden_layers", 2}}},
        // plain q_proj, softmax group-limited greedy, factor 16, 2 shared experts, no MTP
        TorchTrainCase{"v2", "tiny-v2", json{{"q_lora_rank", 0}}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace frugal
