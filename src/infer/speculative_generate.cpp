#include "infer/speculative_generate.h"

#include <algorithm>
#include <chrono>

#include "core/seconds_since.h"

namespace frugal {

GenerateStats generate_speculative(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                                   int64_t capacity, const std::function<bool(int32_t)>& on_token, ThreadPool& pool) {
  LatentKvCache cache = m.new_cache(capacity), mtp_cache = m.new_mtp_cache(capacity);
  Sampler sampler(opt.sampling);
  SpecScratch s;
  GenerateStats st;
  const int64_t T = int64_t(prompt.size());
  st.prompt_tokens = T;

  auto t0 = std::chrono::steady_clock::now();
  transformer_fwd(m, prompt.data(), T, cache, {.attn = opt.attn, .all_logits = false}, s.verify, s.main, pool);
  st.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const int32_t first = sampler.sample(s.verify.logits.data(), m.config.vocab_size);
  SpecSequence seq{.cache = &cache, .mtp_cache = &mtp_cache, .sampler = &sampler, .depth = opt.speculative};
  spec_begin(seq, prompt.data(), s.verify.hidden.data(), T, first, m.config.hidden_size);
  const std::vector<SpecSequence*> batch{&seq};

  // Emits one token; false when generation ends with it (the same rules, in the
  // same order, as the plain loop in generate.cpp).
  auto emit = [&](int32_t id) {
    ++st.generated_tokens;
    const bool go_on = on_token(id);
    if (std::find(opt.stop_tokens.begin(), opt.stop_tokens.end(), id) != opt.stop_tokens.end()) {
      st.stopped_at_stop_token = true;
      return false;
    }
    return go_on && st.generated_tokens < opt.max_tokens;
  };
  bool go_on = emit(first);
  while (go_on && cache.length < cache.capacity) {
    spec_step(m, batch, opt.attn, s, pool);
    for (int32_t id : seq.emitted)
      if (!(go_on = emit(id))) break;
  }
  st.decode_seconds = seconds_since(t0);
  st.spec = seq.counts;
  return st;
}

}  // namespace frugal
