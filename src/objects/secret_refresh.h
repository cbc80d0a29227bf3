// Live refresh of a secret in running tasks (issue 14 part 3; docs/secret-versions.md): the
// policy a service sets per referenced secret with `--secret-refresh NAME=signal:SIG|none`.
// Pure functions, shared by the manager (validation, the orchestrator's in-place version
// move) and the agent (which signal to send).
//
//  - Service::secret_refresh and Task::secret_refresh map a secret ID to a policy in its
//    canonical form: "none" (the file is replaced, no signal) or "signal:<number>".
//  - A task records the policies it was created with; a task that has at least one is laid
//    out for refresh (its /run/secrets is one read-only bind of a tmpfs directory, so an
//    atomic rename there is seen inside the task). Tasks without any policy keep the per-file
//    binds Docker uses.
//  - A secret can be refreshed only at a target inside /run/secrets (a relative target, the
//    default, or an absolute one below /run/secrets/).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule {

inline constexpr char kRefreshNone[] = "none";

// "none" → "none"; "signal:HUP", "signal:SIGHUP", "signal:sighup", "signal:1" → "signal:1".
// InvalidArgument (message names the value and the accepted forms) otherwise; signal numbers
// 1…64, SIGKILL and SIGSTOP refused (they cannot be handled by the task).
StatusOr<std::string> ParseRefreshPolicy(std::string_view value);

// The signal of a canonical policy (0 for "none" or anything else).
int RefreshSignal(std::string_view canonical);

// "none" / "signal:SIGHUP" (by name where known, else "signal:<n>"), for display.
std::string RefreshPolicyText(std::string_view canonical);

// Whether a secret at `target` (as in its SecretReference) can be refreshed in place.
bool RefreshableTarget(std::string_view target);

// Whether a task made with `task_policies` has the refresh layout a service with
// `service_policies` needs (both without policies, or both with some): when not, the task
// must be replaced (orchestrator::IsTaskDirty); when it has, policies and versions move in
// place.
inline bool SameRefreshLayout(const std::map<std::string, std::string>& task_policies,
                              const std::map<std::string, std::string>& service_policies) {
  return task_policies.empty() == service_policies.empty();
}

}  // namespace capsule
