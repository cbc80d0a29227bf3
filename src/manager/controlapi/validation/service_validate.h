// Docker swarm's validation of a ServiceSpec (swarmkit controlapi/service.go), with swarmkit's
// messages without the "rpc error: code = <Code> desc = " prefix (dockerapi adds it). Pure
// functions of the spec; whether referenced secrets exist is checked by ServiceApi.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "objects/service_model.h"

namespace capsule::controlapi {

// A DNS name component of at most 63 characters:
//   ""        → InvalidArgument "meta: name must be provided"
//   bad chars → InvalidArgument "name must be valid as a DNS name component"
//   too long  → InvalidArgument "name must be 63 characters or fewer"
Status ValidateServiceName(std::string_view name);

// Placement constraints "<key> ==|!= <value>" (swarmkit's constraint.Parse; its errors are
// plain, so they travel as Unknown): "constraint expected one operator from ==, !=",
// "key '<k>' is invalid", "value '<v>' is invalid". Capsule evaluates node.id, node.hostname,
// node.role and node.labels.<label> only; any other key → InvalidArgument
// "constraint key '<k>' is not supported: use node.id, node.hostname, node.role or
// node.labels.<label>".
Status ValidateConstraints(const std::vector<std::string>& constraints);

// Secret references, in swarmkit's order: "malformed secret reference" (no ID or name),
// "malformed secret reference, no target provided", "malformed file secret reference, invalid
// target file name provided", "secret references '<a>' and '<b>' have a conflicting target:
// '<t>'" (targets compared by their destination in the task: "x" and "/run/secrets/x"
// conflict). Capsule also rejects targets with '.' or '..' components, empty components or a
// NUL byte ("invalid secret target '<t>': ..."), all InvalidArgument — the agent would refuse
// them at mount time.
Status ValidateSecretReferences(const std::vector<SecretReference>& refs);

// Config references, by the same rules with "config" in the messages (swarmkit's
// validateConfigRefsSpec): a relative target's destination is "/<target>"; a Runtime
// reference needs no File (and takes no destination). A config whose destination is already
// a secret's (`secrets`) conflicts like two configs ("config references '<secret>' and
// '<config>' have a conflicting target: '<t>'"): both would be mounted at the same place.
Status ValidateConfigReferences(const std::vector<ConfigReference>& refs,
                                const std::vector<SecretReference>& secrets);

// An image reference as Docker's reference.ParseNormalizedNamed accepts it:
// "ContainerSpec: image reference must be provided" / "ContainerSpec: \"<img>\" is not a
// valid repository/tag" (InvalidArgument).
Status ValidateImage(const std::string& image);

// TaskTemplate.Resources, Limits then Reservations, as swarmkit's validateResources:
//   0 < NanoCPUs < 1e6 or < 0 → "invalid cpu value <cpus, Go %g>: Must be at least 0.001"
//   0 < MemoryBytes < 4 MiB or < 0 → "invalid memory value <n>: Must be at least 4MiB"
// Capsule also refuses a negative Limits.Pids ("invalid pids value <n>: Must be at least 0";
// Docker reads it as unlimited, Capsule keeps its default limit so no spec can remove it).
Status ValidateResources(const ResourceRequirements& resources);

// Go's fmt %g of v (shortest digits; exponent form below 1e-4 or from 1e6): "0.001",
// "-1e-09", "-20".
std::string GoFormatG(double v);

// Everything above plus restart policy, update config and mode checks.
Status ValidateServiceSpec(const ServiceSpec& spec);

// Docker's namesgenerator: "<adjective>_<surname>", used when a create has no name.
std::string RandomServiceName();

}  // namespace capsule::controlapi
