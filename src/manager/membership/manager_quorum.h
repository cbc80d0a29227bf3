// Docker's rules about removing a manager, as pure functions of who is a manager and who is
// reachable (issue 12 part 5). They guard `node demote` (swarmkit controlapi/node.go UpdateNode
// with raft.go CanRemoveMember) and `swarm leave` on a manager (moby daemon/cluster/swarm.go
// Leave with managerStats, removingManagerCausesLossOfQuorum and isLastManager). The texts are
// Docker's, byte for byte. No I/O; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::membership {

// A voting store member (an etcd member named after its manager's node ID) and whether that
// manager is reachable now (presence.h).
struct ManagerMember {
  std::string node_id;
  bool reachable = false;
};

// swarmkit's CanRemoveMember: the members other than `target` that are reachable (the
// manager asking, `self`, always counts as reachable) must still be a majority of the
// current membership: count >= (members - 1) / 2 + 1.
bool CanRemoveMember(const std::vector<ManagerMember>& members, const std::string& target,
                     const std::string& self);

// The checks of a demotion of `target` (manager → worker), in swarmkit's order:
//   FailedPrecondition "attempting to demote the last manager of the swarm" (it is the only
//     node whose role is manager: `manager_count` == 1);
//   NotFound "can't find manager in raft memberlist" (no member for it in `members`);
//   FailedPrecondition "can't remove member from the raft: this would result in a loss of
//     quorum" (!CanRemoveMember).
Status CheckDemotion(int manager_count, const std::vector<ManagerMember>& members,
                     const std::string& target, const std::string& self);

// The managers as moby's managerStats counts them from the node list: reachable and
// unreachable managers, and whether this node is among the reachable ones.
struct ManagerStats {
  bool self_reachable = false;
  int reachable = 0;
  int unreachable = 0;
};

// Docker's refusal of `swarm leave` without --force on a manager (503 in Docker), or nullopt
// for a worker. `stats` is nullopt when this manager could not list the nodes (Docker then
// says only the first and last sentences).
std::optional<std::string> ManagerLeaveRefusal(bool manager,
                                               const std::optional<ManagerStats>& stats);

}  // namespace capsule::membership
