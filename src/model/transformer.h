// The DeepSeek-V2/V3 decoder (V3 report Sec. 2):
//   h = embed(tokens); per layer h += MLA(RMSNorm(h)); h += FFN(RMSNorm(h));
//   logits = lm_head(RMSNorm(h))
// and the MTP modules stored after the last layer (V3 report Sec. 2.2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/mla.h"
#include "model/mlp.h"
#include "model/moe.h"
#include "model/rope.h"
#include "model/weights.h"

namespace frugal {

struct Model {
  ModelConfig config;
  std::unique_ptr<Checkpoint> checkpoint;  // owns the mapped weights; null for model_from_tensors
  ModelWeights weights;
  RopeTable rope;

  bool has_mtp() const { return !weights.mtp.empty(); }
  // A latent cache for `capacity` positions of the main model / of MTP module k.
  LatentKvCache new_cache(int64_t capacity) const;
  LatentKvCache new_mtp_cache(int64_t capacity) const;
};

// Reads config.json and the safetensors of a Hugging Face model directory; the
// weights are copied into huge pages or mapped as `load` says (model/checkpoint.h).
std::unique_ptr<Model> model_load(const std::string& dir, WeightLoad load = WeightLoad::Auto);

// A model over fp32 tensors held elsewhere (a trainer's master weights), by
// checkpoint name: no copy, so the model always computes with their current
// values (GRPO samples from the policy being trained). `lookup` returns null for
// an absent tensor; MTP modules are bound when the first one is present. The
// tensors must outlive the model.
std::unique_ptr<Model> model_from_tensors(const ModelConfig& cfg,
                                          const std::function<const float*(const std::string& name)>& lookup);

struct ForwardScratch {
  std::vector<float> h, normed, sub_out, eh_in, last_rows;
  MlaScratch mla;
  MlpScratch mlp;
  MoeScratch moe;
};

struct ForwardOptions {
  AttnMode attn = AttnMode::Auto;
  bool all_logits = true;  // false: logits of each sequence's last row only
};

struct ForwardResult {
  std::vector<float> hidden;  // [R, d] after the final norm (the MTP modules' input)
  std::vector<float> logits;  // [R, vocab], or [n_seqs, vocab] without all_logits
};

// Runs a batch of sequences (model/batch.h); tokens: [R] in row order. Each
// sequence's tokens go to positions cache->length .. + n - 1 of its own cache,
// whose length then advances. Nothing is written when the input is rejected.
void transformer_fwd(const Model& m, const Batch& batch, const int32_t* tokens, const ForwardOptions& opt,
                     ForwardResult& out, ForwardScratch& s, ThreadPool& pool);
// One sequence: tokens[0..T) appended to `cache`.
void transformer_fwd(const Model& m, const int32_t* tokens, int64_t T, LatentKvCache& cache,
                     const ForwardOptions& opt, ForwardResult& out, ForwardScratch& s, ThreadPool& pool);

// MTP module k (0-based; stored as layer num_hidden_layers + k). Row i predicts
// the token after next_tokens[i]:
//   head(norm(Layer(eh_proj([enorm(embed(next_tokens[i])); hnorm(hidden[i])]))))
// with hidden[i] the main model's final-normed state at position cache.length + i,
// the position its own layer attends at (vLLM / SGLang convention; pinned by
// tests/model/test_forward.cpp against tests/data/reference).
struct MtpOutputs {
  bool all_logits = true;                // false: each sequence's last row only, [n_seqs, V]
  // Optional: the module's output after shared_head.norm, for the same rows as
  // the logits: the `hidden` of the next depth when a single module is chained
  // to draft several tokens (speculative decoding; SGLang's EAGLE worker feeds
  // it back the same way).
  std::vector<float>* hidden = nullptr;
};
void mtp_fwd(const Model& m, int64_t k, const Batch& batch, const float* hidden, const int32_t* next_tokens,
             AttnMode attn, std::vector<float>& logits, ForwardScratch& s, ThreadPool& pool,
             const MtpOutputs& out = {});
void mtp_fwd(const Model& m, int64_t k, const float* hidden, const int32_t* next_tokens, int64_t T,
             LatentKvCache& cache, AttnMode attn, std::vector<float>& logits, ForwardScratch& s,
             ThreadPool& pool);

}  // namespace frugal
