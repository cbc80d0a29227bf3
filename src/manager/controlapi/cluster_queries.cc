// The read side of ClusterApi (declared in cluster.h), from the read model.
#include "manager/controlapi/cluster.h"

namespace capsule::controlapi {

StatusOr<store::ClusterEntry> ClusterApi::Get() const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::ClusterEntry c = reads_.GetCluster();
  if (!c) return absl::UnavailableError("the cluster object is not available yet");
  return c;
}

SwarmSummary ClusterApi::Summary() const {
  (void)reads_.WaitFresh();  // best effort: a stale answer rather than none
  SwarmSummary out;
  const std::vector<store::NodeEntry> nodes = reads_.Nodes();
  out.nodes = nodes.size();
  for (const store::NodeEntry& n : nodes) {
    if (n->object.role != "manager") continue;
    ++out.managers;
    out.manager_addrs.emplace_back(n->object.id, n->object.manager_addr);
  }
  out.cluster = reads_.GetCluster();
  return out;
}

}  // namespace capsule::controlapi
