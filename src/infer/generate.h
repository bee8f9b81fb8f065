// Autoregressive generation for one sequence: prefill the prompt in one forward
// pass, then decode token by token from the latent KV cache.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/thread_pool.h"
#include "infer/sampler.h"
#include "infer/speculative.h"
#include "model/transformer.h"

namespace frugal {

struct GenerateOptions {
  int64_t max_tokens = 128;
  SamplerOptions sampling;
  std::vector<int32_t> stop_tokens;  // generation ends after emitting one of these
  AttnMode attn = AttnMode::Auto;
  int64_t context = 0;               // cache capacity; 0: prompt + max_tokens
  int64_t speculative = 0;           // MTP draft depth (infer/speculative.h); 0: plain decoding
};

struct GenerateStats {
  int64_t prompt_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  bool stopped_at_stop_token = false;
  SpecCounters spec;  // with opt.speculative > 0
};

// on_token is called with each generated token as soon as it is chosen; it may
// return false to stop early. With opt.speculative > 0 the tokens come a few at
// a time from speculative_generate.cpp (the same tokens when greedy, the same
// distribution when sampling).
GenerateStats generate(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token, ThreadPool& pool);

}  // namespace frugal
