#include "serve/completion_handler.h"

#include <chrono>
#include <memory>
#include <random>

#include "serve/answer_stream.h"
#include "serve/api_error.h"

namespace frugal {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}", prefix, rng());
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_event(const json& j) { return "data: " + dump(j) + "\n\n"; }

const char* finish_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "abort";
    default: return "error";
  }
}

// One answer while it is produced; shared with httplib's content provider, which
// outlives the handler.
struct AnswerState {
  const CompletionContext& ctx;  // the server's: lives longer than any request
  ApiRequest req;
  bool reasoning_model = false;
  int64_t prompt_tokens = 0;
  std::shared_ptr<RequestStream> stream;
  AnswerStream answer;
  std::string id, object;
  int64_t created = 0;
  Clock::time_point t0, last_write;
  int64_t completion_tokens = 0;
  bool first_token = true, sent_role = false, done = false;
  std::string finish_reason;
  std::vector<ToolCall> tool_calls;
  AnswerDelta whole;  // a non-streaming answer so far

  AnswerState(const CompletionContext& c, ApiRequest r, AnswerStreamOptions aopt)
      : ctx(c), req(std::move(r)), answer(c.tokenizer, std::move(aopt)) {
    ++ctx.open_answers;
  }
  ~AnswerState() { --ctx.open_answers; }

  // What the engine produced since the last call (waiting up to `wait`), as one
  // text delta per token that showed text (OpenAI streams a chunk per token);
  // sets `done` at the end, whose flush is the last delta.
  std::vector<AnswerDelta> poll(std::chrono::milliseconds wait) {
    std::vector<int32_t> ids;
    bool more = stream->read(ids, wait);
    std::vector<AnswerDelta> out;
    for (int32_t t : ids) {
      if (answer.stopped()) break;
      if (first_token) {
        ctx.metrics.observe_first_token(std::chrono::duration<double>(Clock::now() - t0).count());
        first_token = false;
      }
      ++completion_tokens;
      AnswerDelta x = answer.push(t);
      if (!x.empty()) out.push_back(std::move(x));
    }
    if (answer.stopped()) {
      stream->cancel();  // a stop sequence: the rest is not wanted
      finish_reason = "stop";
      more = false;
    }
    if (!more) {
      AnswerDelta x = answer.finish();
      if (!x.empty()) out.push_back(std::move(x));
      if (finish_reason.empty()) finish_reason = finish_name(stream->finish_reason());
      for (const ToolCall& c : answer.tool_calls()) {
        tool_calls.push_back(c);
        tool_calls.back().id = random_id("call_");
      }
      if (!tool_calls.empty()) finish_reason = "tool_calls";
      done = true;
      ctx.metrics.observe_request(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return out;
  }

  json usage() const {
    const int64_t hit = stream->cached_tokens();
    json u = {{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens},
              {"prompt_cache_hit_tokens", hit},
              {"prompt_cache_miss_tokens", prompt_tokens - hit},
              {"prompt_tokens_details", {{"cached_tokens", hit}}}};
    if (ctx.engine.options().speculative > 0) u["speculative"] = speculative_usage(stream->spec());
    return u;
  }

  // MTP drafting for this request: drafts proposed and kept by the verify
  // passes (kept drafts past max_tokens or a stop included), per draft position
  // too (checked: every earlier draft was kept).
  static json speculative_usage(const SpecCounters& c) {
    int64_t accepted = 0;
    json checked = json::array(), kept = json::array();
    for (size_t k = 0; k < c.reached.size(); ++k) {
      accepted += c.accepted[k];
      checked.push_back(c.reached[k]);
      kept.push_back(c.accepted[k]);
    }
    return {{"drafted", c.mtp_passes},
            {"accepted", accepted},
            {"acceptance_rate", c.mtp_passes ? double(accepted) / double(c.mtp_passes) : 0.0},
            {"verify_steps", c.steps},
            {"checked_by_position", checked},
            {"accepted_by_position", kept}};
  }

  json tool_calls_json(bool with_index) const {
    json calls = json::array();
    for (size_t i = 0; i < tool_calls.size(); ++i) {
      json c = {{"id", tool_calls[i].id},
                {"type", "function"},
                {"function", {{"name", tool_calls[i].name}, {"arguments", tool_calls[i].arguments}}}};
      if (with_index) c["index"] = i;
      calls.push_back(c);
    }
    return calls;
  }

  json envelope() const { return {{"id", id}, {"object", object}, {"created", created}, {"model", ctx.limits.model}}; }

  // A stream chunk: a chat delta, or a completion's text.
  json chunk(const json& delta, const json& finish) const {
    json j = envelope();
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
    if (req.chat)
      choice["delta"] = delta;
    else
      choice["text"] = delta.value("content", "");
    j["choices"] = json::array({choice});
    if (req.include_usage) j["usage"] = nullptr;
    return j;
  }

  json delta_json(const AnswerDelta& d) const {
    json delta = json::object();
    if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
    if (!d.content.empty()) delta["content"] = d.content;
    return delta;
  }

  // httplib's content provider: called until sink.done().
  bool pump(httplib::DataSink& sink) {
    std::string out;
    if (req.chat && !sent_role) {
      out += sse_event(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
      sent_role = true;
    }
    for (const AnswerDelta& d : poll(std::chrono::milliseconds(100))) out += sse_event(chunk(delta_json(d), nullptr));
    if (done) {
      if (stream->finish_reason() == FinishReason::Error)
        out += sse_event(json::parse(api_error_json(ApiError(500, "generation failed", "", "engine_error"))));
      if (!tool_calls.empty()) out += sse_event(chunk({{"tool_calls", tool_calls_json(true)}}, nullptr));
      out += sse_event(chunk(json::object(), finish_reason));
      if (req.include_usage) {
        json u = envelope();
        u["choices"] = json::array();
        u["usage"] = usage();
        out += sse_event(u);
      }
      out += "data: [DONE]\n\n";
    }
    // A comment now and then finds out whether the client is still there.
    if (out.empty() && Clock::now() - last_write > std::chrono::seconds(2)) out = ": keep-alive\n\n";
    if (!out.empty()) {
      if (!sink.write(out.data(), out.size())) return false;
      last_write = Clock::now();
    }
    if (done) sink.done();
    return true;
  }

  // The content provider of a non-streaming answer: whitespace (allowed before
  // a JSON value, RFC 8259 Sec. 2) while the answer is generated, which finds
  // out whether the client is still there; then the whole response.
  bool pump_whole(httplib::DataSink& sink) {
    for (const AnswerDelta& d : poll(std::chrono::milliseconds(100))) {
      whole.reasoning += d.reasoning;
      whole.content += d.content;
    }
    if (!done) {
      if (sink.is_writable && !sink.is_writable()) return false;
      if (Clock::now() - last_write > std::chrono::milliseconds(250)) {
        if (!sink.write("\n", 1)) return false;
        last_write = Clock::now();
      }
      return true;
    }
    // The status line is out already: a generation failure (not expected:
    // inputs are checked at submit) is reported in the body.
    const std::string body = stream->finish_reason() == FinishReason::Error
                                 ? api_error_json(ApiError(500, "generation failed", "", "engine_error"))
                                 : dump(whole_response(whole));
    if (!sink.write(body.data(), body.size())) return false;
    sink.done();
    return true;
  }

  json whole_response(const AnswerDelta& all) const {
    json j = envelope();
    json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_reason}};
    if (req.chat) {
      json msg = {{"role", "assistant"}};
      msg["content"] = all.content.empty() && !tool_calls.empty() ? json(nullptr) : json(all.content);
      if (reasoning_model || !all.reasoning.empty()) msg["reasoning_content"] = all.reasoning;
      if (!tool_calls.empty()) msg["tool_calls"] = tool_calls_json(false);
      choice["message"] = msg;
    } else {
      choice["text"] = all.content;
    }
    j["choices"] = json::array({choice});
    j["usage"] = usage();
    return j;
  }
};

}  // namespace

