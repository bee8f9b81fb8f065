// frugal serve's HTTP server (cpp-httplib): the OpenAI / DeepSeek API over one
// Engine, the chat page at "/", /health and /metrics. Defaults are the safe ones:
// loopback only, a body size limit, read / write timeouts, and with an API key
// every route but /health checks "Authorization: Bearer KEY" in constant time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace httplib {
class Server;
}

namespace frugal {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (see ApiServer::port)
  std::string api_key;              // "": no authentication
  std::string model_name;           // the id clients pass as "model"
  int64_t max_body_bytes = 1 << 20;
  int read_timeout_s = 30, write_timeout_s = 60;
  int64_t default_max_tokens = 1024;
  float default_temperature = 1.0f, default_top_p = 1.0f;  // for requests that give none
  int http_threads = 0;             // 0: enough for every running and queued request
  std::vector<int32_t> stop_tokens; // end-of-sentence ids that end an answer
};

class ServeMetrics;
struct CompletionContext;

class ApiServer {
 public:
  ApiServer(const Tokenizer& tokenizer, Engine& engine, ChatFormat format, const ServeOptions& opt);
  ~ApiServer();

  int bind();    // binds the port (throws frugal::Error when it cannot); returns it
  void listen(); // serves until stop()
  // Graceful: refuses new generation requests (503), waits up to `drain_s` for
  // the running ones to end, then closes the listening socket.
  void stop(double drain_s);

 private:
  void routes();

  const Tokenizer& tokenizer_;
  Engine& engine_;
  ChatFormat format_;
  ServeOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<ServeMetrics> metrics_;
  std::unique_ptr<CompletionContext> completions_;  // outlives every answer being streamed
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> open_answers_{0};  // answers being generated or sent
};

// Compares without an early exit, so the time taken does not tell how many
// leading bytes of a guessed key were right.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace frugal
