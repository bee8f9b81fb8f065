// Legend: T tokens, d hidden, V vocab.
#include "model/transformer.h"

#include <filesystem>

#include "core/error.h"
#include "core/trace.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"

namespace frugal {

namespace {

void embed(const MatrixView& table, const int32_t* tokens, int64_t T, float* h) {
  for (int64_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || tokens[t] >= table.rows)
      fail("token id {} at position {} is outside the vocabulary [0, {})", tokens[t], t, table.rows);
    table.row_to_f32(tokens[t], h + t * table.cols);
  }
}

// One decoder layer on the residual stream h: [T, d], in place (T = batch rows).
void decoder_layer_fwd(const Model& m, const LayerWeights& w, int64_t cache_layer, float* h, const Batch& batch,
                       AttnMode attn, ForwardScratch& s, ThreadPool& pool, const TraceName& name) {
  const ModelConfig& c = m.config;
  const int64_t d = c.hidden_size, T = batch_rows(batch);
  const float eps = float(c.rms_norm_eps);
  s.normed.resize(size_t(T * d));
  s.sub_out.resize(size_t(T * d));
  rmsnorm(s.normed.data(), d, h, d, T, d, w.input_layernorm, eps);                       // [T, d]
  mla_fwd(MlaArgs{c, w.self_attn, m.rope, attn, cache_layer}, batch, s.normed.data(), s.sub_out.data(), s.mla,
          pool);                                                                         // [T, d]
  trace(name, "attn_out", s.sub_out.data(), T, d);
  add_inplace(h, s.sub_out.data(), T * d);                                               // residual
  rmsnorm(s.normed.data(), d, h, d, T, d, w.post_attention_layernorm, eps);
  if (w.is_moe) moe_fwd(c, w.moe, s.normed.data(), T, s.sub_out.data(), s.moe, pool, name);
  else          mlp_fwd(w.mlp, s.normed.data(), T, s.sub_out.data(), s.mlp, pool);
  trace(name, "ffn_out", s.sub_out.data(), T, d);
  add_inplace(h, s.sub_out.data(), T * d);                                               // residual
  trace(name, "out", h, T, d);
}

// logits = head(x) for every row of x: [T, d], or for each sequence's last row.
void head_fwd(const MatrixView& head, const Batch& batch, const float* x, bool all, std::vector<float>& logits,
              ForwardScratch& s, ThreadPool& pool) {
  const int64_t d = head.cols;
  int64_t rows = batch_rows(batch);
  if (!all) {
    rows = int64_t(batch.size());
    s.last_rows.resize(size_t(rows * d));
    for (size_t i = 0; i < batch.size(); ++i)
      std::copy_n(x + (batch[i].row0 + batch[i].n - 1) * d, d, s.last_rows.data() + int64_t(i) * d);
    x = s.last_rows.data();
  }
  logits.resize(size_t(rows * head.rows));
  linear(logits.data(), x, rows, head, pool);                                            // [rows, V]
}

// Rejects a batch before anything is written: rows must tile [0, R) in order,
// and every sequence must fit in its cache.
void check_batch(const Batch& batch, const char* what) {
  int64_t row = 0;
  for (const BatchSeq& b : batch) {
    FRUGAL_CHECK(b.row0 == row && b.n > 0, "batch rows out of order at row {}", row);
    row += b.n;
    if (b.cache->length + b.n > b.cache->capacity)
      fail("{} tokens do not fit: the {}context holds {} and {} are used", b.n, what, b.cache->capacity,
           b.cache->length);
  }
  FRUGAL_CHECK(row > 0, "empty batch");
}

}  // namespace

LatentKvCache Model::new_cache(int64_t capacity) const {
  return LatentKvCache(config.num_hidden_layers, capacity, config.kv_lora_rank, config.qk_rope_head_dim);
}

LatentKvCache Model::new_mtp_cache(int64_t capacity) const {
  return LatentKvCache(1, capacity, config.kv_lora_rank, config.qk_rope_head_dim);
}

std::unique_ptr<Model> model_load(const std::string& dir, WeightLoad load) {
  auto cfg = config_load((std::filesystem::path(dir) / "config.json").string());
  auto ckpt = std::make_unique<Checkpoint>(dir, load);
  ModelWeights w = weights_load(*ckpt, cfg);
  RopeTable rope(cfg);
  return std::unique_ptr<Model>(new Model{cfg, std::move(ckpt), std::move(w), std::move(rope)});
}

