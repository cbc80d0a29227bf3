// The etcd side of manager membership (issue 12 part 1): adding a joining manager's etcd
// member, promoting it, and rolling back a join that failed.
//
// Why a LEARNER first, then a promotion (not a voting member at once): a voting member that
// never starts counts for quorum at once. Added directly to a one-member cluster it makes
// the quorum 2 of 2 with only one member alive: the cluster stops accepting writes — and
// etcd's MemberRemove itself needs quorum, so the half-added member could not even be
// removed again. A learner does not vote: until the newcomer has started and caught up the
// cluster keeps its quorum, and a join that fails is undone with an ordinary MemberRemove.
// Only once etcd says the learner is in sync with the leader is it promoted to a voter.
// (etcd 3.4 allows one learner at a time: a second concurrent join gets FailedPrecondition
// "too many learner members" and is retried by the joining node.)
//
// A learner's removal by the leader (learner_sweeper.h) and its promotion exclude each other
// through two keys, each written by a transaction that compares the other absent:
//  - the removal is first CLAIMED under LearnerRemovalKey(member ID) (a fenced transaction
//    that also requires no promotion hold): while a claim exists, Promote refuses the learner;
//  - a promotion first writes its HOLD, LearnerPromotionKey(member ID) (attached to a lease of
//    kPromotionHoldTtl, revoked when the promotion returns), only while no claim exists; while
//    the hold exists the sweeper cannot claim.
// So a removal decided under a valid leadership can never hit a member that became a voter
// afterwards, and a promotion under way is never cut short by a removal. The remaining window:
// a promoter paused (SIGSTOP) between its hold and its MemberPromote for longer than the
// lease's TTL (see also the sweeper's contract).
//
// Thread-safe (etcd serialises membership changes); `etcd` must outlive the object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/etcd/etcd_client.h"

namespace capsule::membership {

struct AddedLearner {
  uint64_t member_id = 0;
  // etcd's --initial-cluster for the new member: every member's "name=peer_url", the new
  // one under `name` (as etcdctl prints it; members that never started have no name yet).
  std::string initial_cluster;
};

// Where the leader claims the removal of learner `member_id` (not an object key).
inline constexpr char kLearnerRemovalPrefix[] = "/capsule/v1/membership/removing/";
std::string LearnerRemovalKey(uint64_t member_id);
// Where a promotion holds learner `member_id` off the sweeper while it runs.
inline constexpr char kLearnerPromotionPrefix[] = "/capsule/v1/membership/promoting/";
std::string LearnerPromotionKey(uint64_t member_id);
// The hold's lease: longer than a promotion's own retries (unhealthy_wait), so it outlives
// every promotion that is not paused; a promoter that died leaves a hold that ends with it.
inline constexpr std::chrono::seconds kPromotionHoldTtl{30};

// Formats the member list of a MemberAdd answer as --initial-cluster.
std::string InitialCluster(const std::vector<etcd::Member>& members, uint64_t new_member_id,
                           const std::string& new_member_name);

class Membership {
 public:
  // etcd refuses membership changes with Unavailable "unhealthy cluster" while the member
  // that receives them has not been connected to every voter for 5 s (its strict reconfig
  // check: e.g. a manager that joined a moment ago admitting the next one). Such a refusal is
  // retried for up to `unhealthy_wait`.
  explicit Membership(etcd::Client& etcd,
                      std::chrono::milliseconds unhealthy_wait = std::chrono::seconds(12))
      : etcd_(etcd), unhealthy_wait_(unhealthy_wait) {}

  // Adds a learner member at `peer_url` for node `name`. A learner already at that URL (a
  // previous attempt from the same address that never finished) is replaced; a VOTING member
  // at that URL → AlreadyExists. etcd's errors keep their codes (FailedPrecondition "too
  // many learner members" while another join is in progress).
  StatusOr<AddedLearner> AddLearner(const std::string& name, const std::string& peer_url);

  // Promotes the learner, under its promotion hold (above). FailedPrecondition while it has
  // not caught up (retry), and while its removal is claimed (LearnerRemovalKey). OK when the
  // member is already a voter (a retried promotion). NotFound when there is no such member.
  Status Promote(uint64_t member_id);

  // Removes a member that is still a learner (a failed join). OK if it is already gone;
  // FailedPrecondition for a voting member: a voter is removed by a demotion (part 5),
  // never by a join's rollback. `precondition`, when set, runs after the member list was read
  // again and just before the removal; its error is returned and nothing is removed.
  Status RemoveLearner(uint64_t member_id, const std::function<Status()>& precondition = nullptr);

  // A join's rollback asked by the joining node `node_id` itself: its learner, or its own
  // member already promoted (named after the node once it started) — removed while that
  // member still runs, so the removal has its vote. Any other voter → FailedPrecondition.
  Status RemoveJoining(uint64_t member_id, const std::string& node_id);

 private:
  Status Remove(uint64_t member_id, const std::string& node_id,
                const std::function<Status()>& precondition);
  StatusOr<etcd::Member> Find(uint64_t member_id);
  // Promote's work once the hold is written.
  Status PromoteHeld(uint64_t member_id);
  // Runs `change` again every 200 ms while etcd answers "unhealthy cluster".
  template <typename T>
  StatusOr<T> RetryWhileUnhealthy(const std::function<StatusOr<T>()>& change);

  etcd::Client& etcd_;
  const std::chrono::milliseconds unhealthy_wait_;
};

}  // namespace capsule::membership
