// Tiny synth models for the speculative-decoding tests, and plain decoding as
// the reference they are held to.
//
// A random MTP layer almost never agrees with the random main model (drafts
// are rejected at a rate ~ 1 - 1/vocab), which tests rejection but not
// acceptance. `agreeable` rebuilds the model so that the MTP module predicts it
// well: the main layers' residual branches are scaled by `alpha` (their
// o_proj and down_proj), so that at alpha = 0 the main model is a bigram model,
//   logits(t_{i+1}) = lm_head(norm(embed(t_i))),
// and the MTP module is made to compute that same bigram of its input token:
// eh_proj = [I 0] keeps enorm(embed(t_{i+1})) and drops the hidden state, its
// layer adds nothing (o_proj = down_proj = 0), shared_head = (norm, lm_head),
// enorm = 1 (norm(enorm(e)) is norm(e) up to a positive factor 1 + O(eps)).
// alpha = 0: every draft is right; alpha > 0: the main model's own layers make
// it depart from the bigram, so some drafts are rejected.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "../model/model_test_util.h"
#include "infer/generate.h"
#include "infer/speculative.h"
#include "model/synth.h"

namespace frugal::test {

struct SpecTestModel {
  std::unique_ptr<testing_util::TempDir> dir;
  std::unique_ptr<Model> model;
  std::deque<std::vector<float>> owned;  // f32 weights that replaced the checkpoint's

  // f32 copy of v times `scale`, owned here.
  MatrixView scaled(const MatrixView& v, float scale) {
    std::vector<float>& w = owned.emplace_back(size_t(v.rows * v.cols));
    for (int64_t r = 0; r < v.rows; ++r) {
      v.row_to_f32(r, w.data() + r * v.cols);
      for (int64_t c = 0; c < v.cols; ++c) w[size_t(r * v.cols + c)] *= scale;
    }
    return MatrixView{.data = w.data(), .dtype = DType::F32, .rows = v.rows, .cols = v.cols};
  }
  MatrixView filled(int64_t rows, int64_t cols, float value) {
    std::vector<float>& w = owned.emplace_back(size_t(rows * cols), value);
    return MatrixView{.data = w.data(), .dtype = DType::F32, .rows = rows, .cols = cols};
  }

  // Scales the residual branches of a decoder layer (attention and FFN outputs).
  void scale_branches(LayerWeights& l, float s) {
    l.self_attn.o_proj = scaled(l.self_attn.o_proj, s);
    if (!l.is_moe) {
      l.mlp.down_proj = scaled(l.mlp.down_proj, s);
      return;
    }
    for (MlpWeights& e : l.moe.experts) e.down_proj = scaled(e.down_proj, s);
    if (l.moe.shared_experts.down_proj.data) l.moe.shared_experts.down_proj = scaled(l.moe.shared_experts.down_proj, s);
  }

  void make_agreeable(float alpha) {
    ModelWeights& w = model->weights;
    const int64_t d = model->config.hidden_size;
    for (LayerWeights& l : w.layers) scale_branches(l, alpha);
    MtpWeights& t = w.mtp.at(0);
    t.embed_tokens = w.embed_tokens;
    t.enorm = filled(1, d, 1.0f);
    MatrixView eh = filled(d, 2 * d, 0.0f);
    float* e = const_cast<float*>(static_cast<const float*>(eh.data));
    for (int64_t i = 0; i < d; ++i) e[i * 2 * d + i] = 1.0f;  // [I 0]: keep the token, drop the hidden state
    t.eh_proj = eh;
    scale_branches(t.layer, 0.0f);
    t.shared_head_norm = w.norm;
    t.shared_head_head = w.lm_head;
  }
};

// like "tiny" (V3 shape with one MTP layer); agree < 0: the random model as
// synthesized, else make_agreeable(agree).
inline SpecTestModel spec_test_model(float agree, uint64_t seed = 3, nlohmann::json overrides = nlohmann::json::object(),
                                     SynthDType dtype = SynthDType::F32) {
  SpecTestModel t;
  t.dir = std::make_unique<testing_util::TempDir>("spec");
  synth_checkpoint({.like = "tiny", .dtype = dtype, .seed = seed, .config_overrides = overrides}, t.dir->str());
  t.model = model_load(t.dir->str());
  if (agree >= 0) t.make_agreeable(agree);
  return t;
}

inline std::vector<int32_t> some_tokens(int64_t n, int64_t vocab, uint32_t seed) {
  std::vector<int32_t> ids;
  uint32_t s = seed * 2654435761u + 12345u;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    ids.push_back(int32_t((s >> 8) % uint32_t(vocab)));
  }
  return ids;
}

// Plain decoding (one forward pass per token), the reference.
inline std::vector<int32_t> generate_plain(const Model& m, const std::vector<int32_t>& prompt, int64_t n,
                                           const SamplerOptions& sampling, ThreadPool& pool) {
  std::vector<int32_t> out;
  generate(m, prompt, {.max_tokens = n, .sampling = sampling}, [&](int32_t id) {
    out.push_back(id);
    return true;
  }, pool);
  return out;
}

inline std::vector<int32_t> generate_spec(const Model& m, const std::vector<int32_t>& prompt, int64_t n, int64_t depth,
                                          const SamplerOptions& sampling, ThreadPool& pool,
                                          SpecCounters* counts = nullptr) {
  std::vector<int32_t> out;
  GenerateStats st = generate(m, prompt, {.max_tokens = n, .sampling = sampling, .speculative = depth}, [&](int32_t id) {
    out.push_back(id);
    return true;
  }, pool);
  if (counts) *counts += st.spec;
  return out;
}

}  // namespace frugal::test
