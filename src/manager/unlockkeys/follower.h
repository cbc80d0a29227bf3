// Every manager follows the cluster's unlock keys (cluster_unlock_keys.h): when the cluster
// object changes (its mod_revision in the read model moves), `converge` runs on the follower's
// thread — the manager makes the stored keys follow the spec and its own disk follow the keys
// (node/manager_autolock.cc). A failed converge is retried every `retry` (on the injected
// clock) until it succeeds or the cluster changes again. Between Start and Stop, `converge`
// never runs twice at once. Stop (and the destructor) returns once it is not running and
// never runs again; the ReadModel must outlive the follower.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "store/read_model.h"

namespace capsule::unlockkeys {

class UnlockKeyFollower {
 public:
  UnlockKeyFollower(store::ReadModel& reads, const Clock& clock, std::function<Status()> converge,
                    std::chrono::milliseconds retry = std::chrono::seconds(1));
  ~UnlockKeyFollower();  // Stop()

  // `handled_revision`: the cluster object's mod_revision the caller already converged to.
  void Start(int64_t handled_revision);
  void Stop();

 private:
  void Run();
  int64_t ClusterRevision() const;

  store::ReadModel& reads_;
  const Clock& clock_;
  std::function<Status()> converge_;
  const std::chrono::milliseconds retry_;
  store::ReadModel::SubscriptionId sub_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  int64_t handled_ = 0;
  std::thread thread_;
};

}  // namespace capsule::unlockkeys
