#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <set>

#include "agent/spec_templating.h"

namespace capsule::agent {
namespace {

TaskWorkerOptions WithNode(TaskWorkerOptions o, const std::string& hostname) {
  o.node = LocalNodeDescription(hostname);
  return o;
}

}  // namespace

Agent::Agent(SessionConfig config, Executor& executor, const Clock& clock, AgentOptions options)
    : node_id_(config.node_id),
      status_(*this, options.status_retry),
      worker_(executor, cache_, status_, clock, WithNode(options.worker, config.hostname)) {
  worker_.Start();
  config.on_assignments = [this](const api::AssignmentChanges& changes, const SessionKeys& keys) {
    OnAssignments(changes, keys);
  };
  session_ = std::make_unique<SessionClient>(std::move(config), clock);
  reporting_session_ = session_.get();
  logs_ = std::move(options.logs);
  if (logs_) {
    SessionClient* session = session_.get();
    publisher_ = std::make_unique<LogPublisher>([session] { return session->SessionChannel(); },
                                                *logs_, clock);
  }
}

Agent::~Agent() { Stop(); }

void Agent::Stop() {
  if (publisher_) publisher_->Stop();
  if (session_) session_->Stop();
  worker_.Stop();
  status_.Stop();
  cache_.Clear();
}

void Agent::OnAssignments(const api::AssignmentChanges& changes, const SessionKeys& keys) {
  // New secrets first (the tasks that need them may be in this very message), withdrawn ones
  // last (a task leaving its running range is told before its secret goes).
  std::set<std::string> secret_ids;
  for (const api::AssignedSecret& s : changes.secrets()) {
    StatusOr<SecretBytes> data = crypto::OpenFromDispatcher(
        keys.keys, crypto::DeliveryAad(s.id(), keys.node_id, keys.session_id), s.sealed_data());
    if (!data.ok()) {
      spdlog::error("agent: secret {} ({}) does not open: {}", s.id(), s.name(),
                    data.status().ToString());
      continue;
    }
    cache_.Put(s.id(), *std::move(data),
               s.has_templating() ? std::optional<std::string>(s.templating()) : std::nullopt);
    secret_ids.insert(s.id());
  }
  std::vector<TaskAssignment> tasks;
  for (const api::AssignedTask& t : changes.tasks()) {
    StatusOr<Task> task = DecodeTaskMeta(t.task());
    if (!task.ok() || task->id != t.id()) {
      spdlog::error("agent: task {} in the assignments does not decode: {}", t.id(),
                    task.ok() ? "ID mismatch" : task.status().ToString());
      continue;
    }
    TaskService service{t.service_name(),
                        {t.service_labels().begin(), t.service_labels().end()},
                        t.registry_auth_id()};
    tasks.push_back({*std::move(task), t.version(), std::move(service)});
  }
  std::vector<std::string> removed(changes.removed_task_ids().begin(),
                                   changes.removed_task_ids().end());
  worker_.Apply(changes.full_set(), std::move(tasks), removed);
  if (changes.full_set()) {
    cache_.RetainOnly(secret_ids);
  } else {
    for (const std::string& id : changes.removed_secret_ids()) cache_.Remove(id);
  }
  spdlog::debug("agent: assignments applied{}: {} task(s), {} secret(s) held",
                changes.full_set() ? " (complete set)" : "", worker_.TaskIds().size(),
                cache_.Ids().size());
}

Status Agent::Report(const std::vector<TaskStatusReport>& batch) {
  api::UpdateTaskStatusRequest req;
  for (const TaskStatusReport& r : batch) {
    api::TaskStatusUpdate* u = req.add_updates();
    u->set_task_id(r.task_id);
    u->set_state(TaskStateName(r.status.state));
    u->set_message(r.status.message);
    u->set_err(r.status.err);
    if (r.status.container) {
      u->set_container_id(r.status.container->container_id);
      u->set_pid(r.status.container->pid);
      u->set_exit_code(r.status.container->exit_code);
    }
    u->set_timestamp_unix_nanos(ToUnixNanos(r.status.timestamp));
  }
  SessionClient* session = reporting_session_.load();
  return session ? session->UpdateTaskStatus(req) : absl::UnavailableError("no session yet");
}

}  // namespace capsule::agent
