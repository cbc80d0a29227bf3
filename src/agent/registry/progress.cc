// Pull progress messages (declared in progress.h).
#include "agent/registry/progress.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace capsule::agent::registry {

using nlohmann::json;

std::string StatusMessage(const std::string& status, const std::string& id) {
  json m{{"status", status}};
  if (!id.empty()) m["id"] = id;
  return m.dump();
}

std::string LayerMessage(const std::string& status, const std::string& id) {
  return json{{"status", status}, {"progressDetail", json::object()}, {"id", id}}.dump();
}

std::string ProgressMessage(const std::string& status, const std::string& id, int64_t current,
                            int64_t total) {
  return json{{"status", status},
              {"progressDetail", {{"current", current}, {"total", total}}},
              {"progress", ProgressBar(current, total)},
              {"id", id}}
      .dump();
}

std::string ErrorMessage(const std::string& message) {
  return json{{"errorDetail", {{"message", message}}}, {"error", message}}.dump();
}

std::string HumanSize(double bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int i = 0;
  while (bytes >= 1000.0 && i < 5) {
    bytes /= 1000.0;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g%s", bytes, kUnits[i]);
  return buf;
}

std::string ProgressBar(int64_t current, int64_t total) {
  if (total <= 0) return HumanSize(static_cast<double>(current));
  int half = static_cast<int>(static_cast<double>(current) / static_cast<double>(total) * 100) / 2;
  if (half > 50) half = 50;
  if (half < 0) half = 0;
  // Docker: "=" per 2 %, ">", then 50 - that many spaces.
  const std::string bar = "[" + std::string(half, '=') + ">" + std::string(50 - half, ' ') + "] ";
  char numbers[64];
  std::snprintf(numbers, sizeof(numbers), "%8s/%s", HumanSize(static_cast<double>(current)).c_str(),
                HumanSize(static_cast<double>(total)).c_str());
  return bar + numbers;
}

std::string ShortDigest(const std::string& digest) {
  const size_t colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

}  // namespace capsule::agent::registry
