// Flags shared by the commands that generate (run, chat): model, context,
// sampling, format, threads.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "infer/chat_session.h"

namespace frugal {

struct GenerationArgs {
  std::string model, format, attn = "auto";
  int64_t ctx = 4096, max_tokens = 1024;
  float temperature = 0.6f, top_p = 0.95f, min_p = 0.0f;
  int64_t top_k = 0;
  uint64_t seed = 0;
  int threads = 0;
  int64_t speculative = 0;  // MTP draft depth; 0: off
  bool mmap = false;
};

void generation_flags_add(CLI::App* sub, GenerationArgs& a);
ChatSessionOptions generation_session_options(const GenerationArgs& a);
SamplerOptions generation_sampling(const GenerationArgs& a);
AttnMode generation_attn(const GenerationArgs& a);
void chat_stats_print(const ChatReplyStats& st);
// "speculative: 2.31 tokens per step, acceptance 0.81 0.62" ("" when not used).
std::string spec_summary(const SpecCounters& c);

}  // namespace frugal
