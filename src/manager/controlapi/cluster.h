// Cluster (swarm) operations of the control API: spec updates and join-token rotation
// (swarmkit's controlapi/cluster.go UpdateCluster). Thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

struct ClusterUpdate {
  ClusterSpec spec;  // replaces the stored spec (the node applies autolock: AutolockControl)
  bool rotate_worker_token = false;
  bool rotate_manager_token = false;
  // CAConfig.SigningCAKey (never stored in the spec; see root_rotation.h).
  SecretBytes signing_ca_key;
};

// The swarm's size and cluster object as GET /info shows them.
struct SwarmSummary {
  size_t nodes = 0;
  int managers = 0;
  // Every manager's node ID and ManagerStatus.Addr (ip:port), in ID order.
  std::vector<std::pair<std::string, std::string>> manager_addrs;
  store::ClusterEntry cluster;  // null until the cluster object exists
};

class ClusterApi {
 public:
  ClusterApi(store::Store& store, const store::ReadModel& reads, const Clock& clock);

  // InvalidArgument for an invalid spec (negative heartbeat/retention); NotFound
  // "cluster not found"; Unknown "update out of sequence" (version is not Version.Index).
  // A rotated token replaces the old one at once (the CA compares against the stored one).
  Status Update(int64_t version, const ClusterUpdate& update);

  // Reads (cluster_queries.cc), from the read model.

  // The cluster object once the read model has caught up with this manager's writes.
  // Unavailable when it does not in time, or "the cluster object is not available yet".
  StatusOr<store::ClusterEntry> Get() const;

  // Never fails: when the read model does not catch up in time, what it holds now.
  SwarmSummary Summary() const;

 private:
  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

}  // namespace capsule::controlapi
