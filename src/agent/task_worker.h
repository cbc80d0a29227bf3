// The agent's task worker: keeps the set of tasks the dispatcher assigned to this node and
// drives each one through the Executor, reporting progress through a StatusQueue:
//   ASSIGNED: the spec's Env values and Hostname are expanded as templates first
//     (spec_templating.h); an error → REJECTED "resolving controller failed" (as swarmkit).
//   ASSIGNED, desired READY or RUNNING → ACCEPTED → PREPARING (Executor::Prepare with the
//     task's secrets from the SecretCache, and its service's registry credentials when it has
//     them: Prepare pulls a missing image, see pulling_executor.h) → READY ("prepared");
//     Prepare NotFound "No such image: x" (or any Prepare error) → REJECTED with that error.
//   READY, desired RUNNING → STARTING (Start) → RUNNING ("started", PID, container ID);
//     Start error → FAILED. A task whose desired state is READY stays prepared: the manager
//     holds a replacement there for its restart delay, and in a stop-first update until the
//     task it replaces has stopped (swarmkit's agent does the same).
//   RUNNING: polled (Inspect) → COMPLETE "finished" (exit 0) / FAILED "task: non-zero exit (N)".
//     A task with live-refresh policies (Task::secret_refresh) whose version of such a secret
//     changed in place gets the new version's file swapped and its signal
//     (Executor::RefreshSecret) — same task, same container, same PID.
//   desired SHUTDOWN or later → Stop → SHUTDOWN "shutdown". A terminal task's container and
//     secret tmpfs are removed at once (its logs stay).
//   gone from the assignment set → Stop + Remove + RemoveLogs.
// Tasks the executor already has when the worker starts (a capsuled restart) are re-adopted
// when the first complete assignment set names them, and removed otherwise: no orphans, no
// stale tmpfs. A task's states only move forward. Each task is driven by its own thread, so a
// slow stop never holds up another task. Stop() leaves running containers alone (the next
// agent re-adopts them) and returns in bounded time: a task whose thread is still inside an
// executor call after stop_timeout (a Prepare stuck on a hostile image, a hung runc) is
// abandoned — its thread finishes that call on its own and then ends without touching the
// worker again (so `swarm leave` and SIGTERM never wait on it). The poll interval, the secret
// wait and the stop timeout are measured on the injected Clock. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "agent/secret_cache.h"
#include "agent/status_queue.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "objects/service.h"
#include "template/swarm_context.h"

namespace capsule::agent {

// The task's service as its templates see it (swarmkit's Task.ServiceAnnotations).
struct TaskService {
  std::string name;
  std::map<std::string, std::string> labels;
  // The SecretCache ID of the service's registry credentials (`--with-registry-auth`; ""
  // = none): handed to Executor::Prepare for a pull (TaskRun::registry_auth).
  std::string registry_auth_id = {};
};

struct TaskAssignment {
  Task task;
  int64_t version = 0;
  TaskService service = {};  // (a default, so {task, version} still initialises)
};

struct TaskWorkerOptions {
  std::chrono::milliseconds poll_interval{200};
  // How long a task waits for a secret it references to arrive before it is REJECTED.
  std::chrono::milliseconds secret_wait{30000};
  // How long Stop() waits for a task's thread busy in an executor call before abandoning it.
  std::chrono::milliseconds stop_timeout{10000};
  // This node as service-spec templates see it (.Node.Hostname, .Node.Platform.*).
  tmpl::SwarmNode node = {};
};

class TaskWorker {
 public:
  // `secrets`, `status` and `clock` must outlive the worker; `executor` must also outlive
  // any call Stop() abandoned (in capsuled it lives until the process exits).
  TaskWorker(Executor& executor, const SecretCache& secrets, StatusQueue& status,
             const Clock& clock, TaskWorkerOptions options = {});
  ~TaskWorker();  // Stop()
  TaskWorker(const TaskWorker&) = delete;
  TaskWorker& operator=(const TaskWorker&) = delete;

  // Remembers the tasks the executor has on disk (call once, before the first Apply).
  void Start();
  // Applies assignment changes: full_set = `tasks` is the complete set (others are removed).
  void Apply(bool full_set, std::vector<TaskAssignment> tasks,
             const std::vector<std::string>& removed);
  // Stops driving tasks (joins the task threads); containers keep running. Idempotent.
  void Stop();

  std::vector<std::string> TaskIds() const;  // assigned tasks, sorted

  // Executor calls abandoned by a Stop() (of any worker) that have not returned yet.
  static int AbandonedCalls();

  class Runner;  // drives one task; see the .cc

 private:
  void ReapLocked();
  // Waits (until `deadline` on clock_) for r's thread to end, then joins it; a thread still
  // inside an executor call by then is abandoned.
  void Finish(std::unique_ptr<Runner> r, SteadyTime deadline);

  Executor& executor_;
  const SecretCache& secrets_;
  StatusQueue& status_;
  const Clock& clock_;
  const TaskWorkerOptions options_;

  mutable Mutex mu_;
  bool stopped_ = false;
  bool got_full_set_ = false;
  std::set<std::string> known_;                             // on disk at Start, not yet claimed
  std::map<std::string, std::unique_ptr<Runner>> runners_;  // assigned tasks
  std::vector<std::unique_ptr<Runner>> leaving_;            // removed tasks being torn down
};

// "1000" → 1000; InvalidArgument for anything but a decimal uint32.
StatusOr<uint32_t> ParseId(const std::string& s, const char* what);

}  // namespace capsule::agent
