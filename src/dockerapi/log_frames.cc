// Log frames (declared in log_frames.h).
#include "dockerapi/log_frames.h"

#include <cstdio>
#include <ctime>

namespace capsule::dockerapi {

std::string FormatRfc3339NanoFixed(TimePoint t) {
  const int64_t ns = ToUnixNanos(t);
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string SwarmLogDetails(const std::string& node_id, const std::string& service_id,
                            const std::string& task_id) {
  return "com.docker.swarm.node.id=" + node_id + ",com.docker.swarm.service.id=" + service_id +
         ",com.docker.swarm.task.id=" + task_id;
}

std::string LogFrame(const LogLine& line, const LogFrameOptions& options) {
  std::string payload;
  if (options.timestamps) payload += FormatRfc3339NanoFixed(line.time) + " ";
  if (!options.details.empty()) payload += options.details + " ";
  payload += line.text;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  std::string frame(8, '\0');
  frame[0] = static_cast<char>(line.stream == 2 ? 2 : 1);
  frame[4] = static_cast<char>((n >> 24) & 0xff);
  frame[5] = static_cast<char>((n >> 16) & 0xff);
  frame[6] = static_cast<char>((n >> 8) & 0xff);
  frame[7] = static_cast<char>(n & 0xff);
  return frame + payload;
}

}  // namespace capsule::dockerapi
