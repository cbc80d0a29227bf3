// What the dispatcher needs from the manager's state to hand out assignments and record task
// progress. The real implementations (read model + store) are in read_model_source.h; tests
// use in-memory fakes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "objects/service.h"
#include "store/read_model.h"

namespace capsule::dispatcher {

struct SecretPayload {
  std::string name;
  SecretBytes data;
  std::optional<std::string> templating = std::nullopt;  // Spec.Templating.Name when set
};

// A service's annotations as its tasks' templates see them.
struct ServiceAnnotations {
  std::string name;
  std::map<std::string, std::string> labels;
};

// A manager as nodes dial it: its node ID and swarm address.
struct ManagerAddr {
  std::string node_id;
  std::string addr;  // ip:port
  bool operator==(const ManagerAddr&) const = default;
};

// Thread-safe.
class AssignmentSource {
 public:
  virtual ~AssignmentSource() = default;
  // Every task whose NodeID is node_id (any state), with its version.
  virtual std::vector<store::TaskEntry> TasksOnNode(const std::string& node_id) const = 0;
  virtual store::TaskEntry TaskById(const std::string& task_id) const = 0;
  // Reads one secret with its data (from the store; the data is never cached by the source).
  // `secret_id` is a delivery ID (objects/secret_versions.h): the secret's ID for version 1,
  // "<ID>@<n>" for version n. NotFound when it (or that version) is gone.
  virtual StatusOr<SecretPayload> ReadSecret(const std::string& secret_id) = 0;
  // The same for a config: configs travel to nodes exactly as secrets do (sealed per node).
  virtual StatusOr<SecretPayload> ReadConfig(const std::string& config_id) = 0;
  // The registry credentials `pull_auth_id` names (X-Registry-Auth bytes as data; name
  // empty), read from the store like a secret. NotFound when gone (the default, for test
  // doubles).
  virtual StatusOr<SecretPayload> ReadPullAuth(const std::string& pull_auth_id) {
    return absl::NotFoundError("registry credentials " + pull_auth_id + " not found");
  }
  // The ID of the registry credentials of service `service_id` (Service::pull_auth_id; ""
  // when it has none or is gone; the default, for test doubles, is "").
  virtual std::string PullAuthOf(const std::string& service_id) const {
    (void)service_id;
    return "";
  }
  // The annotations of the service `service_id` (empty when it is gone; the default, for
  // test doubles, is empty).
  virtual ServiceAnnotations ServiceOf(const std::string& service_id) const {
    (void)service_id;
    return {};
  }
  // Every manager of the swarm (sent to the nodes in their sessions, so they can fail over),
  // in a stable order. Empty (the default, for test doubles) = the dispatcher's configured
  // list (DispatcherOptions::managers) is kept.
  virtual std::vector<ManagerAddr> Managers() const { return {}; }
  // The role the swarm wants node `node_id` to have (its desired role: "manager" | "worker"),
  // sent to it in its session; "" (the default, for test doubles) = none sent.
  virtual std::string DesiredRoleOf(const std::string& node_id) const {
    (void)node_id;
    return "";
  }
  // `fn` runs (quickly: note and wake) whenever tasks, secrets or managers may have changed.
  virtual uint64_t Subscribe(std::function<void()> fn) = 0;
  virtual void Unsubscribe(uint64_t id) = 0;  // fn never runs after it returns
};

// Thread-safe.
class TaskStatusStore {
 public:
  virtual ~TaskStatusStore() = default;
  // Atomically applies ApplyNodeTaskStatus(node_id, status, task) to the stored task:
  // NotFound (task gone), PermissionDenied, FailedPrecondition (backwards), Unavailable.
  virtual Status UpdateTaskStatus(const std::string& node_id, const std::string& task_id,
                                  const TaskStatus& status) = 0;
};

// The rule for a node's status report: the task must be assigned to node_id
// (PermissionDenied), the state must be one a node reports (ACCEPTED or later, else
// InvalidArgument) and must not move backwards (FailedPrecondition; the same state again is
// accepted, so a retried report is harmless). On success task->status = status.
Status ApplyNodeTaskStatus(const std::string& node_id, const TaskStatus& status, Task* task);

// Whether a task in `state` holds its secrets (ASSIGNED…RUNNING).
inline bool NeedsSecrets(TaskState state) {
  return state >= TaskState::kAssigned && state <= TaskState::kRunning;
}

}  // namespace capsule::dispatcher
