// frugal serve end to end: the server process on a free loopback port with a tiny
// random-weight model, driven by the official openai npm client and by raw HTTP.
// Answers are checked against single-sequence greedy generation in this process
// (infer/generate.cpp: no engine, no batching, no prefix cache).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../common/command.h"
#include "../common/npm_install.h"
#include "../infer/tiny_chat_model.h"
#include "infer/generate.h"
#include "kernels/dispatch.h"
#include "serve/completion_handler.h"
#include "serve_process.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning_parser.h"

namespace frugal {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kKey = "test-key-1234";
const std::string kNodeDir = std::string(FRUGAL_BINARY_DIR) + "/tests/serve/node";

// One model and one server for the suite (each started in milliseconds, but
// the npm client costs ~0.3 s per call).
struct Suite {
  test::TinyChatModel model{true, {{"max_position_embeddings", 2048}}};
  std::unique_ptr<test::ServeProcess> server;
  std::string npm_error;
  Suite() {
    server = std::make_unique<test::ServeProcess>(std::vector<std::string>{
        "-m", model.dir.string(), "--name", "tiny", "--format", "frugal", "--api-key", kKey, "--ctx", "1024",
        "--max-body", "65536", "-t", "2"});
    npm_error = test::npm_install(std::string(FRUGAL_SOURCE_DIR) + "/tests/serve", kNodeDir, "openai");
  }
};

Suite& suite() {
  static Suite s;
  return s;
}

// url: another server of the suite's model (default: the suite's).
json openai(const json& job, const std::string& key = kKey, const std::string& url = "") {
  EXPECT_EQ(suite().npm_error, "");
  const std::string job_path = std::string(FRUGAL_BINARY_DIR) + "/test-tmp/job-" + std::to_string(::getpid()) + ".json";
  std::ofstream(job_path) << job.dump();
  const test::CommandResult r = test::run_command("node '" + std::string(FRUGAL_SOURCE_DIR) +
                                                  "/tests/serve/openai_client.cjs' '" + kNodeDir + "' '" +
                                                  (url.empty() ? suite().server->url() : url) + "' '" + key + "' \"$(cat '" + job_path + "')\"");
  std::filesystem::remove(job_path);
  EXPECT_EQ(r.code, 0) << r.out;
  try {
    return json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return json::object();
  }
}

httplib::Client client(int port = 0) {
  httplib::Client c("127.0.0.1", port ? port : suite().server->port());
  c.set_read_timeout(60, 0);
  c.set_bearer_token_auth(kKey.c_str());
  return c;
}

// The value of a metric without labels in /metrics.
double metric(const std::string& name, int port = 0) {
  auto res = client(port).Get("/metrics");
  if (!res || res->status != 200) return -1;
  std::smatch m;
  if (!std::regex_search(res->body, m, std::regex("\n" + name + " ([0-9.e+-]+)\n"))) return -1;
  return std::stod(m[1]);
}

json chat_params(const std::string& user, int64_t max_tokens, bool thinking) {
  return {{"model", "tiny"},
          {"messages", {{{"role", "user"}, {"content", user}}}},
          {"temperature", 0},
          {"max_tokens", max_tokens},
          {"ignore_eos", true},
          {"chat_template_kwargs", {{"enable_thinking", thinking}}}};
}

// What the server must answer: the same prompt rendered and generated greedily
// here, then split into reasoning and content.
ReasoningDelta reference_answer(const std::vector<ChatMessage>& messages, int64_t max_tokens, bool thinking) {
  const Suite& s = suite();
  ChatRenderOptions ro;
  ro.thinking = thinking;
  const std::string prompt = chat_render(ChatFormat::Frugal, messages, ro);
  const std::vector<int32_t> ids = s.model.tokenizer->encode(prompt, false);
  std::vector<int32_t> out;
  ThreadPool pool(1);
  generate(*s.model.model, ids, {.max_tokens = max_tokens, .context = 1024},
           [&](int32_t t) {
             out.push_back(t);
             return true;
           },
           pool);
  return reasoning_split(s.model.tokenizer->decode(out, /*skip_special_tokens=*/true),
                         {.starts_in_reasoning = chat_prompt_opens_reasoning(prompt)});
}

ReasoningDelta reference_answer(const std::string& user, int64_t max_tokens, bool thinking) {
  return reference_answer({{.role = ChatRole::User, .content = user}}, max_tokens, thinking);
}

TEST(ServeOpenAI, ModelsList) {
  const json r = openai({{"op", "models"}});
  ASSERT_TRUE(r.contains("data")) << r.dump();
  ASSERT_EQ(r["data"].size(), 1u);
  EXPECT_EQ(r["data"][0]["id"], "tiny");
  EXPECT_EQ(r["data"][0]["object"], "model");
  EXPECT_EQ(openai({{"op", "model"}, {"id", "tiny"}})["id"], "tiny");
  EXPECT_EQ(openai({{"op", "model"}, {"id", "gpt-4"}})["error"]["status"], 404);
}

TEST(ServeOpenAI, ChatAnswersEqualGreedyGenerationWithReasoningApart) {
  for (bool thinking : {true, false}) {
    const std::string user = thinking ? "hello world" : "the world in 123";
    const json r = openai({{"op", "chat"}, {"params", chat_params(user, 12, thinking)}});
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    const ReasoningDelta ref = reference_answer(user, 12, thinking);
    const json& msg = r["choices"][0]["message"];
    EXPECT_EQ(r["object"], "chat.completion");
    EXPECT_EQ(msg["role"], "assistant");
    EXPECT_EQ(msg["content"], ref.content) << "thinking " << thinking;
    if (thinking) {
      EXPECT_FALSE(ref.reasoning.empty());
      EXPECT_EQ(msg["reasoning_content"], ref.reasoning);
    } else {
      EXPECT_FALSE(msg.contains("reasoning_content") && !msg["reasoning_content"].get<std::string>().empty());
    }
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
    const json& u = r["usage"];
    EXPECT_EQ(u["completion_tokens"], 12);
    EXPECT_GT(u["prompt_tokens"].get<int>(), 5);
    EXPECT_EQ(u["prompt_cache_hit_tokens"].get<int>() + u["prompt_cache_miss_tokens"].get<int>(),
              u["prompt_tokens"].get<int>());
    EXPECT_EQ(u["total_tokens"].get<int>(), u["prompt_tokens"].get<int>() + 12);
  }
}

TEST(ServeOpenAI, StreamingDeltasAddUpToTheAnswer) {
  const ReasoningDelta ref = reference_answer("hello stream", 20, true);
  json params = chat_params("hello stream", 20, true);
  params["stream_options"] = {{"include_usage", true}};
  const json r = openai({{"op", "stream"}, {"params", params}});
  ASSERT_TRUE(r.contains("chunks")) << r.dump();
  EXPECT_EQ(r["role"], "assistant");
  EXPECT_EQ(r["reasoning"], ref.reasoning);
  EXPECT_EQ(r["content"], ref.content);
  EXPECT_GT(r["chunks"].get<int>(), 3);  // streamed, not one lump
  EXPECT_EQ(r["finish_reason"], "length");
  ASSERT_TRUE(r["usage"].is_object()) << r.dump();
  EXPECT_EQ(r["usage"]["completion_tokens"], 20);
}

// The `n` characters of UTF-8 `s` from character `first` on.
std::string utf8_chars(const std::string& s, size_t first, size_t n) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((uint8_t(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(s.size());
  if (first + n >= starts.size()) return "";
  return s.substr(starts[first], starts[first + n] - starts[first]);
}

TEST(ServeOpenAI, StopSequenceAndCompletions) {
  const ReasoningDelta ref = reference_answer("stop here", 16, false);
  const std::string stop = utf8_chars(ref.content, 3, 2);
  ASSERT_FALSE(stop.empty()) << ref.content;
  json params = chat_params("stop here", 16, false);
  params["stop"] = stop;
  const json r = openai({{"op", "chat"}, {"params", params}});
  EXPECT_EQ(r["choices"][0]["message"]["content"], ref.content.substr(0, ref.content.find(stop)));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");

  const json c = openai({{"op", "completion"},
                         {"params", {{"model", "tiny"}, {"prompt", "hello"}, {"max_tokens", 5}, {"temperature", 0},
                                     {"ignore_eos", true}}}});
  ASSERT_TRUE(c.contains("choices")) << c.dump();
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["usage"]["completion_tokens"], 5);
}

TEST(ServeOpenAI, ErrorsReachTheClient) {
  json params = chat_params("x", 4, false);
  params["model"] = "gpt-4";
  json e = openai({{"op", "chat"}, {"params", params}});
  EXPECT_EQ(e["error"]["status"], 404) << e.dump();
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  e = openai({{"op", "chat"}, {"params", chat_params("x", 4, false)}}, "wrong-key");
  EXPECT_EQ(e["error"]["status"], 401) << e.dump();
  params = chat_params("x", -3, false);
  e = openai({{"op", "chat"}, {"params", params}});
  EXPECT_EQ(e["error"]["status"], 400) << e.dump();
  EXPECT_EQ(e["error"]["param"], "max_tokens");
}

// 8 greedy chats one at a time, then all 8 at once, on the server at `url` (port
// for its metrics; 0: the suite's): the same answers.
void expect_alone_equal_among_8(const std::string& url, int port) {
  json list = json::array();
  for (int i = 0; i < 8; ++i)
    list.push_back(chat_params("question " + std::to_string(i) + std::string(size_t(i * 7), 'x'), 10 + 2 * i, i % 2));
  std::vector<json> alone;
  for (const json& p : list) alone.push_back(openai({{"op", "chat"}, {"params", p}}, kKey, url));
  const double steps0 = metric("frugal_engine_steps_total", port);
  const double seqs0 = metric("frugal_engine_step_sequences_total", port);
  const json together = openai({{"op", "chats"}, {"list", list}}, kKey, url);
  ASSERT_TRUE(together.is_array()) << together.dump();
  for (size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(together[i]["choices"][0]["message"], alone[i]["choices"][0]["message"]) << "request " << i;
    EXPECT_EQ(together[i]["usage"]["completion_tokens"], 10 + 2 * int(i));
  }
  // They really ran together: more sequences than forward passes.
  EXPECT_GT(metric("frugal_engine_step_sequences_total", port) - seqs0,
            1.5 * (metric("frugal_engine_steps_total", port) - steps0));
}

TEST(ServeOpenAI, GreedyAnswersAloneEqualAnswersAmong8Concurrent) { expect_alone_equal_among_8("", 0); }

// With --bf16-activations (the fp8 / bf16 products with x as one bf16) answers
// still do not depend on the batch; the first line says the mode where the CPU
// has the kernel.
TEST(ServeOpenAI, Bf16ActivationsAnswersAloneEqualAnswersAmong8Concurrent) {
  test::ServeProcess s({"-m", suite().model.dir.string(), "--name", "tiny", "--format", "frugal", "--api-key", kKey,
                        "--ctx", "1024", "-t", "2", "--bf16-activations"});
  EXPECT_EQ(s.log().find("activations in bf16") != std::string::npos, dpbf16_enabled()) << s.log();
  expect_alone_equal_among_8(s.url(), s.port());
}

TEST(ServeOpenAI, SharedPrefixIsServedFromTheCache) {
  std::string system = "You are a helpful assistant for the prefix cache test. ";
  for (int i = 0; i < 12; ++i) system += "Rule " + std::to_string(i) + ": answer hello world in 123 words. ";
  auto ask = [&](const std::string& user) {
    json p = chat_params(user, 4, false);
    p["messages"] = {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}};
    return openai({{"op", "chat"}, {"params", p}});
  };
  const json a = ask("first question");
  const double rows0 = metric("frugal_engine_step_rows_total");
  const json b = ask("second question");
  const double rows_b = metric("frugal_engine_step_rows_total") - rows0;
  const int prompt_b = b["usage"]["prompt_tokens"], hit_b = b["usage"]["prompt_cache_hit_tokens"];
  const int hit_a = a["usage"]["prompt_cache_hit_tokens"];
  EXPECT_LT(hit_a, 4) << a.dump();  // at most the template's opening, shared with earlier requests
  const int system_tokens = int(suite().model.tokenizer->encode(system, false).size());
  EXPECT_GE(hit_b, system_tokens) << b.dump();
  EXPECT_LT(hit_b, prompt_b);
  EXPECT_EQ(b["usage"]["prompt_cache_miss_tokens"], prompt_b - hit_b);
  // The time to first token shrinks because the cached rows are not computed:
  // the forward passes of b ran its missed prompt tokens and 3 decode rows only.
  EXPECT_EQ(rows_b, prompt_b - hit_b + 3);
}

// Tools offered in a request reach the prompt (as a system message, since the
// DeepSeek templates do not render a tool list); tool_choice "none" leaves them out.
TEST(ServeOpenAI, ToolsAreDescribedInThePrompt) {
  const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "description": "Weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
  json p = chat_params("weather in Paris?", 2, false);
  p["tools"] = tools;
  const json with = openai({{"op", "chat"}, {"params", p}});
  ChatRenderOptions ro;
  ro.thinking = false;
  const std::string prompt = chat_render(
      ChatFormat::Frugal,
      {{.role = ChatRole::System, .content = tools_system_text(tools)}, {.role = ChatRole::User, .content = "weather in Paris?"}},
      ro);
  ASSERT_NE(prompt.find("\"name\":\"get_weather\""), std::string::npos) << prompt;
  EXPECT_EQ(with["usage"]["prompt_tokens"], suite().model.tokenizer->encode(prompt, false).size()) << with.dump();
  p["tool_choice"] = "none";
  const json without = openai({{"op", "chat"}, {"params", p}});
  EXPECT_LT(without["usage"]["prompt_tokens"].get<int>() + 50, with["usage"]["prompt_tokens"].get<int>());
}

struct BadRequest {
  std::string what, path, body;
  int status;
};

TEST(ServeHttp, BadInputsGet4xxJsonAndTheServerKeepsServing) {
  const std::string user = R"({"role": "user", "content": "hi"})";
  const std::vector<BadRequest> cases = {
      {"malformed JSON", "/v1/chat/completions", "{\"messages\": [", 400},
      {"wrong type", "/v1/chat/completions", R"({"messages": [)" + user + R"(], "temperature": "hot"})", 400},
      {"messages not an array", "/v1/chat/completions", R"({"messages": "hi"})", 400},
      {"empty messages", "/v1/chat/completions", R"({"messages": []})", 400},
      {"missing messages", "/v1/chat/completions", R"({"model": "tiny"})", 400},
      {"unknown model", "/v1/chat/completions", R"({"model": "nope", "messages": [)" + user + "]}", 404},
      {"negative max_tokens", "/v1/chat/completions", R"({"messages": [)" + user + R"(], "max_tokens": -5})", 400},
      {"huge max_tokens", "/v1/chat/completions", R"({"messages": [)" + user + R"(], "max_tokens": 99999999999})", 400},
      {"invalid UTF-8", "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"\xc3\x28\"}]}", 400},
      {"body over the limit", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": ")" + std::string(70000, 'a') + "\"}]}", 413},
      {"prompt longer than the context", "/v1/chat/completions",
       R"({"messages": [{"role": "user", "content": ")" + std::string(3000, 'z') + "\"}]}", 400},
      {"json_object format", "/v1/chat/completions",
       R"({"messages": [)" + user + R"(], "response_format": {"type": "json_object"}})", 400},
      {"completion without prompt", "/v1/completions", R"({"max_tokens": 3})", 400},
      {"no such route", "/v1/embeddings", R"({"input": "x"})", 404},
      {"deeply nested JSON", "/v1/chat/completions",
       R"({"messages": )" + std::string(30000, '[') + std::string(30000, ']') + "}", 400},
  };
  httplib::Client c = client();
  for (const BadRequest& b : cases) {
    auto res = c.Post(b.path, b.body, "application/json");
    ASSERT_TRUE(res) << b.what << ": no response";
    EXPECT_EQ(res->status, b.status) << b.what << ": " << res->body;
    json j;
    ASSERT_NO_THROW(j = json::parse(res->body)) << b.what << ": " << res->body;
    EXPECT_TRUE(j["error"]["message"].is_string()) << b.what << ": " << res->body;
    EXPECT_TRUE(j["error"]["type"].is_string()) << b.what;
  }
  auto ok = c.Post("/v1/chat/completions", R"({"messages": [)" + user + R"(], "max_tokens": 3, "temperature": 0})",
                   "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(metric("frugal_kv_caches_busy"), 0);
}

