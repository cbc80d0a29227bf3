#include "agent/task_sweeper.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace capsule::agent {

TaskSweeper::TaskSweeper(Executor& executor, const Clock& clock)
    : executor_(executor), clock_(clock) {}

TaskSweeper::~TaskSweeper() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!clock_.WaitFor(cv_, lock, std::chrono::seconds(10), [&] { return in_flight_.empty(); })) {
    spdlog::warn("waiting for {} task(s) still being removed (an executor call has not returned)",
                 in_flight_.size());
  }
}

std::vector<std::string> TaskSweeper::RemoveAll(std::chrono::nanoseconds budget) {
  const SteadyTime deadline = clock_.SteadyNow() + budget;
  std::vector<std::string> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& id : executor_.Known()) {
      if (in_flight_.insert(id).second) mine.push_back(id);
    }
  }
  for (const std::string& id : mine) {
    spdlog::info("removing task {}: this node is not in a swarm", id);
    // Detached: the destructor waits for in_flight_ to empty, and the thread touches nothing
    // of the sweeper after erasing its task (under mu_, then notify under mu_).
    std::thread([this, id] { Sweep(id); }).detach();
  }
  std::unique_lock<std::mutex> lock(mu_);
  clock_.WaitUntil(cv_, lock, deadline, [&] { return in_flight_.empty(); });
  std::vector<std::string> left(in_flight_.begin(), in_flight_.end());
  for (const std::string& id : left) {
    spdlog::warn(
        "task {}: removal not finished after {} ms (an executor call is stuck); going on without "
        "it: it is removed when that call returns, or at the next start",
        id, std::chrono::duration_cast<std::chrono::milliseconds>(budget).count());
  }
  return left;
}

std::vector<std::string> TaskSweeper::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {in_flight_.begin(), in_flight_.end()};
}

void TaskSweeper::Sweep(const std::string& task_id) {
  if (Status s = executor_.Stop(task_id); !s.ok() && s.code() != StatusCode::kNotFound) {
    spdlog::warn("task {}: stop failed: {}", task_id, s.ToString());
  }
  if (Status s = executor_.Remove(task_id); !s.ok()) {
    spdlog::warn("task {}: remove failed: {}", task_id, s.ToString());
  }
  if (Status s = executor_.RemoveLogs(task_id); !s.ok()) {
    spdlog::warn("task {}: removing logs failed: {}", task_id, s.ToString());
  }
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(task_id);
  cv_.notify_all();  // under mu_: the destructor may destroy cv_ as soon as mu_ is released
}

}  // namespace capsule::agent
