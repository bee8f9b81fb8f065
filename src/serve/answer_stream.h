// Generated tokens -> the text deltas of an API answer:
//
//   ids -> StreamingDetokenizer -> ReasoningParser (reasoning | content)
//       -> stop sequences (content only) -> ToolCallStream -> content deltas
//
// A tail that may be the start of a stop sequence is held back until the next
// token decides it, so a stop sequence never reaches the client, even split
// over several tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/detokenizer.h"
#include "tokenizer/reasoning_parser.h"
#include "tokenizer/tool_calls.h"

namespace frugal {

// Finds stop sequences in text that arrives in pieces.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // The text that can be shown now; after a stop sequence, nothing more.
  std::string feed(std::string_view text);
  std::string finish();  // what was held back
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

struct AnswerDelta {
  std::string reasoning, content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

struct AnswerStreamOptions {
  bool chat = true;                  // false: raw completion text, nothing parsed
  bool starts_in_reasoning = false;  // the prompt opened "<think>"
  bool parse_tool_calls = false;     // tools were offered
  std::vector<std::string> stop;
};

class AnswerStream {
 public:
  AnswerStream(const Tokenizer& tokenizer, AnswerStreamOptions opt);
  AnswerDelta push(int32_t id);
  // The rest, once generation ended (call once); tool_calls() is valid after.
  AnswerDelta finish();
  // A stop sequence was reached: the request can be cancelled.
  bool stopped() const { return stop_.stopped(); }
  const std::vector<ToolCall>& tool_calls() const { return calls_; }

 private:
  AnswerDelta route(const ReasoningDelta& d);

  AnswerStreamOptions opt_;
  StreamingDetokenizer detok_;
  ReasoningParser reasoning_;
  StopMatcher stop_;
  ToolCallStream tools_;
  std::vector<ToolCall> calls_;
};

}  // namespace frugal
