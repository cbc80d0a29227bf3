// Services and tasks: the typed structs the manager and the agent work with, and Docker's task
// states. Durations are int64 nanoseconds, as in the API. Their Docker API JSON is in
// service_json.h, their store encoding in service_codec.h; Docker's validation rules for a
// spec are in manager/controlapi/validation.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "objects/objects.h"

namespace capsule {

inline constexpr char kServicesKind[] = "services";
inline constexpr char kTasksKind[] = "tasks";

// ContainerSpec.Secrets[]: {"File":{"Name","UID","GID","Mode"},"SecretID","SecretName"}.
struct SecretReference {
  std::string secret_id;
  std::string secret_name;
  bool has_file = false;  // File present (required; validated in controlapi)
  std::string target;     // File.Name
  std::string uid = "0";  // strings, as in the API
  std::string gid = "0";
  uint32_t mode = 0444;  // File.Mode (decimal in JSON: 0400 = 256)
};

// TaskTemplate.Networks[] and the deprecated ServiceSpec.Networks[] (swarm's
// NetworkAttachmentConfig). Target is a network ID once the engine resolved it (the client may
// send a name or an ID prefix; see controlapi/network.h).
struct NetworkAttachmentConfig {
  std::string target;
  std::vector<std::string> aliases;
  std::map<std::string, std::string> driver_opts;
};

// Endpoint.VirtualIPs[]: the service's address on one of its networks ("10.0.1.2/24"),
// allocated by the leader's orchestrator (manager/ipam).
struct VirtualIp {
  std::string network_id;
  std::string addr;
};

// Task.NetworksAttachments[]: a copy of the network object as it was when the address was
// allocated (swarm API form, objects/network.h NetworkObjectJson) and the task's addresses.
struct NetworkAttachment {
  std::string network_id;
  Json network;
  std::vector<std::string> addresses;
};

// ContainerSpec.Configs[]: {"File":{...},"ConfigID","ConfigName"} like a secret reference
// (a relative File.Name is under "/", not "/run/secrets/"), or {"Runtime":{},...}: a config the
// runtime reads itself (Docker's Windows credential specs), never mounted.
struct ConfigReference {
  std::string config_id;
  std::string config_name;
  bool has_file = false;
  bool has_runtime = false;  // Runtime present
  std::string target;        // File.Name
  std::string uid = "0";
  std::string gid = "0";
  uint32_t mode = 0444;
};

struct ContainerSpec {
  std::string image;
  Labels labels;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string hostname;
  std::vector<std::string> env;
  std::string dir;
  std::string user;
  std::vector<SecretReference> secrets;
  std::vector<ConfigReference> configs;
  std::optional<int64_t> stop_grace_period_ns;  // StopGracePeriod (default 10 s when unset)
  std::string stop_signal;
  bool init = false;
};

struct RestartPolicy {
  std::string condition = "any";  // none | on-failure | any
  int64_t delay_ns = 5000000000LL;
  uint64_t max_attempts = 0;  // 0 = unlimited
  int64_t window_ns = 0;
  bool present = false;  // the spec carried a RestartPolicy (rendered only then)
};

// Placement.Platforms entry (Docker's swarm.Platform): the CLI fills them from the image's
// platforms when it resolves the image on its registry; "" matches any.
struct PlatformSpec {
  std::string architecture;  // "amd64", "arm64", ...
  std::string os;            // "linux"
};

struct Placement {
  std::vector<std::string> constraints;  // "node.hostname==w1", "node.labels.x!=y", ...
  std::vector<PlatformSpec> platforms;   // tasks go only to nodes of one of these
};

// TaskTemplate.Resources.Limits (Docker's swarm.Limit); 0 = not set. Enforced by the agent
// through the task's cgroups (agent/executor/oci_spec.h); Pids 0 means Capsule's default.
struct ResourceLimits {
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;
  int64_t pids = 0;
};

// TaskTemplate.Resources.Reservations (Docker's swarm.Resources, without GenericResources):
// what the scheduler sets aside on the node; 0 = nothing.
struct ResourceReservations {
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;
};

// TaskTemplate.Resources: each part is rendered (as {} when empty) only when it was given.
struct ResourceRequirements {
  std::optional<ResourceLimits> limits;
  std::optional<ResourceReservations> reservations;
};

struct TaskSpec {
  ContainerSpec container;
  std::optional<RestartPolicy> restart_policy;  // absent = Docker's defaults (any, 5 s)
  Placement placement;
  uint64_t force_update = 0;
  std::string runtime;                            // "container" or ""
  std::optional<ResourceRequirements> resources;  // absent: no Resources member
  std::vector<NetworkAttachmentConfig> networks;  // TaskTemplate.Networks
};

struct UpdateConfig {
  uint64_t parallelism = 1;
  int64_t delay_ns = 0;
  std::string failure_action = "pause";  // pause | continue | rollback
  int64_t monitor_ns = 5000000000LL;
  double max_failure_ratio = 0;
  std::string order = "stop-first";  // stop-first | start-first
};

struct ServiceSpec {
  std::string name;
  Labels labels;
  TaskSpec task_template;
  bool global = false;    // Mode.Global; else Mode.Replicated
  uint64_t replicas = 1;  // Mode.Replicated.Replicas
  std::optional<UpdateConfig> update_config;
  std::optional<UpdateConfig> rollback_config;
  Json endpoint_spec;  // kept as given (e.g. {"Mode":"vip"}); no ports are published
  std::vector<NetworkAttachmentConfig> networks;  // Networks (deprecated; TaskTemplate's first)
};

struct UpdateStatus {
  std::string state;  // updating | paused | completed | rollback_started | ...
  TimePoint started_at{};
  TimePoint completed_at{};  // zero while updating
  std::string message;
};

struct Service {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  ServiceSpec spec;
  std::optional<ServiceSpec> previous_spec;
  std::optional<UpdateStatus> update_status;
  // Which spec this is (swarmkit's SpecVersion; stored, not rendered): the Version.Index of the
  // write that set the current Spec. It changes only when the Spec does — not when, e.g., the
  // orchestrator writes UpdateStatus — so tasks compare their Task::spec_version with it
  // ("_up-to-date", rolling updates). Writers that set a new Spec store 0, meaning "the
  // revision of this write"; the read model and ServiceApi::Update resolve 0 to the object's
  // mod_revision, so readers never see 0. A rollback restores previous_spec_version.
  int64_t spec_version = 0;
  int64_t previous_spec_version = 0;
  std::vector<VirtualIp> virtual_ips;  // Endpoint.VirtualIPs (written by the orchestrator)
  // The registry credentials of `docker service create|update --with-registry-auth` (Docker
  // keeps them in ContainerSpec.PullOptions of Spec and PreviousSpec): the IDs of the sealed
  // store objects that hold them (manager/controlapi/pull_auth.h), "" = none. Stored, never
  // rendered: the credentials themselves are never in the service's meta.
  std::string pull_auth_id;
  std::string previous_pull_auth_id;
  // Capsule's secret versions (stored, never rendered; objects/secret_versions.h): the version
  // of each referenced secret that this service's tasks mount (secret ID → version; a secret
  // not named here = version 1). Set to the secrets' current versions when the service is
  // created or updated, and by `capsule secret rotate|rollback`; a task whose own
  // Task::secret_versions differ is out of date (orchestrator::IsTaskDirty).
  std::map<std::string, int64_t> secret_versions;
  // Set by a rotation or secret rollback: the pins before it, which the updater's
  // FailureAction "rollback" brings back (the Spec stays: a rotation did not change it).
  // Cleared by every service update.
  std::optional<std::map<std::string, int64_t>> previous_secret_versions;
  // Capsule's live refresh (stored, never rendered; objects/secret_refresh.h): secret ID →
  // its refresh policy ("none" or "signal:<n>"), set by `capsule service create|update
  // --secret-refresh`. A rotation of such a secret moves its tasks' versions in place
  // instead of replacing them.
  std::map<std::string, std::string> secret_refresh;
};

// Docker's task states, in order (a task only moves forward).
enum class TaskState {
  kNew,
  kPending,
  kAssigned,
  kAccepted,
  kPreparing,
  kReady,
  kStarting,
  kRunning,
  kComplete,
  kShutdown,
  kFailed,
  kRejected,
  kRemove,
  kOrphaned,
};
const char* TaskStateName(TaskState s);  // "new", "pending", ... (API strings)
std::optional<TaskState> ParseTaskState(std::string_view name);
inline bool IsTerminal(TaskState s) { return s > TaskState::kRunning; }

struct ContainerStatus {
  std::string container_id;
  int64_t pid = 0;
  int64_t exit_code = 0;
};

struct TaskStatus {
  TimePoint timestamp{};
  TaskState state = TaskState::kNew;
  std::string message;
  std::string err;
  std::optional<ContainerStatus> container;
};

struct Task {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  Labels labels;
  TaskSpec spec;
  std::string service_id;
  uint64_t slot = 0;  // replicated: 1..N; global: 0 (node_id identifies it)
  std::string node_id;
  TaskStatus status;
  TaskState desired_state = TaskState::kRunning;
  // The Service::spec_version of the spec this task was made from (stored, not rendered; the
  // tasks filter "_up-to-date" and rolling updates compare the two).
  int64_t spec_version = 0;
  std::vector<NetworkAttachment> networks_attachments;  // NetworksAttachments
  // The secret versions this task was created with and mounts (stored, never rendered; a
  // secret not named here = version 1, which covers tasks made before versions existed).
  std::map<std::string, int64_t> secret_versions;
  // The refresh policies this task was created with, moved in place with its service's
  // (stored, never rendered; objects/secret_refresh.h). Non-empty: the task's secrets are
  // laid out for refresh.
  std::map<std::string, std::string> secret_refresh;
};

}  // namespace capsule
