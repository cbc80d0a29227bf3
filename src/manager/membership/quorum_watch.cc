#include "manager/membership/quorum_watch.h"

#include <spdlog/spdlog.h>

namespace capsule::membership {

QuorumWatch::QuorumWatch(const Clock& clock, std::function<Status()> probe,
                         QuorumWatchOptions options)
    : clock_(clock), probe_(std::move(probe)), options_(options) {}

Status QuorumWatch::Check() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_ok_ && clock_.SteadyNow() - *last_ok_ < options_.fresh_for) return absl::OkStatus();
  }
  while (true) {
    const SteadyTime started = clock_.SteadyNow();
    const Status s = probe_();
    if (Record(s.ok(), started)) {
      spdlog::debug("no quorum: {}", s.ToString());
      return absl::UnknownError(kNoLeaderMessage);
    }
    if (s.ok()) return absl::OkStatus();
    std::unique_lock<std::mutex> lock(mu_);
    clock_.WaitFor(cv_, lock, options_.retry, [] { return false; });
  }
}

bool QuorumWatch::Record(bool ok, SteadyTime at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ok) {
    if (failing_since_) spdlog::info("the store has a quorum again");
    last_ok_ = at;
    failing_since_.reset();
    return false;
  }
  if (!failing_since_) failing_since_ = at;
  const bool lost = clock_.SteadyNow() - *failing_since_ >= options_.lost_after;
  return lost;
}

}  // namespace capsule::membership
