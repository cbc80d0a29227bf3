// Service-spec templating on the agent (swarmkit's template.ExpandContainerSpec): the values of
// ContainerSpec.Env ("K=V": V is expanded; an entry without '=' is kept as it is) and
// ContainerSpec.Hostname are templates over the task's context, with the node's description
// (.Node.Hostname, .Node.Platform.*) and only the `join` function. Capsule's ContainerSpec has no
// mounts, so mount sources and targets have nothing to expand.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "template/swarm_context.h"

namespace capsule::agent {

// Expands *env and *hostname in place. InvalidArgument with swarmkit's wording on error:
// "expanding env failed: expanding env \"K=V\": <template error>" or
// "expanding hostname failed: <template error>" (then *env/*hostname are unchanged).
Status ExpandContainerSpec(const tmpl::SwarmTask& context, std::vector<std::string>* env,
                           std::string* hostname);

// This machine's description for templates: `hostname`, OS "linux", uname's machine.
tmpl::SwarmNode LocalNodeDescription(const std::string& hostname);

}  // namespace capsule::agent
