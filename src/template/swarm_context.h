// Swarm's template context (swarmkit template/context.go, template.go): the data a swarm
// template sees — .Service.ID/.Name/.Labels, .Node.ID/.Hostname/.Platform.Architecture/
// .Platform.OS, .Task.ID/.Name/.Slot — and its functions: `join SEP a b…` everywhere, and in
// secret/config payloads also `env "VAR"` (the raw value in the task's ContainerSpec.Env, ""
// when unset), `secret "target"` and `config "target"`.
//
// Least privilege is structural: `secret "t"` resolves only a secret the task itself
// references with File target t (else "secret target t not found"), and only then asks the
// injected lookup for that ID; the lookup itself should be restricted to the task's own
// secrets too. `config` works the same way over the task's config references (none until
// configs exist; with no lookup at all: "configs unavailable").
//
// Templates are parsed as "expansion" with missingkey=error semantics (template.h). Outputs are
// Str (memory wiped when freed); callers move secret outputs into SecretBytes. Stateless.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "template/template.h"

namespace capsule::tmpl {

struct SwarmNode {
  std::string hostname;
  std::string os;
  std::string architecture;
};

struct SwarmFileRef {
  std::string id;      // secret or config ID
  std::string target;  // File.Name as written in the spec
};

struct SwarmTask {
  std::string service_id;
  std::string service_name;
  std::map<std::string, std::string> service_labels;
  std::string node_id;
  // Absent: .Node.Hostname and .Node.Platform.* render empty. Docker builds payload contexts
  // without the node description (moby's executor passes nil), so payloads get none.
  std::optional<SwarmNode> node;
  std::string task_id;
  std::string task_name;         // SwarmTaskName() unless the task has a name of its own
  uint64_t slot = 0;             // 0 (global services): .Task.Slot is the node ID
  std::vector<std::string> env;  // ContainerSpec.Env as given ("K=V")
  std::vector<SwarmFileRef> secrets;
  std::vector<SwarmFileRef> configs;
};

// swarmkit's naming.Task: "<service>.<slot>.<task id>", or "<service>.<node id>.<task id>"
// for slot 0.
std::string SwarmTaskName(std::string_view service_name, uint64_t slot, std::string_view node_id,
                          std::string_view task_id);

// The data for one task: *template.Context (payload = false) or *template.PayloadContext.
Value SwarmContextValue(const SwarmTask& task, bool payload);

// Context.Expand: a service-spec string (Env value, Hostname, mount source or target). Only
// `join` is available. InvalidArgument with Go's message on a bad template.
absl::StatusOr<Str> ExpandSpecString(const SwarmTask& task, std::string_view s,
                                     const Limits& limits = {});

// Looks up the (raw, unexpanded) data of a secret or config by ID.
using DependencyLookup = std::function<absl::StatusOr<Str>(const std::string& id)>;

// PayloadContext.Expand: a templated secret's or config's data. `secrets`/`configs` may be
// empty functions (then "secrets unavailable" / "configs unavailable" when used).
// *used_secret (if given) is set when the template read a secret (swarmkit marks such configs
// sensitive).
absl::StatusOr<Str> ExpandPayload(const SwarmTask& task, std::string_view payload,
                                  const DependencyLookup& secrets, const DependencyLookup& configs,
                                  bool* used_secret = nullptr, const Limits& limits = {});

}  // namespace capsule::tmpl
