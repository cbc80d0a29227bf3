// Removes every task a node's executor has, in bounded time: when a node leaves the swarm (or
// starts outside one) no task may stay behind, and the leave must not hang on one of them.
// Each task is stopped, removed and its logs removed on a thread of its own, so a task whose
// executor call hangs (for example in the kernel on a hung mount, holding that task's executor
// lock) holds back neither the other tasks nor the caller: RemoveAll waits until its budget is
// spent and returns the tasks not finished by then. Their threads go on and finish the removal
// when the stuck call returns; a capsuled that restarts meanwhile sweeps them again at start.
// The destructor waits for those threads (they use the executor), logging what is still being
// removed: a process whose thread is stuck in the kernel could not exit sooner anyway, and a
// wait is better than a thread left using a destroyed executor.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "common/clock.h"

namespace capsule::agent {

class TaskSweeper {
 public:
  // `executor` and `clock` must outlive the sweeper.
  TaskSweeper(Executor& executor, const Clock& clock);
  ~TaskSweeper();
  TaskSweeper(const TaskSweeper&) = delete;
  TaskSweeper& operator=(const TaskSweeper&) = delete;

  // Stops and removes every task executor.Known() lists (a task still being removed by an
  // earlier call is not started twice). Returns, sorted, the tasks whose removal had not
  // finished when `budget` ran out (empty: every task is gone).
  std::vector<std::string> RemoveAll(std::chrono::nanoseconds budget);

  // Tasks whose removal is still running, sorted.
  std::vector<std::string> InFlight() const;

 private:
  void Sweep(const std::string& task_id);

  Executor& executor_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> in_flight_;  // guarded by mu_
};

}  // namespace capsule::agent
