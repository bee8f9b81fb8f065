// Helpers of the training-model tests: tiny configs, batches, saving a model's
// parameters as an f32 checkpoint that `frugal run` / the PyTorch reference load.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/synth.h"
#include "train/train_model.h"

namespace frugal::train_test {

using nlohmann::json;

// The "tiny" (V3) or "tiny-v2"/"tiny-v2-lite" preset shrunk to `overrides`.
inline ModelConfig tiny_config(const std::string& like, const json& overrides) {
  json j = synth_preset(like);
  j.merge_patch(overrides);
  return config_from_json(j, like);
}

// Smallest shapes that still take every path: 2 dense + MoE layers, q LoRA,
// YaRN, 4 groups of 2 experts, 1 shared expert, MTP depth 1.
inline json small_v3() {
  return json{{"vocab_size", 24},         {"hidden_size", 16},          {"intermediate_size", 20},
              {"moe_intermediate_size", 6}, {"num_hidden_layers", 2},   {"num_attention_heads", 2},
              {"q_lora_rank", 12},        {"kv_lora_rank", 8},          {"qk_nope_head_dim", 4},
              {"qk_rope_head_dim", 4},    {"v_head_dim", 6},            {"n_routed_experts", 8},
              {"num_experts_per_tok", 2}, {"n_group", 4},               {"topk_group", 2},
              {"first_k_dense_replace", 1},
              {"rope_scaling", {{"type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 4},
                                {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", 1.0}, {"mscale_all_dim", 1.0}}}};
}

// A batch of B rows of T tokens with two documents in row 0 and masked labels.
inline TrainBatch make_batch(int64_t B, int64_t T, int64_t vocab, uint64_t seed) {
  std::mt19937 rng{uint32_t(seed)};
  TrainBatch b{.B = B, .T = T};
  for (int64_t r = 0; r < B; ++r)
    for (int64_t t = 0; t < T; ++t) {
      b.tokens.push_back(int32_t(rng() % uint32_t(vocab)));
      b.doc.push_back(r == 0 && t >= T / 2 ? 1 : 0);  // row 0 packs two documents
    }
  for (int64_t r = 0; r < B; ++r)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = r * T + t;
      int32_t label = t + 1 < T ? b.tokens[size_t(n + 1)] : -1;
      if (t + 1 < T && b.doc[size_t(n + 1)] != b.doc[size_t(n)]) label = -1;  // no loss across documents
      if (r == B - 1 && t == 1) label = -1;                                       // a masked target
      b.labels.push_back(label);
    }
  return b;
}

// config.json + model.safetensors (f32) of the model's parameters, in `dir`.
inline void save_f32_checkpoint(Trainable& m, const std::string& dir) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/config.json", config_to_json(m.config()).dump(2));
  std::vector<TensorToWrite> ts;
  for (const ParamTensor& p : m.params()) ts.push_back({TensorSpec{p.name, DType::F32, p.shape}, p.value});
  safetensors_write(dir + "/model.safetensors", ts);
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace frugal::train_test
