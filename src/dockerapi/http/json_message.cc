#include "dockerapi/http/json_message.h"

#include <nlohmann/json.hpp>

namespace capsule::http {

Response JsonMessage(int status, const std::string& message) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = nlohmann::json{{"message", message}}.dump(-1, ' ', false,
                                                     nlohmann::json::error_handler_t::replace) +
           "\n";
  return r;
}

}  // namespace capsule::http
