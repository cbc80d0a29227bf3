#include "agent/status_queue.h"

#include <spdlog/spdlog.h>

namespace capsule::agent {

StatusQueue::StatusQueue(StatusReporter& reporter, std::chrono::milliseconds retry_after)
    : reporter_(reporter), retry_after_(retry_after) {
  thread_ = std::thread([this] { Run(); });
}

StatusQueue::~StatusQueue() { Stop(); }

void StatusQueue::Enqueue(TaskStatusReport report) {
  {
    MutexLock lock(mu_);
    auto it = pending_.find(report.task_id);
    // Never replace a queued state by an earlier one.
    if (it != pending_.end() && report.status.state < it->second.status.state) return;
    std::string id = report.task_id;
    pending_[id] = std::move(report);
  }
  cv_.notify_all();
}

void StatusQueue::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool StatusQueue::WaitIdle(std::chrono::milliseconds timeout) {
  MutexLock lock(mu_);
  return idle_cv_.wait_for(lock.native(), timeout, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pending_.empty() && !in_flight_;
  });
}

void StatusQueue::Run() {
  MutexLock lock(mu_);
  while (true) {
    cv_.wait(lock.native(), [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !pending_.empty();
    });
    if (stopping_) return;
    std::vector<TaskStatusReport> batch;
    for (const auto& [id, report] : pending_) batch.push_back(report);
    in_flight_ = true;
    lock.Unlock();
    Status sent = reporter_.Report(batch);
    lock.Lock();
    in_flight_ = false;
    if (sent.ok()) {
      // Settled, unless a newer report for the task arrived meanwhile.
      for (const TaskStatusReport& r : batch) {
        auto it = pending_.find(r.task_id);
        if (it != pending_.end() && it->second.status.state == r.status.state &&
            it->second.status.timestamp == r.status.timestamp) {
          pending_.erase(it);
        }
      }
      if (pending_.empty()) idle_cv_.notify_all();
      continue;
    }
    spdlog::warn("task status report failed ({} tasks): {}; retrying", batch.size(),
                 sent.ToString());
    cv_.wait_for(lock.native(), retry_after_,
                 [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; });
  }
}

}  // namespace capsule::agent
