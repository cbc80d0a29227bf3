// Finishes a root CA rotation (leader work; swarmkit's ca/reconciler.go). Each pass: while the
// cluster object names a rotation, once every node object (Down ones included, as swarmkit:
// a Down node holds the rotation open until it comes back or is removed) reports a certificate
// issued by the new root (Node::tls_issuer_public_key, written by NodeCA.SyncTLS), the cluster
// is rewritten with controlapi::FinishRotation (new root current, rotation cleared, new join
// tokens) — a read-modify-write that checks the rotation is still the one judged — and the old
// root's key record is deleted.
//
// Writes go through `store` (the leader's fenced store). Tick() is one pass (tests drive it);
// Start() runs passes every `period` of the injected Clock until Stop(). Thread-safe; the
// collaborators must outlive it.
#pragma once

#include <chrono>
#include <vector>

#include "common/clock.h"
#include "common/periodic.h"
#include "common/status.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

// True when `c` has a rotation and every node's certificate issuer is its new root.
bool RotationConverged(const Cluster& c, const std::vector<Node>& nodes);

class RootRotationFinisher {
 public:
  RootRotationFinisher(store::Store& store, const store::ReadModel& reads, const Clock& clock);
  ~RootRotationFinisher();  // Stop()

  // One pass → true when it finished a rotation.
  StatusOr<bool> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
  Periodic loop_;
};

}  // namespace capsule::node
