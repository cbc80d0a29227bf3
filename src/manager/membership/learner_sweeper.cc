#include "manager/membership/learner_sweeper.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "store/etcd/key_absent.h"

namespace capsule::membership {
namespace {

Status NotLeader() { return absl::FailedPreconditionError(store::kNotLeaderMessage); }

bool IsNotLeader(const Status& s) {
  return absl::IsFailedPrecondition(s) && s.message() == store::kNotLeaderMessage;
}

}  // namespace

LearnerSweeper::LearnerSweeper(etcd::Client& etcd, const Clock& clock, store::Fence fence,
                               std::chrono::milliseconds deadline)
    : etcd_(etcd),
      membership_(etcd),
      clock_(clock),
      fence_(std::move(fence)),
      deadline_(deadline) {}

LearnerSweeper::~LearnerSweeper() { Stop(); }

StatusOr<std::set<uint64_t>> LearnerSweeper::Claimed(const std::vector<etcd::Member>& members) {
  const std::string prefix = kLearnerRemovalPrefix;
  ASSIGN_OR_RETURN(etcd::RangeResult r, etcd_.Range(prefix, etcd::PrefixEnd(prefix)));
  std::set<uint64_t> claimed;
  for (const etcd::KeyValue& kv : r.kvs) {
    const uint64_t id = std::strtoull(kv.key.c_str() + prefix.size(), nullptr, 16);
    bool learner = false;
    for (const etcd::Member& m : members) learner = learner || (m.id == id && m.is_learner);
    if (learner) {
      claimed.insert(id);
      continue;
    }
    // Gone, or promoted before the claim: the claim is moot.
    if (StatusOr<int64_t> d = etcd_.Delete(kv.key, ""); !d.ok()) {
      spdlog::debug("membership: dropping the removal claim of {:x}: {}", id,
                    d.status().ToString());
    }
  }
  return claimed;
}

Status CheckLeadership(etcd::Client& etcd, const store::Fence& fence) {
  ASSIGN_OR_RETURN(etcd::RangeResult r, etcd.Range(fence.key, ""));  // linearizable
  if (r.kvs.empty() || r.kvs.front().create_revision != fence.create_revision) return NotLeader();
  return absl::OkStatus();
}

Status LearnerSweeper::CheckLeadership() { return membership::CheckLeadership(etcd_, fence_); }

Status LearnerSweeper::RemoveFenced(uint64_t member_id) {
  const etcd::Compare fence{fence_.key, etcd::Compare::Target::kCreateRevision,
                            etcd::Compare::Result::kEqual, fence_.create_revision, ""};
  const std::string claim_key = LearnerRemovalKey(member_id);
  ASSIGN_OR_RETURN(
      etcd::TxnResult claim,
      etcd_.Txn({fence, etcd::KeyAbsent(LearnerPromotionKey(member_id))},
                {etcd::Op::Put(claim_key, std::to_string(fence_.create_revision))}, {}));
  if (!claim.succeeded) {
    RETURN_IF_ERROR(CheckLeadership());  // the fence failed: NotLeader
    return absl::UnavailableError(
        absl::StrCat("store learner ", absl::Hex(member_id), " is being promoted; not removed"));
  }
  RETURN_IF_ERROR(membership_.RemoveLearner(member_id, [this] { return CheckLeadership(); }));
  if (StatusOr<int64_t> d = etcd_.Delete(claim_key, ""); !d.ok()) {
    spdlog::debug("membership: deleting the removal claim of {:x}: {}", member_id,
                  d.status().ToString());  // the next pass drops it
  }
  return absl::OkStatus();
}

StatusOr<int> LearnerSweeper::Tick() {
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, etcd_.MemberList());
  ASSIGN_OR_RETURN(std::set<uint64_t> claimed, Claimed(members));
  const TimePoint now = clock_.Now();
  std::vector<uint64_t> overdue;
  {
    MutexLock lock(mu_);
    std::set<uint64_t> learners;
    for (const etcd::Member& m : members) {
      if (!m.is_learner) continue;
      learners.insert(m.id);
      auto [it, inserted] = first_seen_.emplace(m.id, now);
      // A claimed removal (maybe an earlier leader's) is finished at once.
      if (claimed.count(m.id) > 0 || (!inserted && now - it->second >= deadline_)) {
        overdue.push_back(m.id);
      }
    }
    // Promoted or removed members are forgotten.
    std::erase_if(first_seen_, [&](const auto& e) { return learners.count(e.first) == 0; });
  }
  int removed = 0;
  for (uint64_t id : overdue) {
    spdlog::warn("membership: learner {:x} was not promoted within {} ms; removing it", id,
                 deadline_.count());
    if (Status s = RemoveFenced(id); !s.ok()) {
      if (IsNotLeader(s)) return s;  // not the leader any more: nothing more is removed
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
