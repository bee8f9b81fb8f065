// Offline generation of many samples at once (GRPO rollouts, evaluation): G
// samples for each of P prompts, decoded together as one batch of sequences
// (model/batch.h), each with its own latent cache and its own seeded sampler.
// A prompt is prefilled once; its G samples start from copies of its cache.
// Every sample's tokens depend only on (model, prompt, options, its seed), not on
// which other samples share its batch (up to float rounding of batched GEMMs).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/thread_pool.h"
#include "infer/sampler.h"
#include "model/transformer.h"

namespace frugal {

struct BatchGenerateOptions {
  int64_t max_new_tokens = 256;
  SamplerOptions sampling;           // sampling.seed is the base seed (see batch_generate_seed)
  std::vector<int32_t> stop_tokens;  // a sample ends after emitting one of these
  int64_t max_sequences = 64;        // samples decoded together at most
  AttnMode attn = AttnMode::Auto;
};

struct Generation {
  std::vector<int32_t> tokens;  // generated tokens, the stop token included
  bool stopped = false;         // ended on a stop token (not by max_new_tokens)
};

// The seed of sample g of prompt p: the sampler of that sample is seeded with it.
uint64_t batch_generate_seed(uint64_t base, int64_t prompt, int64_t sample);

// Returns P * G generations, prompt-major (prompt p's samples at [p * G, p * G + G)).
// on_progress(done, total) is called after each decode step.
std::vector<Generation> batch_generate(const Model& m, const std::vector<std::vector<int32_t>>& prompts, int64_t G,
                                       const BatchGenerateOptions& opt, ThreadPool& pool,
                                       const std::function<void(int64_t, int64_t)>& on_progress = {});

}  // namespace frugal
