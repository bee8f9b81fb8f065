// POST /v1/chat/completions and /v1/completions: request body -> prompt ids ->
// the engine -> the answer as one JSON object or as server-sent events
// ("data: {chunk}\n\n" ... "data: [DONE]\n\n"), in OpenAI's shapes with
// DeepSeek's additions (reasoning_content, prompt_cache_hit/miss_tokens).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <httplib.h>

#include "infer/engine.h"
#include "serve/api_request.h"
#include "serve/metrics.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

struct CompletionContext {
  const Tokenizer& tokenizer;
  Engine& engine;
  ChatFormat format;
  ApiLimits limits;
  ServeMetrics& metrics;
  std::vector<int32_t> stop_tokens;  // end of sentence
  std::atomic<int64_t>& open_answers;  // answers alive (a graceful stop waits for 0)
};

// Handles one request; throws ApiError before anything is sent.
void completion_handle(const CompletionContext& ctx, const httplib::Request& http_req, httplib::Response& res,
                       bool chat);

// The text frugal adds to the system prompt to describe the tools offered: the
// DeepSeek templates render tool calls and results but not the tool list.
std::string tools_system_text(const nlohmann::json& tools);

}  // namespace frugal