TEST(ServeHttp, ApiKeyOnEveryRouteButHealth) {
  httplib::Client anon("127.0.0.1", suite().server->port());
  auto h = anon.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  for (const char* path : {"/metrics", "/v1/models"}) {
    auto r = anon.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "invalid_api_key");
  }
  auto p = anon.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})", "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 401);
  auto m = client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  for (const char* name : {"frugal_http_requests_total", "frugal_queue_depth", "frugal_batch_size",
                           "frugal_prompt_cache_hit_tokens_total", "frugal_time_to_first_token_seconds_bucket",
                           "frugal_request_duration_seconds_bucket", "frugal_generation_tokens_total"})
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
  auto page = anon.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/v1/chat/completions"), std::string::npos);
}

// A raw HTTP/1.1 exchange on its own socket, so the test decides when to hang up.
struct RawStream {
  int fd = -1;
  explicit RawStream(int port, const std::string& path, const std::string& body) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "connect";
    const std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kKey +
                            "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  }
  std::string read_some() {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, size_t(n)) : "";
  }
  std::string read_all() {
    std::string out, s;
    while (!(s = read_some()).empty()) out += s;
    return out;
  }
  ~RawStream() { ::close(fd); }
};

std::string long_stream_body(int64_t max_tokens) {
  return json({{"messages", {{{"role", "user"}, {"content", "talk for a long time"}}}},
               {"max_tokens", max_tokens},
               {"ignore_eos", true},
               {"stream", true}})
      .dump();
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

TEST(ServeHttp, ClientDisconnectMidStreamFreesTheCache) {
  const double cancelled0 = metric("frugal_requests_cancelled_total");
  {
    RawStream s(suite().server->port(), "/v1/chat/completions", long_stream_body(1000));
    std::string got;
    while (got.find("reasoning_content") == std::string::npos) {
      const std::string more = s.read_some();
      ASSERT_FALSE(more.empty()) << got;
      got += more;
    }
    EXPECT_EQ(metric("frugal_running_requests"), 1) << client().Get("/metrics")->body;
  }  // hang up after the first tokens
  EXPECT_TRUE(wait_for([&] { return metric("frugal_requests_cancelled_total") == cancelled0 + 1; }))
      << "the request was not cancelled";
  EXPECT_TRUE(wait_for([&] {
    return metric("frugal_kv_caches_busy") == 0 && metric("frugal_kv_blocks_used") == 0 &&
           metric("frugal_running_requests") == 0;
  }));
  EXPECT_GE(metric("frugal_client_disconnects_total"), 1);
}

// A client waiting for a whole (non-streaming) answer that hangs up cancels it
// too: the server writes whitespace before the JSON while it waits, and the
// write that fails cancels the request and frees its KV blocks.
TEST(ServeHttp, ClientDisconnectBeforeAWholeAnswerFreesTheCache) {
  const double cancelled0 = metric("frugal_requests_cancelled_total");
  const double disconnects0 = metric("frugal_client_disconnects_total");
  {
    json body = json::parse(long_stream_body(1000));
    body["stream"] = false;
    RawStream s(suite().server->port(), "/v1/chat/completions", body.dump());
    ASSERT_TRUE(wait_for([&] { return metric("frugal_running_requests") == 1; }));
    EXPECT_GT(metric("frugal_kv_blocks_used"), 0);
  }  // hang up while it generates
  EXPECT_TRUE(wait_for([&] { return metric("frugal_requests_cancelled_total") == cancelled0 + 1; }))
      << "the request was not cancelled";
  EXPECT_TRUE(wait_for([&] { return metric("frugal_kv_blocks_used") == 0 && metric("frugal_running_requests") == 0; }));
  EXPECT_EQ(metric("frugal_client_disconnects_total"), disconnects0 + 1);
  // A client that stays gets the whole answer as one JSON value.
  json body = json::parse(long_stream_body(5));
  body["stream"] = false;
  RawStream s(suite().server->port(), "/v1/chat/completions", body.dump());
  const std::string got = s.read_all();
  const size_t start = got.find("\r\n\r\n");
  ASSERT_NE(start, std::string::npos) << got;
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("\"finish_reason\":\"length\""), std::string::npos) << got;
}

