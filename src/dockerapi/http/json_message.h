// The server's own answers (404 for no route, 413, 400 for bad HTTP, 500 for a throwing
// handler) in Docker's error shape: {"message":"..."}\n, application/json.
#pragma once

#include <string>

#include "dockerapi/http/server.h"

namespace capsule::http {

Response JsonMessage(int status, const std::string& message);

}  // namespace capsule::http
