// Logging: spdlog to stderr only (the operator redirects it). A log line may name a
// secret, never contain its value; request logs carry method, route pattern and status.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/status.h"

namespace capsule {

// Configures the default logger: stderr, "[time] [level] message". level: trace, debug,
// info, warn, error. Unknown level → InvalidArgument.
Status InitLogging(std::string_view level);

}  // namespace capsule