TEST(ServeHttp, FullQueueGets429WithRetryAfter) {
  test::ServeProcess small({"-m", suite().model.dir.string(), "--name", "tiny", "--api-key", kKey, "--ctx", "1024",
                            "--max-batch", "1", "--max-queue", "0", "-t", "1"});
  RawStream busy(small.port(), "/v1/chat/completions", long_stream_body(1000));
  ASSERT_FALSE(busy.read_some().empty());
  auto r = client(small.port()).Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})",
                                     "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "queue_full");
}

// SIGTERM arrives right after the first tokens of a 1500-token answer: the
// answer still ends whole, then the process exits 0.
TEST(ServeHttp, SigtermFinishesRunningAnswersThenExits) {
  // --drain well above the answer's time even in the sanitizer build (over 30 s
  // there on a busy 2-core machine; the default drain is 30 s).
  test::ServeProcess s({"-m", suite().model.dir.string(), "--name", "tiny", "--api-key", kKey, "-t", "1", "--drain",
                        "300"});
  json body = json::parse(long_stream_body(1500));
  body["stream_options"] = {{"include_usage", true}};
  RawStream stream(s.port(), "/v1/chat/completions", body.dump());
  std::string got = stream.read_some();
  ASSERT_FALSE(got.empty());
  int code = -2;
  std::thread stopper([&] { code = s.stop(300); });
  // While the answer finishes, new work is refused with 503 and /health says so.
  httplib::Client anon("127.0.0.1", s.port());
  EXPECT_TRUE(wait_for([&] {
    auto h = anon.Get("/health");
    return h && h->body.find("draining") != std::string::npos;
  }));
  auto refused = client(s.port()).Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})",
                                       "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "5");
  got += stream.read_all();
  stopper.join();
  EXPECT_NE(got.find("data: [DONE]"), std::string::npos) << got.substr(0, 400);
  EXPECT_NE(got.find("\"finish_reason\":\"length\""), std::string::npos);
  EXPECT_NE(got.find("\"completion_tokens\":1500"), std::string::npos);
  EXPECT_EQ(code, 0);
}

