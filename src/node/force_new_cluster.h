// `swarm init --force-new-cluster` on a node already in a swarm: which requests may go ahead.
//
// Docker's rules (moby daemon/cluster/swarm.go Init): only a manager whose manager runs; a
// worker, and a locked manager (Docker has no swarm node then), get Docker's "This node is not
// a swarm manager. Worker nodes can't be used…" (Unavailable, 503), and nothing changes.
// Capsule's own: the node keeps its addresses, because its etcd member's peer URL is part of the
// store's data, so an --advertise-addr naming another IP is refused (InvalidArgument, 400).
// A port in --advertise-addr/--listen-addr is not compared: the node's own ports stay.
// Pure: no I/O (the address is resolved only when the request names one).
#pragma once

#include "common/status.h"
#include "dockerapi/backend.h"
#include "node/swarm_state.h"

namespace capsule::node {

struct ForceNewClusterNode {
  const SwarmState& state;
  bool locked = false;           // an autolocked manager waiting for its unlock key
  bool manager_running = false;  // its Manager serves (not locked, started without error)
};

Status CheckForceNewCluster(const dockerapi::InitRequest& request, const ForceNewClusterNode& node);

}  // namespace capsule::node
