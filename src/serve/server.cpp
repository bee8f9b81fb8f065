#include "serve/server.h"

#include <chrono>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "serve/api_error.h"
#include "serve/completion_handler.h"
#include "serve/metrics.h"
#include "serve/web_page.h"

namespace frugal {

namespace {

using nlohmann::json;

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(api_error_json(e), "application/json");
}

// The message of an error status that httplib produced itself (no handler ran).
std::string status_message(int status, int64_t max_body) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no such route: see GET /v1/models, POST /v1/chat/completions, POST /v1/completions";
    case 405: return "method not allowed";
    case 413: return fmt::format("the request body is larger than the limit of {} bytes", max_body);
    case 414: return "the request URI is too long";
    default: return fmt::format("HTTP status {}", status);
  }
}

}  // namespace

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Every byte of the longer one is visited; the length difference is folded in.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? (unsigned char)a[i] : 0;
    const unsigned char y = i < b.size() ? (unsigned char)b[i] : 0;
    diff |= (unsigned char)(x ^ y);
  }
  volatile unsigned char result = diff;  // keeps the loop from being cut short
  return result == 0;
}

ApiServer::ApiServer(const Tokenizer& tokenizer, Engine& engine, ChatFormat format, const ServeOptions& opt)
    : tokenizer_(tokenizer),
      engine_(engine),
      format_(format),
      opt_(opt),
      http_(std::make_unique<httplib::Server>()),
      metrics_(std::make_unique<ServeMetrics>()) {
  const int threads = opt.http_threads > 0
                          ? opt.http_threads
                          : int(engine.options().max_batch + engine.options().max_queue + 8);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second
  // server (or another program) bind the same port and take half the connections.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http_->set_payload_max_length(size_t(opt.max_body_bytes));
  http_->set_read_timeout(opt.read_timeout_s, 0);
  http_->set_write_timeout(opt.write_timeout_s, 0);
  completions_ = std::make_unique<CompletionContext>(CompletionContext{
      .tokenizer = tokenizer_,
      .engine = engine_,
      .format = format_,
      .limits = {.model = opt_.model_name,
                 .context = engine_.context(),
                 .default_max_tokens = opt_.default_max_tokens,
                 .default_temperature = opt_.default_temperature,
                 .default_top_p = opt_.default_top_p},
      .metrics = *metrics_,
      .stop_tokens = opt_.stop_tokens,
      .open_answers = open_answers_});
  routes();
}

ApiServer::~ApiServer() = default;

int ApiServer::bind() {
  int port = opt_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(opt_.host);
    if (port < 0) fail("cannot bind {}: pass --host with an address of this machine", opt_.host);
  } else if (!http_->bind_to_port(opt_.host, port)) {
    fail("cannot bind {}:{}: the port is in use or the address is not of this machine (--host, --port)", opt_.host,
         port);
  }
  return port;
}

void ApiServer::listen() { http_->listen_after_bind(); }

void ApiServer::stop(double drain_s) {
  draining_ = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(drain_s);
  while (open_answers_ > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  http_->stop();
}

void ApiServer::routes() {
  httplib::Server& s = *http_;
  const int64_t max_body = opt_.max_body_bytes;

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The page is a static asset (it holds no data; its API calls carry the key).
    if (opt_.api_key.empty() || req.path == "/health" || (req.path == "/" && req.method == "GET"))
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string given = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    if (constant_time_equal(given, opt_.api_key)) return httplib::Server::HandlerResponse::Unhandled;
    metrics_->count_request(req.path, 401);
    send_error(res, ApiError(401, "missing or wrong API key: send \"Authorization: Bearer KEY\"", "",
                             "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler([max_body](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    send_error(res, ApiError(res.status, status_message(res.status, max_body)));
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "internal error", "", "internal_error"));
  });

  s.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json({{"status", draining_ ? "draining" : "ok"}}).dump(), "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->render(engine_.stats()), "text/plain; version=0.0.4");
  });
  auto model_json = [this] {
    const char* thinking = "never";
    if (chat_format_thinking(format_) == ChatThinking::Always) thinking = "always";
    if (chat_format_thinking(format_) == ChatThinking::Optional) thinking = "optional";
    json model = {{"id", opt_.model_name},
                  {"object", "model"},
                  {"created", 0},
                  {"owned_by", "frugal"},
                  // frugal's additions, for the chat page
                  {"chat_format", chat_format_name(format_)},
                  {"thinking", thinking},
                  {"context_length", engine_.context()}};
    return model;
  };
  s.Get("/v1/models", [model_json](const httplib::Request&, httplib::Response& res) {
    res.set_content(json({{"object", "list"}, {"data", json::array({model_json()})}}).dump(), "application/json");
  });
  s.Get(R"(/v1/models/(.+))", [this, model_json](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != opt_.model_name)
      return send_error(res, ApiError(404, fmt::format("the model '{}' does not exist; this server serves '{}'",
                                                       req.matches[1].str(), opt_.model_name),
                                      "model", "model_not_found"));
    res.set_content(model_json().dump(), "application/json");
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(web_page_html()), "text/html; charset=utf-8");
  });

  auto generation = [this](bool chat) {
    const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    return [this, chat, endpoint](const httplib::Request& req, httplib::Response& res) {
      try {
        if (draining_) throw ApiError(503, "the server is shutting down", "", "shutting_down");
        completion_handle(*completions_, req, res, chat);
      } catch (const ApiError& e) {
        if (e.status == 503) res.set_header("Retry-After", "5");
        send_error(res, e);
      } catch (const EngineBusy& e) {
        res.set_header("Retry-After", "1");
        send_error(res, ApiError(429, std::string(e.what()) + ": retry later", "", "queue_full"));
      } catch (const Error& e) {
        send_error(res, ApiError(400, e.what()));
      }
      metrics_->count_request(endpoint, res.status < 0 ? 200 : res.status);
    };
  };
  s.Post("/v1/chat/completions", generation(true));
  s.Post("/v1/completions", generation(false));
}

}  // namespace frugal