// DeepSeek-style context caching across restarts: the prefix cache is saved at a
// graceful stop and serves the next process.
TEST(ServeHttp, PrefixCacheOnDiskSurvivesARestart) {
  const std::string dir = suite().model.dir.string() + "-prefix";
  const std::vector<std::string> args = {"-m", suite().model.dir.string(), "--api-key", kKey, "-t", "1",
                                         "--prefix-cache-dir", dir};
  const std::string body =
      json({{"messages", {{{"role", "system"}, {"content", std::string(300, 'q') + " you are terse"}},
                          {{"role", "user"}, {"content", "hi"}}}},
            {"max_tokens", 2}})
          .dump();
  {
    test::ServeProcess s(args);
    auto r = client(s.port()).Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r && r->status == 200);
    EXPECT_LT(json::parse(r->body)["usage"]["prompt_cache_hit_tokens"].get<int>(), 300);
    EXPECT_EQ(s.stop(), 0);
  }
  test::ServeProcess s(args);
  auto r = client(s.port()).Post("/v1/chat/completions", body, "application/json");
  ASSERT_TRUE(r && r->status == 200);
  EXPECT_GE(json::parse(r->body)["usage"]["prompt_cache_hit_tokens"].get<int>(), 300) << r->body << s.log();
  std::filesystem::remove_all(dir);
}

