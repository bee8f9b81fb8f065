// Errors of the HTTP API in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// with the status code that goes with the type (400 invalid_request_error, 401
// authentication_error, 404 model or route not found, 413 body too large, 429
// rate_limit_exceeded, 500 server_error, 503 shutting down).
#pragma once

#include <stdexcept>
#include <string>

namespace frugal {

struct ApiError : std::runtime_error {
  int status;
  std::string type, param, code;
  ApiError(int status_, std::string message, std::string param_ = "", std::string code_ = "",
           std::string type_ = "");
};

// 400 for a request field; `param` names it.
ApiError api_bad_request(const std::string& param, const std::string& message);

std::string api_error_json(const ApiError& e);

}  // namespace frugal
