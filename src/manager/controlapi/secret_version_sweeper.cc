#include "manager/controlapi/secret_version_sweeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace capsule::controlapi {

void SecretVersionSweeper::ResumeStalled(std::map<std::string, int64_t>& seen, bool all) {
  StatusOr<std::vector<std::pair<std::string, int64_t>>> pending = api_.PendingRotations(all);
  if (!pending.ok()) {
    spdlog::warn("secret rotations not checked: {}", pending.status().ToString());
    return;
  }
  std::map<std::string, int64_t> now;
  for (const auto& [id, revision] : *pending) {
    auto it = seen.find(id);
    if (it == seen.end() || it->second != revision) {
      now[id] = revision;  // new since the last pass: its caller may still be finishing it
      continue;
    }
    StatusOr<bool> done = api_.CompletePending(id, revision);
    if (!done.ok()) {
      spdlog::warn("secret {}: rotation not finished: {}", id, done.status().ToString());
      now[id] = revision;  // try again next pass
    }
  }
  if (!all) {
    // A cheap pass does not see intents with every service pinned: keep them for the next
    // full pass.
    for (const auto& [id, revision] : seen) {
      if (now.count(id) == 0 && !std::any_of(pending->begin(), pending->end(),
                                             [&](const auto& p) { return p.first == id; })) {
        now.emplace(id, revision);
      }
    }
  }
  seen = std::move(now);
}

void SecretVersionSweeper::Start(std::chrono::milliseconds period) {
  const std::chrono::milliseconds tick = std::min(period, std::chrono::milliseconds(1000));
  thread_ = std::thread([this, period, tick] {
    std::map<std::string, int64_t> seen;
    std::chrono::milliseconds since_sweep{0};
    int sweeps = 0;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, tick, [this] { return stop_; })) {
      lock.unlock();
      since_sweep += tick;
      const bool full = since_sweep >= period;
      ResumeStalled(seen, full);
      if (full) {
        since_sweep = std::chrono::milliseconds(0);
        api_.SweepAll();
        if (sweeps++ % kOrphanSweepEvery == 0) {
          if (StatusOr<int> n = api_.SweepOrphanVersions(); !n.ok()) {
            spdlog::warn("orphaned secret versions not swept: {}", n.status().ToString());
          }
        }
      }
      lock.lock();
    }
  });
}

void SecretVersionSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace capsule::controlapi
