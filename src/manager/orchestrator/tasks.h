// Small task helpers shared by the orchestrator's parts (and usable by controlapi, e.g. for
// the tasks filter "_up-to-date": a task is up to date when it is not dirty).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "objects/objects.h"
#include "objects/service.h"

namespace capsule::orchestrator {

// A new task for `service` as swarmkit's NewTask makes it: state NEW ("created"), desired
// RUNNING, Spec = the service's TaskTemplate, SpecVersion = the service's spec_version (the
// revision its spec was last written at), or `spec_version` when that is unset. Replicated tasks
// get a slot; global tasks a node (slot 0). The task records the secret versions the service
// pins (Service::secret_versions, for the secrets its TaskTemplate references).
Task NewTask(const Service& service, int64_t spec_version, uint64_t slot,
             const std::string& node_id, TimePoint now);

// swarmkit's IsTaskDirty: the task was made from another spec than the service's current
// TaskTemplate (a changed ForceUpdate included) — except when only the placement constraints
// changed and the task's node (may be null) still satisfies them. A change of Replicas alone
// leaves tasks clean. controlapi's tasks filter "_up-to-date" is !IsTaskDirty (as swarmkit).
// Capsule's addition: a task is also dirty when, for a secret the service references, it
// mounts another version than the service pins (SecretVersionsDiffer) — how `capsule secret
// rotate|rollback` rolls tasks through the ordinary updater.
// Live refresh: a task is also dirty when it lacks the refresh layout its service's policies
// need, or has it without any policy (objects/secret_refresh.h SameRefreshLayout).
bool IsTaskDirty(const Service& service, const Task& task, const Node* node);
bool SecretVersionsDiffer(const Service& service, const Task& task);

// Live refresh (issue 14 part 3): for a task that may still run (desired RUNNING or READY,
// not ended) and has the refresh layout, takes its service's refresh policies and, for each
// secret with a policy, the version the service pins — in place: same task ID, slot and
// container; the node swaps the file. Returns whether `task` changed (the caller writes it).
bool MoveSecretsInPlace(const Service& service, Task& task, TimePoint now);

// Desired state READY or RUNNING: the task is meant to run (or to start once delayed).
inline bool IsRunnable(const Task& t) { return t.desired_state <= TaskState::kRunning; }

// The restart policy that applies (Docker's defaults when the spec has none).
RestartPolicy EffectiveRestartPolicy(const TaskSpec& spec);
UpdateConfig EffectiveUpdateConfig(const ServiceSpec& spec);
UpdateConfig EffectiveRollbackConfig(const ServiceSpec& spec);

// Sets the observed status (timestamped; the error is cleared).
void SetStatus(Task& t, TaskState state, const std::string& message, TimePoint now);

}  // namespace capsule::orchestrator
