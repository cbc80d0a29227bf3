// Task logs: the shim writes each line a task prints, with its stream and time, to the task's
// log under the data root; TaskLogs reads them back for GET /services/{id}/logs and
// /tasks/{id}/logs. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::agent {

struct LogLine {
  TimePoint time;
  int stream = 1;    // 1 stdout, 2 stderr
  std::string text;  // one line, including its trailing '\n' when it had one
};

struct LogQuery {
  bool stdout_lines = true;
  bool stderr_lines = true;
  std::optional<size_t> tail;  // last N lines (of the selected streams); nullopt = all
  TimePoint since{};           // lines written before it are left out (the epoch: none are)
  bool follow = false;         // keep sending new lines until the task's log is closed
  // Polled (a few times a second) while following with nothing to send: returning true ends
  // the read, e.g. when the client went away. Optional.
  std::function<bool()> cancelled = nullptr;  // (initialised: designated initializers may omit it)
};

class TaskLogs {
 public:
  virtual ~TaskLogs() = default;
  // Calls `sink` for each line in order. With follow it returns once the task has exited and
  // its log is complete, or when `sink` returns false (the client went away). NotFound when
  // this node has no log for the task (yet: the log appears when the task starts). A log
  // is complete once the shim that writes it is gone (it holds a lock on the file).
  virtual Status Read(const std::string& task_id, const LogQuery& query,
                      const std::function<bool(const LogLine&)>& sink) const = 0;
};

// Reads the logs the executor configured with this data root writes.
std::unique_ptr<TaskLogs> NewTaskLogs(const std::string& data_root);

}  // namespace capsule::agent
