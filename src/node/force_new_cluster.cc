#include "node/force_new_cluster.h"

#include "node/daemon.h"

namespace capsule::node {

Status CheckForceNewCluster(const dockerapi::InitRequest& request,
                            const ForceNewClusterNode& node) {
  if (node.state.role != "manager" || node.locked || !node.manager_running) {
    return absl::UnavailableError(dockerapi::kWorkerNotManagerMessage);
  }
  if (request.advertise_addr.empty()) return absl::OkStatus();
  SwarmState asked;
  RETURN_IF_ERROR(ResolveAddresses(request, 0, &asked));
  if (asked.advertise_addr != node.state.advertise_addr) {
    return absl::InvalidArgumentError(
        "--force-new-cluster keeps this manager's address " + node.state.advertise_addr +
        " (the store's other members knew it by that address); it cannot advertise " +
        asked.advertise_addr + " instead");
  }
  return absl::OkStatus();
}

}  // namespace capsule::node