TEST(ServeCli, StartupErrorsAreOneLine) {
  test::CommandResult r = test::run_frugal("serve -m '" + suite().model.dir.string() + "' --api-key-file /nonexistent/key");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot read the API key file /nonexistent/key"), std::string::npos) << r.out;
  r = test::run_frugal("serve -m '" + suite().model.dir.string() + "' --port " + std::to_string(suite().server->port()));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot bind 127.0.0.1:" + std::to_string(suite().server->port())), std::string::npos) << r.out;
}

// ---- serve --speculative N. The tiny model's MTP layer is random, so most
// drafts are rejected (tests/serve/test_engine_speculative.cpp covers accepted
// ones): the answers must still be plain greedy decoding's.

std::vector<std::string> spec_server_args(int64_t depth) {
  return {"-m", suite().model.dir.string(), "--name", "tiny", "--format", "frugal", "--api-key", kKey,
          "--ctx", "1024", "-t", "2", "--speculative", std::to_string(depth)};
}

// usage.speculative of a response whose server drafts `depth` tokens per step;
// returns its drafted count.
int64_t expect_spec_usage(const json& usage, int64_t depth, bool drafting, const std::string& what) {
  if (!usage.contains("speculative")) {
    ADD_FAILURE() << what << ": no usage.speculative in " << usage.dump();
    return 0;
  }
  const json& u = usage["speculative"];
  const int64_t drafted = u["drafted"], accepted = u["accepted"], steps = u["verify_steps"];
  int64_t by_position = 0;
  for (const json& a : u["accepted_by_position"]) by_position += a.get<int64_t>();
  EXPECT_EQ(by_position, accepted) << what;
  EXPECT_LE(accepted, drafted) << what;
  EXPECT_DOUBLE_EQ(u["acceptance_rate"].get<double>(), drafted ? double(accepted) / double(drafted) : 0.0) << what;
  // One verify pass per step chose accepted + 1 tokens; the first token comes from the prefill.
  EXPECT_GE(steps + accepted, usage["completion_tokens"].get<int64_t>() - 1) << what;
  EXPECT_EQ(drafted, drafting ? depth * steps : 0) << what;
  return drafted;
}

