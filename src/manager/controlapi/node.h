// Node operations of the control API (swarmkit's controlapi/node.go) plus the two writes the
// swarm port makes (admitting a node, recording its liveness and its resources). Each call:
// validate, one store transaction, map store errors. Messages are swarmkit's, without the gRPC
// prefix. Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "manager/controlapi/list_filters.h"
#include "manager/membership/manager_quorum.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

// What `POST /nodes/{id}/update` may set (a NodeSpec).
struct NodeSpecUpdate {
  std::string name;
  Labels labels;
  std::string role;          // "worker" | "manager"
  std::string availability;  // "active" | "pause" | "drain"
};

// What the demotion guards need to know of the managers (membership/manager_quorum.h).
struct ManagerRoster {
  std::string self;  // the node ID of the manager serving the call
  // The voting store members (named after their nodes) with their reachability.
  std::function<StatusOr<std::vector<membership::ManagerMember>>()> members;
};

class NodeApi {
 public:
  // Called after a node was removed (e.g. to end its session). May be empty.
  using OnRemovedFn = std::function<void(const std::string& node_id)>;

  // `roster.members` empty: the demotion guards after "last manager" are skipped.
  NodeApi(store::Store& store, const store::ReadModel& reads, const Clock& clock,
          OnRemovedFn on_removed, ManagerRoster roster = {});

  // `id` is a full ID. InvalidArgument "invalid Availability: \"x\"" / "invalid Role: \"x\"";
  // a demotion (manager → worker) first passes Docker's guards (membership::CheckDemotion:
  // FailedPrecondition "attempting to demote the last manager of the swarm", NotFound "can't
  // find manager in raft memberlist", FailedPrecondition "can't remove member from the raft:
  // this would result in a loss of quorum"); a role change then writes only the desired role
  // (Spec.Role) and returns: the leader's role reconciler carries it out
  // (membership/role_reconciler.h). NotFound "node <id> not found"; Unknown "update out of
  // sequence".
  Status Update(const std::string& id, int64_t version, const NodeSpecUpdate& spec);

  // NotFound "node <id> not found"; FailedPrecondition "node <id> is a cluster manager and is
  // a member of the raft cluster. It must be demoted to worker before removal" / "node <id> is
  // not down and can't be removed" (Ready and !force). A manager node is refused only while
  // it is a voting store member (as swarmkit refuses Raft members): the managers a `swarm init
  // --force-new-cluster` removed from the store can be removed like workers.
  Status Remove(const std::string& id, bool force);

  // Admits a node (the CA's registry): creates its object and waits until the read model has
  // it, so the node's first authorized call finds it.
  Status Register(const Node& node);

  // Records a manager's swarm address (ManagerStatus.Addr; a promoted node's, once it serves).
  // A node removed meanwhile is ignored.
  Status SetManagerAddr(const std::string& id, const std::string& manager_addr);

  // Records a liveness transition ("ready" | "down"). A node removed meanwhile is ignored.
  Status SetState(const std::string& id, const std::string& state);

  // Records the resources a node reported (Description.Resources: CPUs × 1e9, memory bytes);
  // no write when they equal the stored ones. A node removed meanwhile is ignored. A negative
  // value → InvalidArgument "invalid node resources", nothing written.
  Status SetResources(const std::string& id, int64_t nano_cpus, int64_t memory_bytes);

  // Reads (node_queries.cc): served from the read model once it has caught up with this
  // manager's writes (Unavailable when it does not in time).

  // The nodes matching `filters`, in ID order.
  StatusOr<std::vector<store::NodeEntry>> List(const NodeFilters& filters) const;

  // ResolveNode below.
  StatusOr<store::NodeEntry> Resolve(const std::string& ref) const;

 private:
  // Docker's demotion guards for manager `id`.
  Status CheckDemotion(const std::string& id) const;
  // Whether `id` is a voting store member (true when the roster cannot tell).
  bool IsStoreMember(const std::string& id) const;

  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
  const OnRemovedFn on_removed_;
  const ManagerRoster roster_;
};

// Docker's lookup: full ID, then hostname (or spec name), then unique ID prefix.
// NotFound "node <ref> not found"; InvalidArgument "node <ref> is ambiguous (N matches found)".
StatusOr<store::NodeEntry> ResolveNode(const store::ReadModel& reads, const std::string& ref);

}  // namespace capsule::controlapi
