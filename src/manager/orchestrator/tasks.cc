#include "manager/orchestrator/tasks.h"

#include "common/ids.h"
#include "manager/scheduler/constraint.h"
#include "objects/secret_refresh.h"
#include "objects/secret_versions.h"

namespace capsule::orchestrator {
namespace {

// The versions the service pins for the secrets its TaskTemplate references (1 = not pinned
// is left out, so a task made before versions existed compares equal).
std::map<std::string, int64_t> WantedSecretVersions(const Service& service) {
  std::map<std::string, int64_t> out;
  for (const SecretReference& ref : service.spec.task_template.container.secrets) {
    const int64_t v = PinnedVersion(service.secret_versions, ref.secret_id);
    if (v != 1) out[ref.secret_id] = v;
  }
  return out;
}

}  // namespace

Task NewTask(const Service& service, int64_t spec_version, uint64_t slot,
             const std::string& node_id, TimePoint now) {
  Task t;
  t.id = NewId();
  t.created_at = t.updated_at = now;
  t.spec = service.spec.task_template;
  t.service_id = service.id;
  t.slot = slot;
  t.node_id = node_id;
  SetStatus(t, TaskState::kNew, "created", now);
  t.desired_state = TaskState::kRunning;
  // The service's own spec version (it does not move when only UpdateStatus is written, so
  // the tasks filter _up-to-date stays true); `spec_version` only when the service has none.
  t.spec_version = service.spec_version != 0 ? service.spec_version : spec_version;
  t.secret_versions = WantedSecretVersions(service);
  t.secret_refresh = service.secret_refresh;
  return t;
}

bool SecretVersionsDiffer(const Service& service, const Task& task) {
  for (const SecretReference& ref : service.spec.task_template.container.secrets) {
    if (PinnedVersion(service.secret_versions, ref.secret_id) !=
        PinnedVersion(task.secret_versions, ref.secret_id)) {
      return true;
    }
  }
  return false;
}

bool MoveSecretsInPlace(const Service& service, Task& task, TimePoint now) {
  if (!IsRunnable(task) || IsTerminal(task.status.state)) return false;
  if (task.secret_refresh.empty() ||
      !SameRefreshLayout(task.secret_refresh, service.secret_refresh)) {
    return false;
  }
  bool changed = task.secret_refresh != service.secret_refresh;
  task.secret_refresh = service.secret_refresh;
  for (const SecretReference& ref : task.spec.container.secrets) {
    if (service.secret_refresh.count(ref.secret_id) == 0) continue;
    const int64_t want = PinnedVersion(service.secret_versions, ref.secret_id);
    if (PinnedVersion(task.secret_versions, ref.secret_id) == want) continue;
    if (want == 1) {
      task.secret_versions.erase(ref.secret_id);
    } else {
      task.secret_versions[ref.secret_id] = want;
    }
    changed = true;
  }
  if (changed) task.updated_at = now;
  return changed;
}

bool IsTaskDirty(const Service& service, const Task& task, const Node* node) {
  // A rotated (or rolled back) secret: the task mounts another version than the service pins.
  if (SecretVersionsDiffer(service, task)) return true;
  // Live refresh needs its own layout of the task's secrets (made when the task is created).
  if (!SameRefreshLayout(task.secret_refresh, service.secret_refresh)) return true;
  // Runtime is part of a service's TaskTemplate but not of a stored task (Docker's task JSON
  // has none), so it does not count.
  TaskSpec have = task.spec;
  TaskSpec want = service.spec.task_template;
  have.runtime.clear();
  want.runtime.clear();
  const Json want_json = TaskSpecJson(want);
  if (TaskSpecJson(have) == want_json) return false;
  // Only the constraints changed and the task's node still satisfies them: not dirty.
  have.placement = want.placement;
  if (node == nullptr || TaskSpecJson(have) != want_json) return true;
  StatusOr<std::vector<scheduler::Constraint>> cs =
      scheduler::ParseConstraints(want.placement.constraints);
  return !cs.ok() || !scheduler::NodeMatches(*cs, *node);
}

RestartPolicy EffectiveRestartPolicy(const TaskSpec& spec) {
  return spec.restart_policy ? *spec.restart_policy : RestartPolicy{};
}

UpdateConfig EffectiveUpdateConfig(const ServiceSpec& spec) {
  return spec.update_config ? *spec.update_config : UpdateConfig{};
}

UpdateConfig EffectiveRollbackConfig(const ServiceSpec& spec) {
  // Docker's rollback defaults are its update defaults.
  return spec.rollback_config ? *spec.rollback_config : UpdateConfig{};
}

void SetStatus(Task& t, TaskState state, const std::string& message, TimePoint now) {
  t.status.timestamp = now;
  t.status.state = state;
  t.status.message = message;
  t.status.err.clear();
  t.updated_at = now;
}

}  // namespace capsule::orchestrator
