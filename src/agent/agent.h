// A node's agent: its dispatcher session, the secrets assigned to it (SecretCache) and the
// TaskWorker that runs its tasks through the Executor. Secrets arrive sealed for the
// session's delivery key and are opened straight into the cache; tasks go to the worker;
// the worker's status reports go back over the session (UpdateTaskStatus). Every node runs
// one, managers included (their session is with their own swarm port). Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "agent/executor/task_logs.h"
#include "agent/log_publisher.h"
#include "agent/secret_cache.h"
#include "agent/session_client.h"
#include "agent/status_queue.h"
#include "agent/task_worker.h"

namespace capsule::agent {

struct AgentOptions {
  TaskWorkerOptions worker;
  std::chrono::milliseconds status_retry{500};
  // This node's task logs: when set, the agent serves the manager's log subscriptions
  // (log_publisher.h) over its session.
  std::shared_ptr<const TaskLogs> logs;
};

class Agent final : private StatusReporter {
 public:
  // Starts at once (the session thread connects). `executor` and `clock` must outlive the
  // agent.
  Agent(SessionConfig config, Executor& executor, const Clock& clock, AgentOptions options = {});
  ~Agent() override;  // Stop()
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Ends the session, stops driving tasks (containers keep running: the next agent on this
  // node re-adopts them) and wipes the secrets. Idempotent.
  void Stop();

  SessionClient& session() { return *session_; }
  const std::string& node_id() const { return node_id_; }
  std::vector<std::string> SecretIds() const { return cache_.Ids(); }
  std::vector<std::string> TaskIds() const { return worker_.TaskIds(); }

 private:
  void OnAssignments(const api::AssignmentChanges& changes, const SessionKeys& keys);
  Status Report(const std::vector<TaskStatusReport>& batch) override;

  const std::string node_id_;
  SecretCache cache_;
  StatusQueue status_;
  TaskWorker worker_;
  std::unique_ptr<SessionClient> session_;
  std::atomic<SessionClient*> reporting_session_{nullptr};  // session_ once it is built
  std::shared_ptr<const TaskLogs> logs_;
  std::unique_ptr<LogPublisher> publisher_;  // after session_: stopped and destroyed first
};

}  // namespace capsule::agent
