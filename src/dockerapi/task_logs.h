// What the logs routes need from this node's task logs, as an interface: src/node adapts the
// agent's logs to it; tests can use a fake. Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::dockerapi {

struct LogLine {
  TimePoint time;
  int stream = 1;    // 1 stdout, 2 stderr
  std::string text;  // one line, with its trailing '\n' when it had one
};

struct LogQuery {
  bool stdout_lines = true;
  bool stderr_lines = true;
  std::optional<size_t> tail;  // the last N lines of the selected streams; nullopt = all
  TimePoint since{};           // lines written before it are left out (the epoch: none are)
  bool follow = false;         // keep sending new lines until the task's log is complete
  // Polled while following with nothing to send: true ends the read (the client went away).
  std::function<bool()> cancelled = nullptr;
};

class TaskLogSource {
 public:
  virtual ~TaskLogSource() = default;
  // Calls `sink` for each line in order, until the log ends (with follow: until the task's
  // log is complete) or `sink` returns false. NotFound when this node has no log for the task.
  virtual Status Read(const std::string& task_id, const LogQuery& query,
                      const std::function<bool(const LogLine&)>& sink) const = 0;
};

// Other nodes' task logs, as a manager reaches them (src/node adapts the log broker to it).
// Thread-safe.
class RemoteTaskLogSource {
 public:
  virtual ~RemoteTaskLogSource() = default;
  // As TaskLogSource::Read for a task on `node_id`. Unavailable when that node cannot send
  // (down, not listening, or no log for the task); without follow it gives up after a bounded
  // wait on a node that sends nothing. Follow ends when the node's stream ends.
  virtual Status Read(const std::string& node_id, const std::string& task_id, const LogQuery& query,
                      const std::function<bool(const LogLine&)>& sink) const = 0;
};

}  // namespace capsule::dockerapi
