#include "serve/api_error.h"

#include <nlohmann/json.hpp>

namespace frugal {

namespace {
std::string type_for(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_exceeded";
    case 503: return "service_unavailable";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}
}  // namespace

ApiError::ApiError(int status_, std::string message, std::string param_, std::string code_, std::string type_)
    : std::runtime_error(std::move(message)),
      status(status_),
      type(type_.empty() ? type_for(status_) : std::move(type_)),
      param(std::move(param_)),
      code(std::move(code_)) {}

ApiError api_bad_request(const std::string& param, const std::string& message) {
  return ApiError(400, message, param, "invalid_value");
}

std::string api_error_json(const ApiError& e) {
  nlohmann::json err = {{"message", e.what()}, {"type", e.type}};
  err["param"] = e.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param);
  err["code"] = e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code);
  // error_handler_t::replace: a message quoting the user's bytes must not throw.
  return nlohmann::json({{"error", err}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace frugal
