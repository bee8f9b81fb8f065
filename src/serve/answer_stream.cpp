#include "serve/answer_stream.h"

#include <algorithm>

namespace frugal {

std::string StopMatcher::feed(std::string_view text) {
  if (stopped_) return {};
  if (stops_.empty()) return std::string(text);
  pending_ += text;
  // The earliest complete stop sequence ends the text.
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, pending_.find(s));
  if (cut != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, cut);
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is the start of some stop sequence.
  size_t hold = 0;
  for (const std::string& s : stops_)
    for (size_t k = std::min(s.size() - 1, pending_.size()); k > hold; --k)
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::finish() {
  if (stopped_) return {};
  std::string out;
  out.swap(pending_);
  return out;
}

AnswerStream::AnswerStream(const Tokenizer& tokenizer, AnswerStreamOptions opt)
    : opt_(std::move(opt)),
      detok_(tokenizer, /*skip_special_tokens=*/opt_.chat),
      reasoning_({.starts_in_reasoning = opt_.starts_in_reasoning}),
      stop_(opt_.stop) {}

AnswerDelta AnswerStream::route(const ReasoningDelta& d) {
  AnswerDelta out{.reasoning = d.reasoning};
  std::string content = stop_.feed(d.content);
  out.content = opt_.parse_tool_calls ? tools_.feed(content) : content;
  return out;
}

AnswerDelta AnswerStream::push(int32_t id) {
  if (stopped()) return {};
  const std::string text = detok_.push(id);
  if (!opt_.chat) return {.content = stop_.feed(text)};
  return route(reasoning_.feed(text));
}

AnswerDelta AnswerStream::finish() {
  if (!opt_.chat) {
    AnswerDelta out{.content = stop_.feed(detok_.flush())};
    out.content += stop_.finish();
    return out;
  }
  AnswerDelta out = route(reasoning_.feed(detok_.flush()));
  const AnswerDelta last = route(reasoning_.finish());
  out.reasoning += last.reasoning;
  out.content += last.content;
  const std::string held = stop_.finish();
  if (opt_.parse_tool_calls) {
    out.content += tools_.feed(held);
    ToolCallSplit split = tools_.finish();
    out.content += split.content;
    calls_ = std::move(split.tool_calls);
  } else {
    out.content += held;
  }
  return out;
}

}  // namespace frugal
