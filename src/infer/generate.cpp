#include "infer/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/seconds_since.h"
#include "infer/memory_plan.h"
#include "infer/speculative_generate.h"

namespace frugal {

GenerateStats generate(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token, ThreadPool& pool) {
  if (prompt.empty()) fail("the prompt is empty: give at least one token");
  const int64_t capacity = opt.context > 0 ? opt.context : int64_t(prompt.size()) + opt.max_tokens;
  if (int64_t(prompt.size()) >= capacity)
    fail("the prompt has {} tokens but the context holds {}: shorten it or raise --ctx", prompt.size(), capacity);
  memory_check(memory_plan(m, capacity, 1, int64_t(prompt.size())));
  spec_check_model(m, opt.speculative);
  if (opt.speculative > 0) return generate_speculative(m, prompt, opt, capacity, on_token, pool);
  LatentKvCache cache = m.new_cache(capacity);
  ForwardScratch scratch;
  ForwardResult out;
  Sampler sampler(opt.sampling);
  GenerateStats st;
  st.prompt_tokens = int64_t(prompt.size());
  const ForwardOptions fopt{.attn = opt.attn, .all_logits = false};
  const int64_t V = m.config.vocab_size;

  auto t0 = std::chrono::steady_clock::now();
  transformer_fwd(m, prompt.data(), int64_t(prompt.size()), cache, fopt, out, scratch, pool);
  st.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  while (st.generated_tokens < opt.max_tokens) {
    int32_t next = sampler.sample(out.logits.data(), V);
    ++st.generated_tokens;
    bool go_on = on_token(next);
    if (std::find(opt.stop_tokens.begin(), opt.stop_tokens.end(), next) != opt.stop_tokens.end()) {
      st.stopped_at_stop_token = true;
      break;
    }
    if (!go_on || st.generated_tokens == opt.max_tokens || cache.length >= cache.capacity) break;
    transformer_fwd(m, &next, 1, cache, fopt, out, scratch, pool);
  }
  st.decode_seconds = seconds_since(t0);
  return st;
}

}  // namespace frugal