TEST(ServeSpeculative, GreedyAnswersEqualPlainDecodingAloneAndAmong8Concurrent) {
  json list = json::array();
  std::vector<ReasoningDelta> refs;
  for (int i = 0; i < 8; ++i) {
    const std::string user = "spec question " + std::to_string(i) + std::string(size_t(i * 5), 'y');
    list.push_back(chat_params(user, 10 + 2 * i, i % 2));
    refs.push_back(reference_answer(user, 10 + 2 * i, i % 2));
  }
  auto expect_reference = [&](const json& r, size_t i, const std::string& what) {
    ASSERT_TRUE(r.contains("choices")) << what << ": " << r.dump();
    const json& msg = r["choices"][0]["message"];
    EXPECT_EQ(msg["content"], refs[i].content) << what;
    EXPECT_EQ(msg.value("reasoning_content", ""), refs[i].reasoning) << what;
    EXPECT_EQ(r["usage"]["completion_tokens"], 10 + 2 * int(i)) << what;
  };
  for (int64_t depth = 1; depth <= 3; ++depth) {
    test::ServeProcess s(spec_server_args(depth));
    int64_t drafted = 0;
    for (size_t i : {size_t(0), size_t(3)}) {
      const json r = openai({{"op", "chat"}, {"params", list[i]}}, kKey, s.url());
      const std::string what = "alone, request " + std::to_string(i) + ", depth " + std::to_string(depth);
      expect_reference(r, i, what);
      drafted += expect_spec_usage(r["usage"], depth, true, what);
    }
    const json together = openai({{"op", "chats"}, {"list", list}}, kKey, s.url());
    ASSERT_TRUE(together.is_array()) << together.dump();
    for (size_t i = 0; i < refs.size(); ++i) {
      const std::string what = "among 8, request " + std::to_string(i) + ", depth " + std::to_string(depth);
      expect_reference(together[i], i, what);
      drafted += expect_spec_usage(together[i]["usage"], depth, true, what);
    }
    EXPECT_EQ(metric("frugal_speculative_drafted_tokens_total", s.port()), double(drafted)) << "depth " << depth;
    EXPECT_GE(metric("frugal_speculative_accepted_tokens_total", s.port()), 0);
  }
}

