#include "serve/api_request.h"

#include <random>

#include "core/error.h"
#include "serve/api_error.h"
#include "tokenizer/utf8.h"

namespace frugal {

namespace {

using nlohmann::json;

const json* field(const json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double number_field(const json& j, const char* name, double def, double lo, double hi) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_number()) throw api_bad_request(name, fmt::format("{} must be a number", name));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi)) throw api_bad_request(name, fmt::format("{} must be in [{}, {}], got {}", name, lo, hi, x));
  return x;
}

bool bool_field(const json& j, const char* name, bool def) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_boolean()) throw api_bad_request(name, fmt::format("{} must be true or false", name));
  return v->get<bool>();
}

std::vector<std::string> stop_field(const json& j) {
  const json* v = field(j, "stop");
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const json& s : *v) {
      if (!s.is_string()) throw api_bad_request("stop", "stop must be a string or an array of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw api_bad_request("stop", "stop must be a string or an array of strings");
  }
  if (out.size() > 4) throw api_bad_request("stop", "stop takes at most 4 sequences");
  for (const std::string& s : out)
    if (s.empty()) throw api_bad_request("stop", "stop sequences must not be empty");
  return out;
}

int64_t max_tokens_field(const json& j, const ApiLimits& limits) {
  const char* name = j.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const json* v = field(j, name);
  if (!v) return limits.default_max_tokens;
  if (!v->is_number_integer()) throw api_bad_request(name, fmt::format("{} must be an integer", name));
  if (!v->is_number_unsigned() || v->get<uint64_t>() < 1)
    throw api_bad_request(name, fmt::format("{} must be at least 1, got {}", name, v->dump()));
  if (v->is_number_unsigned() && v->get<uint64_t>() >= uint64_t(limits.context))
    throw api_bad_request(name, fmt::format("{} = {} does not fit the context of {} tokens (prompt and answer "
                                            "together)", name, v->dump(), limits.context));
  return v->get<int64_t>();
}

void check_tools(const json& tools) {
  if (!tools.is_array()) throw api_bad_request("tools", "tools must be an array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const std::string p = fmt::format("tools[{}]", i);
    if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") ||
        !t["function"].is_object() || !t["function"].contains("name") || !t["function"]["name"].is_string())
      throw api_bad_request(p, p + " must be {\"type\": \"function\", \"function\": {\"name\": ..., ...}}");
  }
}

}  // namespace

ApiRequest api_request_parse(const std::string& body, bool chat, const ApiLimits& limits) {
  if (!utf8_is_valid(body)) throw ApiError(400, "the request body is not valid UTF-8", "", "invalid_utf8");
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");

  if (const json* m = field(j, "model")) {
    if (!m->is_string()) throw api_bad_request("model", "model must be a string");
    if (m->get<std::string>() != limits.model)
      throw ApiError(404, fmt::format("the model '{}' does not exist; this server serves '{}'", m->get<std::string>(),
                                      limits.model),
                     "model", "model_not_found");
  }
  ApiRequest r;
  r.chat = chat;
  if (chat) {
    const json* m = field(j, "messages");
    if (!m) throw api_bad_request("messages", "messages is required");
    if (!m->is_array()) throw api_bad_request("messages", "messages must be an array");
    if (m->empty()) throw api_bad_request("messages", "messages must not be empty");
    try {
      r.messages = chat_messages_from_json(*m);
    } catch (const Error& e) {
      throw api_bad_request("messages", e.what());
    }
    if (const json* t = field(j, "tools")) {
      check_tools(*t);
      const json* choice = field(j, "tool_choice");
      if (choice && !(choice->is_string() && (*choice == "auto" || *choice == "none")))
        throw api_bad_request("tool_choice", "tool_choice must be \"auto\" or \"none\" (forcing a call is not supported)");
      if (!(choice && *choice == "none") && !t->empty()) r.tools = *t;
    }
    if (const json* k = field(j, "chat_template_kwargs")) {
      if (!k->is_object()) throw api_bad_request("chat_template_kwargs", "chat_template_kwargs must be an object");
      if (k->contains("enable_thinking")) r.thinking = bool_field(*k, "enable_thinking", true);
    }
  } else {
    const json* p = field(j, "prompt");
    if (!p) throw api_bad_request("prompt", "prompt is required");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
    if (!p->is_string()) throw api_bad_request("prompt", "prompt must be a string");
    r.prompt = p->get<std::string>();
    if (r.prompt.empty()) throw api_bad_request("prompt", "prompt must not be empty");
  }
  if (const json* f = field(j, "response_format")) {
    if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string())
      throw api_bad_request("response_format", "response_format must be {\"type\": ...}");
    if ((*f)["type"] != "text")
      throw ApiError(400, fmt::format("response_format {} is not supported: frugal serve has no constrained decoding "
                                      "yet; ask for JSON in the prompt instead", (*f)["type"].dump()),
                     "response_format", "unsupported_response_format");
  }
  if (const json* n = field(j, "n"); n && !(n->is_number_integer() && n->get<int64_t>() == 1))
    throw api_bad_request("n", "only n = 1 is supported");
  if (bool_field(j, "logprobs", false)) throw api_bad_request("logprobs", "logprobs are not supported");
  r.max_tokens = max_tokens_field(j, limits);
  r.sampling.temperature = float(number_field(j, "temperature", limits.default_temperature, 0.0, 2.0));
  r.sampling.top_p = float(number_field(j, "top_p", limits.default_top_p, 0.0, 1.0));
  if (r.sampling.top_p <= 0.0f) throw api_bad_request("top_p", "top_p must be greater than 0");
  if (const json* s = field(j, "seed")) {
    if (!s->is_number_integer()) throw api_bad_request("seed", "seed must be an integer");
    r.sampling.seed = s->is_number_unsigned() ? s->get<uint64_t>() : uint64_t(s->get<int64_t>());
  } else {
    r.sampling.seed = std::random_device{}();
  }
  r.stop = stop_field(j);
  r.stream = bool_field(j, "stream", false);
  r.ignore_eos = bool_field(j, "ignore_eos", false);
  r.speculative = bool_field(j, "speculative", true);
  if (const json* o = field(j, "stream_options")) {
    if (!o->is_object()) throw api_bad_request("stream_options", "stream_options must be an object");
    r.include_usage = bool_field(*o, "include_usage", false);
  }
  return r;
}

}  // namespace frugal
