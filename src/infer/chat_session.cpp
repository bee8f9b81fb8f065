#include "infer/chat_session.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/seconds_since.h"
#include "infer/memory_plan.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/reasoning_parser.h"

namespace frugal {

ChatFormat chat_format_for_model(const ModelConfig& config, const Tokenizer& tokenizer, const std::string& name) {
  if (!name.empty()) return chat_format_parse(name);
  return chat_format_detect(tokenizer.chat_template(),
                            config.model_type == ModelType::DeepseekV3 ? "deepseek_v3" : "deepseek_v2");
}

ChatSession::ChatSession(const Model& model, const Tokenizer& tokenizer, const ChatSessionOptions& opt,
                         ThreadPool& pool)
    : model_(model), tokenizer_(tokenizer), opt_(opt), pool_(pool) {
  spec_check_model(model, opt.speculative);
  format_ = chat_format_for_model(model.config, tokenizer, opt.format);
  const int64_t ctx = std::min(opt.context, model.config.max_position_embeddings);
  memory_check(memory_plan(model, ctx, 1, ctx));
  cache_ = model.new_cache(ctx);
  if (opt.speculative > 0) mtp_cache_ = model.new_mtp_cache(ctx);
  for (int32_t id : {tokenizer.eos_id(), int32_t(model.config.eos_token_id)})
    if (id >= 0 && std::find(stop_ids_.begin(), stop_ids_.end(), id) == stop_ids_.end()) stop_ids_.push_back(id);
}

bool ChatSession::thinking() const {
  switch (chat_format_thinking(format_)) {
    case ChatThinking::Never: return false;
    case ChatThinking::Always: return true;
    case ChatThinking::Optional: return thinking_.value_or(true);
  }
  return false;
}

void ChatSession::set_system(const std::string& text) { system_ = text; }

void ChatSession::reset() {
  history_.clear();  // the cache keeps its prefix: the next prompt shares the system part
}

ChatReplyStats ChatSession::generate(const std::vector<int32_t>& ids, const std::function<void(int32_t)>& on_token,
                                     const std::atomic<bool>* stop) {
  ChatReplyStats st;
  st.prompt_tokens = int64_t(ids.size());
  if (int64_t(ids.size()) >= cache_.capacity)
    fail("the conversation has {} tokens and the context holds {}: /reset, or start with a larger --ctx",
         ids.size(), cache_.capacity);
  // Reuse the latents of the longest common prefix (at least one token is fed
  // again so that its logits are computed).
  int64_t keep = 0;
  while (keep < int64_t(cached_ids_.size()) && keep < int64_t(ids.size()) - 1 && cached_ids_[size_t(keep)] == ids[size_t(keep)])
    ++keep;
  if (opt_.speculative > 0) {
    // MTP row j was computed from t_{j+1}: rows up to keep - 2 are certainly
    // this prompt's; the main cache restarts there too, so that its prefill
    // yields the hidden states the MTP module is owed from there on.
    keep = std::max<int64_t>(0, std::min(keep - 1, mtp_cache_.length));
    mtp_cache_.length = keep;
  }
  cache_.length = keep;
  cached_ids_.resize(size_t(keep));
  st.cached_tokens = keep;

  Sampler sampler(opt_.sampling);
  const ForwardOptions fopt{.attn = opt_.attn, .all_logits = false};
  auto t0 = std::chrono::steady_clock::now();
  transformer_fwd(model_, ids.data() + keep, int64_t(ids.size()) - keep, cache_, fopt, out_, scratch_, pool_);
  cached_ids_.insert(cached_ids_.end(), ids.begin() + keep, ids.end());
  st.prefill_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  // Emits one token; false when the answer ends with it.
  auto emit = [&](int32_t id) {
    if (stop && stop->load()) {
      st.stopped = true;
      return false;
    }
    if (std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) return false;
    ++st.generated_tokens;
    on_token(id);
    if (st.generated_tokens < opt_.max_tokens) return true;
    st.hit_limit = true;
    return false;
  };
  int32_t next = sampler.sample(out_.logits.data(), model_.config.vocab_size);
  if (opt_.speculative == 0) {
    while (emit(next)) {
      if (cache_.length >= cache_.capacity) {
        st.hit_limit = true;
        break;
      }
      transformer_fwd(model_, &next, 1, cache_, fopt, out_, scratch_, pool_);
      cached_ids_.push_back(next);
      next = sampler.sample(out_.logits.data(), model_.config.vocab_size);
    }
  } else {
    SpecSequence seq{.cache = &cache_, .mtp_cache = &mtp_cache_, .sampler = &sampler, .depth = opt_.speculative};
    spec_begin(seq, ids.data() + keep, out_.hidden.data(), int64_t(ids.size()) - keep, next, model_.config.hidden_size);
    seq.emitted = {next};
    for (;;) {
      bool go_on = true;
      for (int32_t id : seq.emitted)
        if (!(go_on = emit(id))) break;
      if (!go_on) break;
      if (cache_.length >= cache_.capacity) {
        st.hit_limit = true;
        break;
      }
      cached_ids_.push_back(seq.current);
      spec_step(model_, {&seq}, opt_.attn, spec_scratch_, pool_);
      cached_ids_.insert(cached_ids_.end(), seq.emitted.begin(), seq.emitted.end() - 1);  // now in the cache
    }
    st.spec = seq.counts;
  }
  st.decode_seconds = seconds_since(t0);
  return st;
}

ChatReplyStats ChatSession::reply(const std::string& user_text,
                                  const std::function<void(const std::string&, const std::string&)>& on_delta,
                                  const std::atomic<bool>* stop) {
  std::vector<ChatMessage> messages;
  if (!system_.empty()) messages.push_back({.role = ChatRole::System, .content = system_});
  messages.insert(messages.end(), history_.begin(), history_.end());
  messages.push_back({.role = ChatRole::User, .content = user_text});
  ChatRenderOptions ro;
  ro.thinking = thinking_;
  const std::string prompt = chat_render(format_, messages, ro);
  const std::vector<int32_t> ids = tokenizer_.encode(prompt, /*add_special_tokens=*/false);

  StreamingDetokenizer detok(tokenizer_, /*skip_special_tokens=*/true);
  ReasoningParser parser({.starts_in_reasoning = chat_prompt_opens_reasoning(prompt)});
  std::string reasoning, content;
  auto emit = [&](const ReasoningDelta& d) {
    reasoning += d.reasoning;
    content += d.content;
    if (!d.empty()) on_delta(d.reasoning, d.content);
  };
  ChatReplyStats st = generate(ids, [&](int32_t id) { emit(parser.feed(detok.push(id))); }, stop);
  emit(parser.feed(detok.flush()));
  emit(parser.finish());

  history_.push_back({.role = ChatRole::User, .content = user_text});
  ChatMessage answer{.role = ChatRole::Assistant, .content = content};
  if (!reasoning.empty()) answer.reasoning_content = reasoning;
  history_.push_back(answer);
  return st;
}

ChatReplyStats ChatSession::complete(const std::string& text, const std::function<void(const std::string&)>& on_text,
                                     const std::atomic<bool>* stop) {
  const std::vector<int32_t> ids = tokenizer_.encode(text, /*add_special_tokens=*/true);
  if (ids.empty()) fail("the prompt is empty");
  StreamingDetokenizer detok(tokenizer_, /*skip_special_tokens=*/false);
  ChatReplyStats st = generate(ids, [&](int32_t id) {
    std::string s = detok.push(id);
    if (!s.empty()) on_text(s);
  }, stop);
  std::string rest = detok.flush();
  if (!rest.empty()) on_text(rest);
  return st;
}

}  // namespace frugal
