#include "manager/unlockkeys/follower.h"

#include <spdlog/spdlog.h>

namespace capsule::unlockkeys {

UnlockKeyFollower::UnlockKeyFollower(store::ReadModel& reads, const Clock& clock,
                                     std::function<Status()> converge,
                                     std::chrono::milliseconds retry)
    : reads_(reads), clock_(clock), converge_(std::move(converge)), retry_(retry) {}

UnlockKeyFollower::~UnlockKeyFollower() { Stop(); }

int64_t UnlockKeyFollower::ClusterRevision() const {
  store::ClusterEntry c = reads_.GetCluster();
  return c ? c->mod_revision : 0;
}

void UnlockKeyFollower::Start(int64_t handled_revision) {
  handled_ = handled_revision;
  sub_ = reads_.Subscribe([this](int64_t) {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
    cv_.notify_all();
  });
  thread_ = std::thread([this] { Run(); });
}

void UnlockKeyFollower::Stop() {
  if (sub_ != 0) reads_.Unsubscribe(sub_);
  sub_ = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void UnlockKeyFollower::Run() {
  bool failed = false;  // the last converge failed: try again after retry_
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const bool woken = clock_.WaitFor(cv_, lock, failed ? retry_ : std::chrono::minutes(10),
                                      [this] { return stopping_ || poked_; });
    if (stopping_) return;
    poked_ = false;
    const int64_t revision = ClusterRevision();
    if (revision == handled_ && !(failed && !woken)) continue;
    lock.unlock();
    Status s = converge_();
    lock.lock();
    failed = !s.ok();
    if (failed) {
      spdlog::warn("following the swarm's unlock key: {} (retrying)", s.ToString());
    } else {
      handled_ = revision;
    }
  }
}

}  // namespace capsule::unlockkeys
