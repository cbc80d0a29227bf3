#include "manager/membership/learner_sweeper.h"

#include <spdlog/spdlog.h>

#include <set>

namespace capsule::membership {

LearnerSweeper::LearnerSweeper(etcd::Client& etcd, const Clock& clock,
                               std::chrono::milliseconds deadline)
    : etcd_(etcd), membership_(etcd), clock_(clock), deadline_(deadline) {}

LearnerSweeper::~LearnerSweeper() { Stop(); }

StatusOr<int> LearnerSweeper::Tick() {
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, etcd_.MemberList());
  const TimePoint now = clock_.Now();
  std::vector<uint64_t> overdue;
  {
    MutexLock lock(mu_);
    std::set<uint64_t> learners;
    for (const etcd::Member& m : members) {
      if (!m.is_learner) continue;
      learners.insert(m.id);
      auto [it, inserted] = first_seen_.emplace(m.id, now);
      if (!inserted && now - it->second >= deadline_) overdue.push_back(m.id);
    }
    // Promoted or removed members are forgotten.
    std::erase_if(first_seen_, [&](const auto& e) { return learners.count(e.first) == 0; });
  }
  int removed = 0;
  for (uint64_t id : overdue) {
    spdlog::warn("membership: learner {:x} was not promoted within {} ms; removing it", id,
                 deadline_.count());
    if (Status s = membership_.RemoveLearner(id); !s.ok()) {
      spdlog::warn("membership: removing learner {:x}: {}", id, s.ToString());
      continue;
    }
    ++removed;
    MutexLock lock(mu_);
    first_seen_.erase(id);
  }
  return removed;
}

void LearnerSweeper::Start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    MutexLock lock(mu_);
    while (!cv_.wait_for(lock.native(), period,
                         [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; })) {
      lock.Unlock();
      if (StatusOr<int> r = Tick(); !r.ok()) {
        spdlog::debug("membership: learner sweep: {}", r.status().ToString());
      }
      lock.Lock();
    }
  });
}

void LearnerSweeper::Stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace capsule::membership