std::string tools_system_text(const json& tools) {
  std::string s =
      "## Tools\nYou can call the functions below. To call one, write:\n"
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGUMENTS\n```"
      "<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n\nFunctions:\n";
  for (const json& t : tools) s += dump(t["function"]) + "\n";
  return s;
}

void completion_handle(const CompletionContext& ctx, const httplib::Request& http_req, httplib::Response& res,
                       bool chat) {
  const auto t0 = Clock::now();
  ApiRequest req = api_request_parse(http_req.body, chat, ctx.limits);

  std::string prompt;
  std::vector<int32_t> ids;
  bool reasoning_model = false;
  if (chat) {
    std::vector<ChatMessage> messages = req.messages;
    if (!req.tools.is_null()) {
      const std::string text = tools_system_text(req.tools);
      if (!messages.empty() && messages[0].role == ChatRole::System)
        messages[0].content = messages[0].content.value_or("") + "\n\n" + text;
      else
        messages.insert(messages.begin(), {.role = ChatRole::System, .content = text});
    }
    ChatRenderOptions ro;
    ro.thinking = req.thinking;
    prompt = chat_render(ctx.format, messages, ro);
    ids = ctx.tokenizer.encode(prompt, /*add_special_tokens=*/false);
    reasoning_model = chat_prompt_opens_reasoning(prompt);
  } else {
    prompt = req.prompt;
    ids = ctx.tokenizer.encode(prompt, /*add_special_tokens=*/true);
  }
  if (int64_t(ids.size()) >= ctx.limits.context)
    throw ApiError(400,
                   fmt::format("the prompt has {} tokens and the context holds {} (prompt and answer together): "
                               "shorten the conversation",
                               ids.size(), ctx.limits.context),
                   chat ? "messages" : "prompt", "context_length_exceeded");

  AnswerStreamOptions aopt{.chat = chat, .starts_in_reasoning = reasoning_model, .parse_tool_calls = chat,
                           .stop = req.stop};
  auto st = std::make_shared<AnswerState>(ctx, std::move(req), std::move(aopt));
  st->reasoning_model = reasoning_model;
  st->prompt_tokens = int64_t(ids.size());
  st->id = random_id(chat ? "chatcmpl-" : "cmpl-");
  st->object = chat ? (st->req.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  st->created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
  st->t0 = t0;
  st->last_write = t0;
  st->stream = ctx.engine.submit({.prompt = std::move(ids),
                                  .max_tokens = st->req.max_tokens,
                                  .sampling = st->req.sampling,
                                  .stop_tokens = st->req.ignore_eos ? std::vector<int32_t>{} : ctx.stop_tokens,
                                  .speculative = st->req.speculative});

  // Both kinds of answer go out through a chunked content provider, so a client
  // that hangs up is noticed at the next write (httplib gives a handler no
  // socket) and its request cancelled: its KV blocks are free at the next step.
  auto released = [st](bool) {
    if (!st->done) {  // the client went away (or the server stops)
      st->stream->cancel();
      st->ctx.metrics.count_disconnect();
    }
  };
  if (st->req.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [st](size_t, httplib::DataSink& sink) { return st->pump(sink); }, released);
  } else {
    res.set_chunked_content_provider(
        "application/json", [st](size_t, httplib::DataSink& sink) { return st->pump_whole(sink); }, released);
  }
}

}  // namespace frugal