TEST(ServeSpeculative, PrefixHitStreamingSamplingAndOptOut) {
  test::ServeProcess s(spec_server_args(2));
  std::string system = "You are the speculative prefix cache test. ";
  for (int i = 0; i < 10; ++i) system += "Rule " + std::to_string(i) + ": say hello world in 123 ways. ";
  auto messages = [&](const std::string& user) {
    return std::vector<ChatMessage>{{.role = ChatRole::System, .content = system}, {.role = ChatRole::User, .content = user}};
  };
  auto ask = [&](const std::string& user) {
    json p = chat_params(user, 8, false);
    p["messages"] = {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}};
    return openai({{"op", "chat"}, {"params", p}}, kKey, s.url());
  };
  const json a = ask("first one");
  const json b = ask("second one");
  for (const auto& [r, user] : {std::pair{a, "first one"}, std::pair{b, "second one"}}) {
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    EXPECT_EQ(r["choices"][0]["message"]["content"], reference_answer(messages(user), 8, false).content) << user;
    expect_spec_usage(r["usage"], 2, true, user);
  }
  const int system_tokens = int(suite().model.tokenizer->encode(system, false).size());
  EXPECT_GE(b["usage"]["prompt_cache_hit_tokens"].get<int>(), system_tokens) << b.dump();

  // Sampling, streamed, usage in the last chunk.
  json p = chat_params("sample me", 16, true);
  p["temperature"] = 0.8;
  p["seed"] = 5;
  p["stream_options"] = {{"include_usage", true}};
  const json st = openai({{"op", "stream"}, {"params", p}}, kKey, s.url());
  ASSERT_TRUE(st["usage"].is_object()) << st.dump();
  EXPECT_EQ(st["finish_reason"], "length");
  EXPECT_EQ(st["usage"]["completion_tokens"], 16);
  expect_spec_usage(st["usage"], 2, true, "sampled stream");

  // Opting out: no drafts, the same greedy answer.
  json off = chat_params("no drafts please", 9, false);
  off["speculative"] = false;
  const json r = openai({{"op", "chat"}, {"params", off}}, kKey, s.url());
  ASSERT_TRUE(r.contains("choices")) << r.dump();
  EXPECT_EQ(r["choices"][0]["message"]["content"], reference_answer("no drafts please", 9, false).content);
  expect_spec_usage(r["usage"], 2, false, "opted out");
}

TEST(ServeSpeculative, StartupErrorsAreOneLine) {
  // The suite's model, its config saying it has no MTP layer.
  const std::filesystem::path no_mtp = suite().model.dir.string() + "-nomtp";
  std::filesystem::copy(suite().model.dir, no_mtp, std::filesystem::copy_options::recursive);
  json config = json::parse(std::ifstream(no_mtp / "config.json"));
  config["num_nextn_predict_layers"] = 0;
  std::ofstream(no_mtp / "config.json") << config.dump();
  test::CommandResult r = test::run_frugal("serve -m '" + no_mtp.string() + "' --speculative 2");
  std::filesystem::remove_all(no_mtp);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--speculative 2: this model has no MTP layer"), std::string::npos) << r.out;
  r = test::run_frugal("serve -m '" + suite().model.dir.string() + "' --speculative 9");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("the draft depth must be 0 (off) to 4"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace frugal
