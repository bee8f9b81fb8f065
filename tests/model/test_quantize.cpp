// frugal quantize: the Q8_0 / Q4_0 checkpoint loads, computes exactly what its
// dequantized weights compute, and stays within a stated distance of the
// original model.
#include <fstream>

#include "model/quantize_checkpoint.h"
#include "model/safetensors.h"
#include "model/synth.h"
#include "model/weights.h"
#include "model_test_util.h"

namespace frugal {
namespace {

using namespace testing_util;

// Writes `m`'s weights dequantized to f32 (the reference decoding of each
// block format) as a plain checkpoint in `dir`.
void write_dequantized(const Model& m, const std::string& src_dir, const std::string& dir) {
  std::filesystem::create_directories(dir);
  ModelConfig cfg = m.config;
  cfg.packed_format = DType::F32;
  ModelWeights w = m.weights;
  std::vector<TensorToWrite> out;
  std::vector<std::vector<float>> store;
  weights_visit(w, m.config, m.has_mtp(), [&](const TensorSlot& s) {
    if (!m.checkpoint->find(s.name)) return;
    store.emplace_back(size_t(s.rows * s.cols));
    for (int64_t r = 0; r < s.rows; ++r) s.view->row_to_f32(r, store.back().data() + r * s.cols);
    std::vector<int64_t> shape = s.is_vector ? std::vector<int64_t>{s.cols} : std::vector<int64_t>{s.rows, s.cols};
    out.push_back({{s.name, DType::F32, shape}, store.back().data()});
  });
  safetensors_write(dir + "/model.safetensors", out);
  std::ofstream(dir + "/config.json") << config_to_json(cfg).dump();
}

struct Measured {
  double max_err;
  double top1;
};

Measured compare(const std::vector<float>& a, const std::vector<float>& b, int64_t V) {
  Measured r{max_abs_diff(a.data(), b.data(), int64_t(a.size())), 0};
  const int64_t T = int64_t(a.size()) / V;
  for (int64_t t = 0; t < T; ++t)
    r.top1 += std::max_element(a.begin() + t * V, a.begin() + (t + 1) * V) - (a.begin() + t * V) ==
              std::max_element(b.begin() + t * V, b.begin() + (t + 1) * V) - (b.begin() + t * V);
  r.top1 /= double(T);
  return r;
}

TEST(Quantize, BlockCheckpointsMatchTheirDequantizedWeightsAndStayCloseToTheOriginal) {
  // A dense model: MoE routing of random weights flips on any perturbation,
  // which would measure the router's margins, not the quantization.
  TempDir dir("quant");
  synth_checkpoint({.like = "tiny", .dtype = SynthDType::BF16, .seed = 3,
                    .config_overrides = {{"first_k_dense_replace", 3}, {"num_nextn_predict_layers", 0}}},
                   dir.str("orig"));
  auto orig = model_load(dir.str("orig"));
  ThreadPool pool(2);
  // 70 tokens: the prefill's products have T > 64 and run in 64-token chunks.
  // Every Q8_0 / Q4_0 product rounds x to int8 per 32-block (matmul.h), whatever T.
  std::vector<int32_t> ids;
  for (int i = 0; i < 70; ++i) ids.push_back((i * 37 + 5) % 512);
  const std::vector<float> want = all_logits(*orig, ids, AttnMode::Absorb, pool);
  const int64_t V = orig->config.vocab_size;

  // Stated bounds on this random model (logit std ~1, so near-ties are common):
  // q8 moves logits by < 0.2 and keeps >= 90 % of argmaxes; q4 by < 2.5, >= 50 %.
  // The int8 activations add < 0.1 to the logits of the dequantized model (each
  // value moves by at most 1/254 of its 32-block's largest, at every product of
  // every layer and the head; measured 0.056).
  struct Case {
    DType format;
    const char* name;
    double max_err, min_top1;
  };
  for (const Case& c : {Case{DType::Q8_0, "q8", 0.2, 0.9}, Case{DType::Q4_0, "q4", 2.5, 0.5}}) {
    quantize_checkpoint(dir.str("orig"), dir.str(c.name), {.format = c.format});
    auto q = model_load(dir.str(c.name));
    EXPECT_EQ(q->config.packed_format, c.format);
    EXPECT_EQ(q->weights.layers[0].self_attn.q_a_proj.dtype, c.format);
    EXPECT_EQ(q->weights.layers[0].input_layernorm.dtype, DType::BF16);  // norms keep their dtype
    const std::vector<float> got = all_logits(*q, ids, AttnMode::Absorb, pool);

    write_dequantized(*q, dir.str(c.name), dir.str(std::string(c.name) + "-f32"));
    auto deq = model_load(dir.str(std::string(c.name) + "-f32"));
    const std::vector<float> exact = all_logits(*deq, ids, AttnMode::Absorb, pool);
    const Measured vs_exact = compare(got, exact, V), vs_orig = compare(got, want, V);
    std::printf("[ measured ] %s: vs its dequantized weights %.3g (the int8 activations); vs the bf16 original "
                "max %.3g, top-1 agreement %.2f\n",
                c.name, vs_exact.max_err, vs_orig.max_err, vs_orig.top1);
    EXPECT_LE(vs_exact.max_err, 0.1) << c.name;
    EXPECT_GT(vs_exact.max_err, 0.0) << c.name << ": every product is expected to take the int8 path";
    EXPECT_LE(vs_orig.max_err, c.max_err) << c.name;
    EXPECT_GE(vs_orig.top1, c.min_top1) << c.name;
  }
  EXPECT_THROW(quantize_checkpoint(dir.str("q8"), dir.str("again"), {.format = DType::Q4_0}), Error);
}

}  // namespace
}  // namespace frugal
