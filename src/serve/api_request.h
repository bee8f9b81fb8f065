// The request bodies of POST /v1/chat/completions and /v1/completions, read and
// checked field by field: anything the server cannot honour is a 4xx ApiError
// naming the field, never a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/sampler.h"
#include "tokenizer/chat_message.h"

namespace frugal {

struct ApiLimits {
  std::string model;           // the one model served (its id in /v1/models)
  int64_t context = 4096;      // prompt + answer tokens
  int64_t default_max_tokens = 1024;
  float default_temperature = 1.0f, default_top_p = 1.0f;  // for requests that give none
};

struct ApiRequest {
  bool chat = true;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions
  nlohmann::json tools;               // the "tools" array as given, or null
  std::optional<bool> thinking;       // chat_template_kwargs.enable_thinking
  int64_t max_tokens = 0;
  SamplerOptions sampling;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  bool ignore_eos = false;  // vLLM's extension: generate max_tokens whatever comes (benchmarks, tests)
  bool speculative = true;  // frugal's extension: false opts out of MTP drafting (serve --speculative)
};

// Throws ApiError. `body` is the raw request body (checked for UTF-8 first).
ApiRequest api_request_parse(const std::string& body, bool chat, const ApiLimits& limits);

}  // namespace frugal
