// Docker's log stream encoding for GET /services/{id}/logs and /tasks/{id}/logs: each line
// becomes one stdcopy frame (8-byte header: stream byte, 0, 0, 0, big-endian uint32 length)
// whose payload is "[<RFC3339NanoFixed> ][<details> ]<line>", as the engine's
// WriteLogStream writes it.
#pragma once

#include <string>

#include "dockerapi/task_logs.h"

namespace capsule::dockerapi {

struct LogFrameOptions {
  bool timestamps = false;
  // Non-empty with details=1: "com.docker.swarm.node.id=N,com.docker.swarm.service.id=S,
  // com.docker.swarm.task.id=T" (keys sorted, as the engine does).
  std::string details;
};

std::string LogFrame(const LogLine& line, const LogFrameOptions& options);

// The details attributes of a swarm task's lines.
std::string SwarmLogDetails(const std::string& node_id, const std::string& service_id,
                            const std::string& task_id);

// Go's RFC3339NanoFixed in UTC: always nine fraction digits ("...T00:27:14.916834300Z").
std::string FormatRfc3339NanoFixed(TimePoint t);

}  // namespace capsule::dockerapi
