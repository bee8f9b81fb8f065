// A conversation with a model, for `frugal chat` and `frugal run -p`: the
// messages so far, rendered with the model's chat format, and one latent KV cache
// that keeps the prompt's common prefix from turn to turn (only the new turn is
// prefilled). Answers stream as reasoning / content deltas.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "infer/sampler.h"
#include "infer/speculative.h"
#include "model/transformer.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

struct ChatSessionOptions {
  int64_t context = 4096;        // cache capacity (tokens); clamped to max_position_embeddings
  int64_t max_tokens = 1024;     // per answer
  SamplerOptions sampling;
  AttnMode attn = AttnMode::Auto;
  std::string format;            // chat format name; "" = detect from the template / model type
  int64_t speculative = 0;       // MTP draft depth (infer/speculative.h); 0: plain decoding
};

struct ChatReplyStats {
  int64_t prompt_tokens = 0, cached_tokens = 0, generated_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  bool stopped = false;      // interrupted through the stop flag
  bool hit_limit = false;    // max_tokens or the context ended the answer
  SpecCounters spec;         // with speculative > 0
};

// The chat format named `name`, or (name "") the one detected from the tokenizer's
// chat_template and the model type. Throws frugal::Error for an unknown one.
ChatFormat chat_format_for_model(const ModelConfig& config, const Tokenizer& tokenizer, const std::string& name);

class ChatSession {
 public:
  ChatSession(const Model& model, const Tokenizer& tokenizer, const ChatSessionOptions& opt, ThreadPool& pool);

  ChatFormat format() const { return format_; }
  bool can_toggle_thinking() const { return chat_format_thinking(format_) == ChatThinking::Optional; }
  void set_thinking(bool on) { thinking_ = on; }
  bool thinking() const;
  void set_system(const std::string& text);  // "" removes it
  void reset();                              // forget the conversation (keeps the system prompt)
  int64_t context() const { return cache_.capacity; }
  // The tokens whose latents the cache holds, and the caches (read-only, for tests).
  const std::vector<int32_t>& cached_ids() const { return cached_ids_; }
  const LatentKvCache& cache() const { return cache_; }
  const LatentKvCache& mtp_cache() const { return mtp_cache_; }

  // Adds the user's message, generates the answer and appends it to the history.
  // on_delta receives reasoning / content text as it is decoded. Throws
  // frugal::Error (history unchanged) when the conversation no longer fits.
  ChatReplyStats reply(const std::string& user_text,
                       const std::function<void(const std::string& reasoning, const std::string& content)>& on_delta,
                       const std::atomic<bool>* stop = nullptr);

  // Raw completion (no chat format): continues `text` (BOS added per the tokenizer).
  ChatReplyStats complete(const std::string& text, const std::function<void(const std::string&)>& on_text,
                          const std::atomic<bool>* stop = nullptr);

 private:
  // Brings the cache to `ids` (keeping the common prefix) and generates.
  ChatReplyStats generate(const std::vector<int32_t>& ids, const std::function<void(int32_t)>& on_token,
                          const std::atomic<bool>* stop);

  const Model& model_;
  const Tokenizer& tokenizer_;
  ChatSessionOptions opt_;
  ThreadPool& pool_;
  ChatFormat format_;
  std::optional<bool> thinking_;
  std::string system_;
  std::vector<ChatMessage> history_;
  LatentKvCache cache_;
  std::vector<int32_t> cached_ids_;  // the tokens whose latents the cache holds
  LatentKvCache mtp_cache_;          // with speculative > 0: MTP rows 0 .. mtp_cache_.length - 1
  SpecScratch spec_scratch_;
  ForwardScratch scratch_;
  ForwardResult out_;
  std::vector<int32_t> stop_ids_;
};

}  // namespace frugal
