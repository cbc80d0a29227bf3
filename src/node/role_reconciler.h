// Carries out `node promote|demote` (leader work; swarmkit's manager/role_manager.go). The
// node update writes only the desired role (Node::desired_role, Docker's Spec.DesiredRole);
// every pass this makes each node's observed role (Node::role) follow it:
//
//   promotion (desired manager, role worker): once the node holds a manager certificate (the
//     CA issues one while the desired role is manager) and has joined as a manager
//     (node/manager_join.h: its etcd member named after the node is a voter), role = manager.
//     Until then nothing is written: the node is shown as a worker with Spec.Role manager.
//   demotion (desired worker, role manager):
//     - the node is this manager (the leader): it steps down first (`step_down`: its elector
//       resigns and defers its next campaign while its demotion is pending), and the next
//       leader's reconciler continues;
//     - its voting member still exists: Docker's quorum check is made again at this moment
//       (membership::CanRemoveMember with the managers' reachability; refused → retried on a
//       later pass, nothing written) and the member is removed (a learner is removed as is);
//     - then role = worker (ManagerStatus goes: manager address and leader flag cleared).
//     The demoted node notices its removal and becomes a worker (node/role_change.h).
//
// Writes go through `store` (the leader's fenced store) as read-modify-write transactions that
// check the desired role is still the one acted on. Tick() is one pass (tests drive it);
// Start() runs passes every `period` of the injected Clock on a thread until Stop().
// Thread-safe; the collaborators must outlive the reconciler.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/periodic.h"
#include "common/status.h"
#include "objects/objects.h"
#include "store/etcd/etcd_client.h"
#include "store/store.h"

namespace capsule::node {

struct RoleReconcilerDeps {
  store::Store& store;                                   // the leader's fenced store
  etcd::Client& etcd;                                    // MemberList / MemberRemove
  std::function<std::vector<Node>()> nodes;              // the node objects (the read model)
  std::function<bool(const std::string&)> is_reachable;  // a manager's presence (presence.h)
  std::function<void()> step_down;                       // this manager gives up its leadership
  std::string self;                                      // this manager's node ID
  // The leadership this reconciler runs under, read again right before a MemberRemove
  // (membership::CheckLeadership); an error there removes nothing and ends the pass.
  std::function<Status()> check_leadership;
};

class RoleReconciler {
 public:
  RoleReconciler(RoleReconcilerDeps deps, const Clock& clock);
  ~RoleReconciler();  // Stop()

  // One pass over every node; → how many role changes it completed. The first error (a
  // refused fenced write: not the leader any more; an etcd failure) ends the pass.
  StatusOr<int> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  // → true when the node's role was written.
  StatusOr<bool> Promote(const Node& n, const std::vector<etcd::Member>& members);
  StatusOr<bool> Demote(const Node& n, const std::vector<etcd::Member>& members);
  // Sets role = `role` if the desired role still is `role`.
  StatusOr<bool> WriteRole(const std::string& id, const std::string& role);

  RoleReconcilerDeps deps_;
  const Clock& clock_;
  Periodic loop_;
};

}  // namespace capsule::node
