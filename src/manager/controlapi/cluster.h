// Cluster (swarm) operations of the control API: spec updates and join-token rotation
// (swarmkit's controlapi/cluster.go UpdateCluster). Thread-safe.
#pragma once

#include <string>

#include "common/clock.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

struct ClusterUpdate {
  ClusterSpec spec;  // replaces the stored spec (autolock cannot be turned on here)
  bool rotate_worker_token = false;
  bool rotate_manager_token = false;
};

class ClusterApi {
 public:
  ClusterApi(store::Store& store, const store::ReadModel& reads, const Clock& clock);

  // InvalidArgument for an invalid spec (negative heartbeat/retention, autolock); NotFound
  // "cluster not found"; Unknown "update out of sequence" (version is not Version.Index).
  // A rotated token replaces the old one at once (the CA compares against the stored one).
  Status Update(int64_t version, const ClusterUpdate& update);

 private:
  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

}  // namespace capsule::controlapi
