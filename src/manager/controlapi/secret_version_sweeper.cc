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
  loop_.Start(tick, [this, period, tick, seen = std::map<std::string, int64_t>(),
                     since_sweep = std::chrono::milliseconds(0), sweeps = 0]() mutable {
    since_sweep += tick;
    const bool full = since_sweep >= period;
    ResumeStalled(seen, full);
    if (!full) return;
    since_sweep = std::chrono::milliseconds(0);
    api_.SweepAll();
    if (sweeps++ % kOrphanSweepEvery == 0) {
      if (StatusOr<int> n = api_.SweepOrphanVersions(); !n.ok()) {
        spdlog::warn("orphaned secret versions not swept: {}", n.status().ToString());
      }
    }
  });
}

void SecretVersionSweeper::Stop() { loop_.Stop(); }

}  // namespace capsule::controlapi