std::unique_ptr<Model> model_from_tensors(const ModelConfig& cfg,
                                          const std::function<const float*(const std::string& name)>& lookup) {
  const bool with_mtp = cfg.num_nextn_predict_layers > 0 &&
                        lookup("model.layers." + std::to_string(cfg.num_hidden_layers) + ".eh_proj.weight");
  ModelWeights w;
  weights_visit(w, cfg, with_mtp, [&](const TensorSlot& s) {
    const float* data = lookup(s.name);
    if (!data) {
      // As in weights_load: MTP modules may share the main embedding and head.
      if (s.name.starts_with("model.layers.") && s.name.ends_with(".embed_tokens.weight")) data = lookup("model.embed_tokens.weight");
      if (s.name.ends_with("shared_head.head.weight")) data = lookup("lm_head.weight");
      if (!data) fail("model_from_tensors: tensor '{}' is missing", s.name);
    }
    *s.view = MatrixView{.data = data, .dtype = DType::F32, .rows = s.rows, .cols = s.cols};
  });
  RopeTable rope(cfg);
  return std::unique_ptr<Model>(new Model{cfg, nullptr, std::move(w), std::move(rope)});
}

void transformer_fwd(const Model& m, const Batch& batch, const int32_t* tokens, const ForwardOptions& opt,
                     ForwardResult& out, ForwardScratch& s, ThreadPool& pool) {
  const ModelConfig& c = m.config;
  const int64_t d = c.hidden_size, T = batch_rows(batch);
  check_batch(batch, "");
  s.h.resize(size_t(T * d));
  embed(m.weights.embed_tokens, tokens, T, s.h.data());                                  // [T, d]
  trace("embed", s.h.data(), T, d);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    decoder_layer_fwd(m, m.weights.layers[size_t(l)], l, s.h.data(), batch, opt.attn, s, pool,
                      TraceName{"layer", l});
  for (const BatchSeq& b : batch) b.cache->length += b.n;
  out.hidden.resize(size_t(T * d));
  rmsnorm(out.hidden.data(), d, s.h.data(), d, T, d, m.weights.norm, float(c.rms_norm_eps));   // [T, d]
  trace("final_norm", out.hidden.data(), T, d);
  head_fwd(m.weights.lm_head, batch, out.hidden.data(), opt.all_logits, out.logits, s, pool);  // [., V]
}

void transformer_fwd(const Model& m, const int32_t* tokens, int64_t T, LatentKvCache& cache,
                     const ForwardOptions& opt, ForwardResult& out, ForwardScratch& s, ThreadPool& pool) {
  FRUGAL_CHECK(T > 0, "empty input");
  thread_local Batch one(1);  // reused: no allocation per decoded token
  one[0] = {&cache, 0, T};
  transformer_fwd(m, one, tokens, opt, out, s, pool);
}

void mtp_fwd(const Model& m, int64_t k, const Batch& batch, const float* hidden, const int32_t* next_tokens,
             AttnMode attn, std::vector<float>& logits, ForwardScratch& s, ThreadPool& pool,
             const MtpOutputs& out) {
  const ModelConfig& c = m.config;
  FRUGAL_CHECK(k >= 0 && k < int64_t(m.weights.mtp.size()), "MTP module {} of {}", k, m.weights.mtp.size());
  const MtpWeights& w = m.weights.mtp[size_t(k)];
  const int64_t d = c.hidden_size, T = batch_rows(batch);
  const float eps = float(c.rms_norm_eps);
  check_batch(batch, "MTP ");
  // [enorm(embed(next)); hnorm(hidden)]                                [T, 2d]
  s.eh_in.resize(size_t(T * 2 * d));
  s.normed.resize(size_t(T * d));
  embed(w.embed_tokens, next_tokens, T, s.normed.data());
  rmsnorm(s.eh_in.data(), 2 * d, s.normed.data(), d, T, d, w.enorm, eps);
  rmsnorm(s.eh_in.data() + d, 2 * d, hidden, d, T, d, w.hnorm, eps);
  s.h.resize(size_t(T * d));
  linear(s.h.data(), s.eh_in.data(), T, w.eh_proj, pool);                                // [T, d]
  decoder_layer_fwd(m, w.layer, 0, s.h.data(), batch, attn, s, pool, TraceName{"mtp", k});
  for (const BatchSeq& b : batch) b.cache->length += b.n;
  s.normed.resize(size_t(T * d));
  rmsnorm(s.normed.data(), d, s.h.data(), d, T, d, w.shared_head_norm, eps);
  head_fwd(w.shared_head_head, batch, s.normed.data(), out.all_logits, logits, s, pool);  // [T or n_seqs, V]
  if (out.hidden && out.all_logits) out.hidden->assign(s.normed.begin(), s.normed.begin() + T * d);
  if (out.hidden && !out.all_logits) out.hidden->assign(s.last_rows.begin(), s.last_rows.end());  // head_fwd's copy
}

void mtp_fwd(const Model& m, int64_t k, const float* hidden, const int32_t* next_tokens, int64_t T,
             LatentKvCache& cache, AttnMode attn, std::vector<float>& logits, ForwardScratch& s,
             ThreadPool& pool) {
  FRUGAL_CHECK(T > 0, "empty input");
  thread_local Batch one(1);
  one[0] = {&cache, 0, T};
  mtp_fwd(m, k, one, hidden, next_tokens, attn, logits, s, pool);
}

}  // namespace frugal
