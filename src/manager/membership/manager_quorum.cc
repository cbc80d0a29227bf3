#include "manager/membership/manager_quorum.h"

#include <string>

namespace capsule::membership {

bool CanRemoveMember(const std::vector<ManagerMember>& members, const std::string& target,
                     const std::string& self) {
  size_t reachable_after = 0;
  for (const ManagerMember& m : members) {
    if (m.node_id == target) continue;
    if (m.node_id == self || m.reachable) ++reachable_after;
  }
  const size_t quorum = (members.size() - 1) / 2 + 1;
  return reachable_after >= quorum;
}

Status CheckDemotion(int manager_count, const std::vector<ManagerMember>& members,
                     const std::string& target, const std::string& self) {
  if (manager_count == 1) {
    return absl::FailedPreconditionError("attempting to demote the last manager of the swarm");
  }
  bool member = false;
  for (const ManagerMember& m : members) member = member || m.node_id == target;
  if (!member) return absl::NotFoundError("can't find manager in raft memberlist");
  if (!CanRemoveMember(members, target, self)) {
    return absl::FailedPreconditionError(
        "can't remove member from the raft: this would result in a loss of quorum");
  }
  return absl::OkStatus();
}

std::optional<std::string> ManagerLeaveRefusal(bool manager,
                                               const std::optional<ManagerStats>& stats) {
  if (!manager) return std::nullopt;
  std::string msg =
      "You are attempting to leave the swarm on a node that is participating as a manager. ";
  if (stats && stats->self_reachable && stats->reachable - 2 <= stats->unreachable) {
    if (stats->reachable == 1 && stats->unreachable == 0) {
      return msg +
             "Removing the last manager erases all current state of the swarm. Use `--force` to "
             "ignore this message. ";
    }
    msg += "Removing this node leaves " + std::to_string(stats->reachable - 1) +
           " managers out of " + std::to_string(stats->reachable + stats->unreachable) +
           ". Without a Raft quorum your swarm will be inaccessible. ";
  }
  return msg +
         "The only way to restore a swarm that has lost consensus is to reinitialize it with "
         "`--force-new-cluster`. Use `--force` to suppress this message.";
}

}  // namespace capsule::membership
