// The training forward computes the same function as inference: the model's
// parameters saved as an f32 checkpoint (the checkpoint's tensor names, so this
// also checks that `frugal run` loads what training saves) and run through
// model_load + transformer_fwd / mtp_fwd give the same main and MTP logits as
// TrainModel's forward, row by row.
//
// Tolerance: 2e-5 absolute at logit scale ~1 (fp32, different summation orders).
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/transformer.h"
#include "train_test_util.h"

namespace frugal {
namespace {

using namespace train_test;

struct Case {
  const char* name;
  const char* like;
  json overrides;
};

void check_against_inference(const Case& cs) {
  ThreadPool pool(2);
  json o = json{{"vocab_size", 96}, {"hidden_size", 48}, {"num_hidden_layers", 3}, {"intermediate_size", 64},
                {"moe_intermediate_size", 16}};
  o.merge_patch(cs.overrides);
  const ModelConfig c = tiny_config(cs.like, o);
  auto m = train_model_create(c, {.seed = 5, .init_std = 0.1f});
  for (ParamTensor& p : m->params())  // a non-zero router bias, so that it matters for the selection
    if (p.router_bias)
      for (int64_t i = 0; i < p.numel(); ++i) p.value[i] = 0.01f * float((i * 7) % 5) - 0.02f;
  const TrainBatch b = make_batch(3, 11, c.vocab_size, 9);
  m->forward_loss(b, {}, pool);
  const std::vector<float> train_logits = m->main_logits();
  ASSERT_EQ(int64_t(train_logits.size()), b.B * b.T * c.vocab_size);

  const std::string dir = std::string(FRUGAL_BINARY_DIR) + "/test-tmp/train-vs-infer-" + cs.name;
  save_f32_checkpoint(*m, dir);
  auto inf = model_load(dir);
  EXPECT_EQ(inf->has_mtp(), c.num_nextn_predict_layers > 0);
  double err = 0, mtp_err = 0;
  for (int64_t r = 0; r < b.B; ++r) {
    LatentKvCache cache = inf->new_cache(b.T);
    ForwardScratch s;
    ForwardResult res;
    transformer_fwd(*inf, b.tokens.data() + r * b.T, b.T, cache, {.attn = AttnMode::Naive, .all_logits = true}, res, s,
                    pool);
    for (int64_t i = 0; i < b.T * c.vocab_size; ++i)
      err = std::max(err, double(std::fabs(res.logits[size_t(i)] - train_logits[size_t(r * b.T * c.vocab_size + i)])));
    if (inf->has_mtp()) {  // depth 1: row i reads token i + 1 and the final-normed state of i
      const int64_t Tk = b.T - 1;
      LatentKvCache mc = inf->new_mtp_cache(Tk);
      std::vector<float> mtp;
      mtp_fwd(*inf, 0, res.hidden.data(), b.tokens.data() + r * b.T + 1, Tk, mc, AttnMode::Naive, mtp, s, pool);
      const std::vector<float>& train_mtp = m->mtp_logits(0);
      ASSERT_EQ(int64_t(train_mtp.size()), b.B * Tk * c.vocab_size);
      for (int64_t i = 0; i < Tk * c.vocab_size; ++i)
        mtp_err = std::max(mtp_err, double(std::fabs(mtp[size_t(i)] - train_mtp[size_t(r * Tk * c.vocab_size + i)])));
    }
  }
  std::printf("[ measured ] %s: max |train - inference| logits %.3g, MTP logits %.3g\n", cs.name, err, mtp_err);
  EXPECT_LE(err, 2e-5);
  EXPECT_LE(mtp_err, 2e-5);
  std::filesystem::remove_all(dir);
}

TEST(TrainVsInference, V3LogitsMatch) { check_against_inference({"v3", "tiny", json::object()}); }
TEST(TrainVsInference, V2LiteYarnLogitsMatch) {
  check_against_inference({"v2lite", "tiny-v2-lite", json{{"q_lora_rank", 0}}});
}
TEST(TrainVsInference, V2GroupLimitedTiedLogitsMatch) {
  check_against_inference({"v2tied", "tiny-v2", json{{"tie_word_embeddings", true}}});
}

TEST(TrainModelCreate, RejectsQuantizedConfigs) {
  const ModelConfig c = tiny_config("tiny", small_v3());
  ModelConfig q = c;
  q.fp8_blocks = true;
  EXPECT_THROW(train_model_create(q, {}), Error);
}

TEST(TrainModelCreate, ParamsUseCheckpointNamesAndDecayRule) {
  const ModelConfig c = tiny_config("tiny", small_v3());
  auto m = train_model_create(c, {.seed = 3, .init_std = 0.02f});
  std::map<std::string, const ParamTensor*> by;
  for (const ParamTensor& p : m->params()) by[p.name] = &p;
  const ParamTensor* bias = by.at("model.layers.1.mlp.gate.e_score_correction_bias");
  EXPECT_TRUE(bias->router_bias);
  EXPECT_EQ(bias->grad, nullptr);
  EXPECT_FALSE(bias->decay);
  EXPECT_EQ(bias->layer, 1);
  for (int64_t i = 0; i < bias->numel(); ++i) EXPECT_EQ(bias->value[i], 0.0f);
  EXPECT_TRUE(by.at("model.layers.0.self_attn.q_a_proj.weight")->decay);
  EXPECT_TRUE(by.at("model.layers.1.mlp.experts.7.down_proj.weight")->decay);
  EXPECT_FALSE(by.at("model.embed_tokens.weight")->decay);
  EXPECT_FALSE(by.at("lm_head.weight")->decay);
  EXPECT_FALSE(by.at("model.norm.weight")->decay);
  const ParamTensor* enorm = by.at("model.layers.2.enorm.weight");  // the MTP module after the 2 main layers
  EXPECT_EQ(enorm->layer, 2);
  EXPECT_FALSE(enorm->decay);
  for (int64_t i = 0; i < enorm->numel(); ++i) EXPECT_EQ(enorm->value[i], 1.0f);
  for (const char* n : {"model.layers.2.eh_proj.weight", "model.layers.2.hnorm.weight",
                        "model.layers.2.shared_head.norm.weight", "model.layers.2.mlp.gate.weight"})
    EXPECT_TRUE(by.count(n)) << n;
  // Shared with the main model, not separate parameters (V3 Sec. 2.2).
  EXPECT_FALSE(by.count("model.layers.2.embed_tokens.weight"));
  EXPECT_FALSE(by.count("model.layers.2.shared_head.head.weight"));
  const ParamTensor* e = by.at("model.embed_tokens.weight");
  ASSERT_EQ(e->shape, (std::vector<int64_t>{c.vocab_size, c.hidden_size}));
  double ss = 0;
  for (int64_t i = 0; i < e->numel(); ++i) ss += double(e->value[i]) * e->value[i];
  EXPECT_NEAR(std::sqrt(ss / double(e->numel())), 0.02, 0.002) << "normal(0, init_std)";
  // Deterministic by seed.
  auto again = train_model_create(c, {.seed = 3, .init_std = 0.02f});
  EXPECT_EQ(std::vector<float>(e->value, e->value + e->numel()),
            std::vector<float>(again->params()[0].value, again->params()[0].value + e->numel()));
}

}  // namespace
}  // namespace frugal
