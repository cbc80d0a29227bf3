// Removes etcd learners that were never promoted: the safety net for a join whose joining
// node died (kill -9, power loss) between AddMember and its promotion, so it never sent
// AbortJoin. A learner first seen by this sweeper more than `deadline` ago is removed
// (Membership::RemoveLearner; voters are never touched). The deadline is far above a join's
// own 20 s budget, so a join still in progress is never cut short.
//
// Leader work: only the elected leader runs it, and its removals are FENCED on that
// leadership (store/fence.h), although etcd's MemberRemove cannot carry a compare:
//   1. claim: a Txn that compares the leader key's create_revision with `fence` and the
//      learner's promotion hold absent (LearnerPromotionKey), and writes LearnerRemovalKey(id)
//      (membership.h). Refused by the fence → FailedPrecondition kNotLeaderMessage, nothing
//      removed, the pass ends; by a hold (a promotion under way) → this learner is left to a
//      later pass. From the claim on, Membership::Promote refuses the learner, so the decision
//      cannot be overtaken by the learner's promotion;
//   2. the member list is read again (still a learner?) and, right before MemberRemove, the
//      leadership is read again (linearizable Range of the leader key): a leader paused
//      (SIGSTOP) anywhere before this check and resumed after another manager was elected
//      removes nothing;
//   3. MemberRemove, then the claim is deleted.
// The remaining window: a pause between the re-check and the MemberRemove request leaving this
// process. The removal then lands after the leadership moved — but only of a learner whose
// removal a valid leader claimed, that can no longer be promoted, and that the new leader
// would remove too (claims found by a leader are finished on its next pass, whoever made them).
//
// First-seen times live in memory: after a restart or a new leader every learner gets a whole
// deadline again, which only delays the cleanup.
//
// Tick() is one pass (tests drive it with a FakeClock); Start() runs passes every `period`
// of real time on a thread until Stop(). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "manager/membership/membership.h"
#include "store/etcd/etcd_client.h"
#include "store/fence.h"

namespace capsule::membership {

inline constexpr std::chrono::seconds kLearnerDeadline{60};

// A linearizable read of the leadership `fence` names: OK while it still holds;
// FailedPrecondition store::kNotLeaderMessage once another manager leads (or nobody). The
// check right before a membership change etcd cannot fence with a compare (above; the role
// reconciler's demotions likewise).
Status CheckLeadership(etcd::Client& etcd, const store::Fence& fence);

class LearnerSweeper {
 public:
  // `etcd` and `clock` must outlive the sweeper. `fence`: the leadership this manager won.
  LearnerSweeper(etcd::Client& etcd, const Clock& clock, store::Fence fence,
                 std::chrono::milliseconds deadline = kLearnerDeadline);
  ~LearnerSweeper();  // Stop()

  // One pass; returns how many learners it removed. FailedPrecondition kNotLeaderMessage when
  // the fence failed (nothing removed from then on).
  StatusOr<int> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  // Steps 1-3 above for one learner.
  Status RemoveFenced(uint64_t member_id);
  // FailedPrecondition kNotLeaderMessage unless the leader key is still the fence's.
  Status CheckLeadership();
  // The learners whose removal is claimed (by any leader); claims of members that are gone
  // are deleted.
  StatusOr<std::set<uint64_t>> Claimed(const std::vector<etcd::Member>& members);

  etcd::Client& etcd_;
  Membership membership_;
  const Clock& clock_;
  const store::Fence fence_;
  const std::chrono::milliseconds deadline_;
  Mutex mu_;
  std::map<uint64_t, TimePoint> first_seen_ ABSL_GUARDED_BY(mu_);
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::membership
