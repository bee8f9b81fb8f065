#include "cli/generation_flags.h"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

#include "cli/commands.h"

namespace frugal {

void generation_flags_add(CLI::App* sub, GenerationArgs& a) {
  sub->add_option("-m,--model", a.model, "Model directory (default: $FRUGAL_MODEL or models/default)");
  sub->add_option("--ctx", a.ctx, "Context size in tokens")->check(CLI::PositiveNumber);
  sub->add_option("-n,--max-tokens", a.max_tokens, "Most tokens per answer")->check(CLI::PositiveNumber);
  sub->add_option("--temperature", a.temperature, "Sampling temperature (0: greedy)")->check(CLI::NonNegativeNumber);
  sub->add_option("--top-k", a.top_k, "Keep the k most likely tokens (0: off)")->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", a.top_p, "Nucleus sampling mass (1: off)")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--min-p", a.min_p, "Drop tokens below min_p * p_max (0: off)")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--seed", a.seed, "Random seed for sampling");
  sub->add_option("--format", a.format, "Chat format (default: from the tokenizer's chat_template)");
  sub->add_option("--attn", a.attn, "Attention path: naive, absorb(ed), or auto (naive for prefill, absorbed for decode)")->check(CLI::IsMember({"auto", "naive", "absorb"}));
  sub->add_option("-t,--threads", a.threads, "Threads (default: all cores)");
  sub->add_option("--speculative", a.speculative,
                  "Draft N tokens per step with the model's MTP layer and verify them in one pass (0: off)")
      ->check(CLI::Range(int64_t(0), kSpecMaxDepth));
  mmap_flag_add(sub, a.mmap);
  bf16_activations_flag_add(sub);
}

SamplerOptions generation_sampling(const GenerationArgs& a) {
  return {.temperature = a.temperature, .top_k = a.top_k, .top_p = a.top_p, .min_p = a.min_p, .seed = a.seed};
}

AttnMode generation_attn(const GenerationArgs& a) { return attn_mode_parse(a.attn); }

ChatSessionOptions generation_session_options(const GenerationArgs& a) {
  ChatSessionOptions o;
  o.context = a.ctx;
  o.max_tokens = a.max_tokens;
  o.sampling = generation_sampling(a);
  o.attn = generation_attn(a);
  o.format = a.format;
  o.speculative = a.speculative;
  return o;
}

std::string spec_summary(const SpecCounters& c) {
  if (c.steps == 0) return "";
  std::string s = fmt::format("speculative: {:.2f} tokens per step, acceptance by draft position", c.tokens_per_step());
  for (size_t k = 0; k < c.reached.size() && c.reached[k] > 0; ++k)
    s += fmt::format(" {:.2f}", double(c.accepted[k]) / double(c.reached[k]));
  return s;
}

void chat_stats_print(const ChatReplyStats& st) {
  std::fprintf(stderr, "[%lld prompt tokens (%lld cached) in %.2f s; %lld tokens at %.1f tok/s%s]\n",
               (long long)st.prompt_tokens, (long long)st.cached_tokens, st.prefill_seconds,
               (long long)st.generated_tokens, st.generated_tokens / std::max(st.decode_seconds, 1e-9),
               st.stopped ? "; stopped" : st.hit_limit ? "; hit the token limit" : "");
  if (st.spec.steps > 0) std::fprintf(stderr, "[%s]\n", spec_summary(st.spec).c_str());
}

}  // namespace frugal
