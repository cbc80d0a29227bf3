// Removes etcd learners that were never promoted: the safety net for a join whose joining
// node died (kill -9, power loss) between AddMember and its promotion, so it never sent
// AbortJoin. A learner first seen by this sweeper more than `deadline` ago is removed
// (Membership::RemoveLearner; voters are never touched). The deadline is far above a join's
// own 20 s budget, so a join still in progress is never cut short.
//
// Leader work: only the manager that runs the orchestrator runs it (until part 3's election,
// the one that ran `swarm init`). First-seen times live in memory: after a restart every
// learner gets a whole deadline again, which only delays the cleanup.
//
// Tick() is one pass (tests drive it with a FakeClock); Start() runs passes every `period`
// of real time on a thread until Stop(). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "manager/membership/membership.h"
#include "store/etcd/etcd_client.h"

namespace capsule::membership {

inline constexpr std::chrono::seconds kLearnerDeadline{60};

class LearnerSweeper {
 public:
  // `etcd` and `clock` must outlive the sweeper.
  LearnerSweeper(etcd::Client& etcd, const Clock& clock,
                 std::chrono::milliseconds deadline = kLearnerDeadline);
  ~LearnerSweeper();  // Stop()

  // One pass; returns how many learners it removed.
  StatusOr<int> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  etcd::Client& etcd_;
  Membership membership_;
  const Clock& clock_;
  const std::chrono::milliseconds deadline_;
  Mutex mu_;
  std::map<uint64_t, TimePoint> first_seen_ ABSL_GUARDED_BY(mu_);
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::membership
