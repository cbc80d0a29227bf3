#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <string>

namespace capsule {

Status InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError("unknown log level: " + std::string(level));
  }
  auto logger = spdlog::stderr_logger_mt("capsule");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace capsule
