// Task status reports on their way to the manager: queued, coalesced per task (only the
// latest state of a task is sent; states only move forward), sent in batches by one thread
// and retried with backoff until the manager settles them. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "objects/service.h"

namespace capsule::agent {

struct TaskStatusReport {
  std::string task_id;
  TaskStatus status;
};

// Sends one batch (SessionClient::UpdateTaskStatus in the daemon). OK = settled (written or
// definitively refused); any error = try again later.
class StatusReporter {
 public:
  virtual ~StatusReporter() = default;
  virtual Status Report(const std::vector<TaskStatusReport>& batch) = 0;
};

class StatusQueue {
 public:
  StatusQueue(StatusReporter& reporter, std::chrono::milliseconds retry_after);
  ~StatusQueue();  // Stop()

  void Enqueue(TaskStatusReport report);
  // Stops the thread; reports still queued are dropped (the next agent run reports afresh).
  void Stop();
  // Blocks until nothing is queued or in flight (tests), or the timeout; true if drained.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  void Run();

  StatusReporter& reporter_;
  const std::chrono::milliseconds retry_after_;
  Mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::map<std::string, TaskStatusReport> pending_ ABSL_GUARDED_BY(mu_);  // by task ID
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::agent
