// This node's swarm membership, persisted at <data-root>/swarm/state.json (0600, written
// atomically: temp file, fsync, rename, fsync dir). Absent file = not in a swarm.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace capsule::node {

struct SwarmState {
  std::string node_id;
  std::string cluster_id;
  std::string role = "manager";
  std::string listen_addr;     // IP:PORT
  std::string advertise_addr;  // IP
  int swarm_port = 2377;
  int etcd_peer_port = 2380;
  std::string remote_manager;  // ip:port of the manager this node joined through
  // Recorded as before (the manager that ran `swarm init`: true; one that joined: false) but no
  // longer read: the liveness reconciliation it chose is leader work now, run by whichever
  // manager wins the election, through its fenced store (node/orphaned_nodes.h).
  // Absent in the file (swarms made before joins existed) = true.
  bool runs_leader_work = true;
};

// nullopt if the file does not exist; DataLoss if it is malformed.
StatusOr<std::optional<SwarmState>> LoadSwarmState(const std::string& path);
Status SaveSwarmState(const std::string& path, const SwarmState& state);

// Creates dir (and parents) with `mode`, or tightens an existing one to `mode`.
Status EnsureDir(const std::string& dir, unsigned mode);

}  // namespace capsule::node
