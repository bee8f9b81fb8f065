// The API pieces on their own: request validation, stop sequences over split
// text, the constant-time key check, the Prometheus histogram.
#include <gtest/gtest.h>

#include "serve/answer_stream.h"
#include "serve/api_error.h"
#include "serve/api_request.h"
#include "serve/metrics.h"
#include "serve/server.h"
#include "../tokenizer/tiny_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace frugal {
namespace {

const ApiLimits kLimits{.model = "tiny", .context = 256, .default_max_tokens = 100};

struct BadCase {
  std::string body;
  int status;
  std::string param;
};

TEST(ApiRequest, BadRequestsNameTheField) {
  const std::vector<BadCase> cases = {
      {"{not json", 400, ""},
      {"[1, 2]", 400, ""},
      {"{}", 400, "messages"},
      {R"({"messages": "hi"})", 400, "messages"},
      {R"({"messages": []})", 400, "messages"},
      {R"({"messages": [{"role": "wizard", "content": "x"}]})", 400, "messages"},
      {R"({"messages": [{"role": "user", "content": 5}]})", 400, "messages"},
      {R"({"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]})", 404, "model"},
      {R"({"model": 3, "messages": [{"role": "user", "content": "x"}]})", 400, "model"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1000000000000})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "10"})", 400, "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400, "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": 3})", 400, "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_p": 0})", 400, "top_p"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": 7})", 400, "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a","b","c","d","e"]})", 400, "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": "yes"})", 400, "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "seed": "x"})", 400, "seed"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", 400, "n"},
      {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})", 400,
       "response_format"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", 400, "tools[0]"},
      {"{\"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}", 400, ""},
  };
  for (const BadCase& c : cases) {
    try {
      api_request_parse(c.body, /*chat=*/true, kLimits);
      ADD_FAILURE() << "accepted: " << c.body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, c.status) << c.body << ": " << e.what();
      EXPECT_EQ(e.param, c.param) << c.body << ": " << e.what();
      const nlohmann::json j = nlohmann::json::parse(api_error_json(e));
      EXPECT_EQ(j["error"]["message"], e.what());
      EXPECT_FALSE(j["error"]["type"].get<std::string>().empty());
    }
  }
}

TEST(ApiRequest, GoodRequestIsReadWholly) {
  const ApiRequest r = api_request_parse(
      R"({"model": "tiny", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
          "temperature": 0, "top_p": 0.5, "max_tokens": 7, "stop": "END", "seed": 42, "stream": true,
          "stream_options": {"include_usage": true}, "chat_template_kwargs": {"enable_thinking": false},
          "response_format": {"type": "text"}})",
      true, kLimits);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].content, "hi");
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.stream && r.include_usage);
  EXPECT_EQ(r.thinking, std::optional<bool>(false));
  const ApiRequest c = api_request_parse(R"({"prompt": ["once upon"], "max_tokens": 3})", false, kLimits);
  EXPECT_EQ(c.prompt, "once upon");
  EXPECT_EQ(api_request_parse(R"({"prompt": "x"})", false, kLimits).max_tokens, 100);
}

// Every way of cutting the text into pieces gives the same visible text.
TEST(StopMatcher, StopSequenceSplitAnywhereIsCut) {
  const std::string text = "one two STOP three";
  for (size_t a = 0; a <= text.size(); ++a)
    for (size_t b = a; b <= text.size(); ++b) {
      StopMatcher m({"STOP", "xyz"});
      std::string out = m.feed(text.substr(0, a));
      out += m.feed(text.substr(a, b - a));
      out += m.feed(text.substr(b));
      out += m.finish();
      EXPECT_EQ(out, "one two ") << a << "," << b;
      EXPECT_TRUE(m.stopped());
    }
  StopMatcher m({"ST"});
  std::string out = m.feed("a S");
  EXPECT_EQ(out, "a ");  // "S" may start "ST"
  out += m.feed("x");
  out += m.finish();
  EXPECT_EQ(out, "a Sx");
  EXPECT_FALSE(m.stopped());
}

Tokenizer tokenizer_with_chat_tokens() {
  test::TinyTokenizer t;
  int id = t.vocab_end();
  for (const char* s : {"<think>", "</think>", "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
                        "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"})
    t.added_tokens.push_back(test::added_token(s, id++, false));
  return Tokenizer::from_json_text(t.json());
}

// The whole pipeline token by token: reasoning, then content, then a tool call.
TEST(AnswerStream, ReasoningContentAndToolCallsFromTokens) {
  const Tokenizer tok = tokenizer_with_chat_tokens();
  const std::string text =
      "let me check the weather\n</think>\n\nSure, one moment.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
      "<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  AnswerStream a(tok, {.chat = true, .starts_in_reasoning = true, .parse_tool_calls = true});
  std::string reasoning, content;
  for (int32_t id : tok.encode(text, false)) {
    const AnswerDelta d = a.push(id);
    reasoning += d.reasoning;
    content += d.content;
  }
  const AnswerDelta d = a.finish();
  reasoning += d.reasoning;
  content += d.content;
  EXPECT_EQ(reasoning, "let me check the weather");
  EXPECT_EQ(content, "Sure, one moment.");
  ASSERT_EQ(a.tool_calls().size(), 1u);
  EXPECT_EQ(a.tool_calls()[0].name, "get_weather");
  EXPECT_EQ(a.tool_calls()[0].arguments, "{\"city\": \"Paris\"}");
}

TEST(AnswerStream, CompletionTextStopsAtAStopSequence) {
  const Tokenizer tok = tokenizer_with_chat_tokens();
  AnswerStream a(tok, {.chat = false, .stop = {"world"}});
  std::string text;
  for (int32_t id : tok.encode("hello big world in 123", false)) text += a.push(id).content;
  EXPECT_TRUE(a.stopped());
  text += a.finish().content;
  EXPECT_EQ(text, "hello big ");
}

TEST(ApiKey, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret-key", "secret-key"));
  EXPECT_FALSE(constant_time_equal("secret-key", "secret-kez"));
  EXPECT_FALSE(constant_time_equal("secret-key", "secret-key2"));
  EXPECT_FALSE(constant_time_equal("", "secret"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1});
  for (double x : {0.05, 0.5, 0.7, 5.0}) h.observe(x);
  std::string out;
  h.render(out, "t", "help");
  EXPECT_NE(out.find("t_bucket{le=\"0.1\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("t_bucket{le=\"1\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("t_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("t_count 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("t_sum 6.25\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace frugal
