#include "manager/membership/membership.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "store/etcd/key_absent.h"

namespace capsule::membership {

std::string InitialCluster(const std::vector<etcd::Member>& members, uint64_t new_member_id,
                           const std::string& new_member_name) {
  std::string out;
  for (const etcd::Member& m : members) {
    const std::string& name = m.id == new_member_id ? new_member_name : m.name;
    for (const std::string& url : m.peer_urls) {
      if (!out.empty()) out += ",";
      absl::StrAppend(&out, name, "=", url);
    }
  }
  return out;
}

std::string LearnerRemovalKey(uint64_t member_id) {
  return absl::StrCat(kLearnerRemovalPrefix, absl::Hex(member_id, absl::kZeroPad16));
}

std::string LearnerPromotionKey(uint64_t member_id) {
  return absl::StrCat(kLearnerPromotionPrefix, absl::Hex(member_id, absl::kZeroPad16));
}

template <typename T>
StatusOr<T> Membership::RetryWhileUnhealthy(const std::function<StatusOr<T>()>& change) {
  const auto end = std::chrono::steady_clock::now() + unhealthy_wait_;
  while (true) {
    StatusOr<T> r = change();
    if (r.ok() || !absl::IsUnavailable(r.status()) ||
        r.status().message().find("unhealthy cluster") == std::string_view::npos ||
        std::chrono::steady_clock::now() >= end) {
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

StatusOr<AddedLearner> Membership::AddLearner(const std::string& name,
                                              const std::string& peer_url) {
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, etcd_.MemberList());
  for (const etcd::Member& m : members) {
    for (const std::string& url : m.peer_urls) {
      if (url != peer_url) continue;
      if (!m.is_learner) {
        return absl::AlreadyExistsError(
            absl::StrCat("a manager's store member already uses ", peer_url));
      }
      spdlog::info("membership: replacing unfinished learner {:x} at {}", m.id, peer_url);
      RETURN_IF_ERROR(RemoveLearner(m.id));
    }
  }
  // etcd makes a member's ID from its peer URLs and the current time in whole SECONDS, and
  // refuses an ID it removed before (ErrIDRemoved, answered as NotFound "member not found"):
  // the same URL added again within the second of an earlier, rolled-back add collides. The
  // next second gives a new ID.
  const auto collision_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  StatusOr<etcd::MemberAddResult> result = absl::UnknownError("not tried");
  while (true) {
    result = RetryWhileUnhealthy<etcd::MemberAddResult>(
        [&] { return etcd_.MemberAdd({peer_url}, /*is_learner=*/true); });
    if (!absl::IsNotFound(result.status()) || std::chrono::steady_clock::now() >= collision_end) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSIGN_OR_RETURN(etcd::MemberAddResult added, std::move(result));
  spdlog::info("membership: node {} added as store learner {:x} at {}", name, added.member.id,
               peer_url);
  return AddedLearner{added.member.id, InitialCluster(added.members, added.member.id, name)};
}

StatusOr<etcd::Member> Membership::Find(uint64_t member_id) {
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, etcd_.MemberList());
  for (const etcd::Member& m : members) {
    if (m.id == member_id) return m;
  }
  return absl::NotFoundError(absl::StrCat("no store member ", absl::Hex(member_id)));
}

Status Membership::Promote(uint64_t member_id) {
  ASSIGN_OR_RETURN(int64_t lease, etcd_.LeaseGrant(kPromotionHoldTtl));
  StatusOr<etcd::TxnResult> held =
      etcd_.Txn({etcd::KeyAbsent(LearnerRemovalKey(member_id))},
                {etcd::Op::Put(LearnerPromotionKey(member_id), "", lease)}, {});
  Status s = held.status();
  if (s.ok() && !held->succeeded) {
    s = absl::FailedPreconditionError(absl::StrCat("store learner ", absl::Hex(member_id),
                                                   " is being removed: its join took too long"));
  }
  if (s.ok()) s = PromoteHeld(member_id);
  // Ends the hold (its key goes with the lease); if this fails the TTL ends it.
  if (Status r = etcd_.LeaseRevoke(lease); !r.ok()) {
    spdlog::debug("membership: ending the promotion hold of {:x}: {}", member_id, r.ToString());
  }
  return s;
}

Status Membership::PromoteHeld(uint64_t member_id) {
  StatusOr<std::vector<etcd::Member>> promoted = RetryWhileUnhealthy<std::vector<etcd::Member>>(
      [&] { return etcd_.MemberPromote(member_id); });
  if (promoted.ok()) {
    spdlog::info("membership: store member {:x} promoted to a voter", member_id);
    return absl::OkStatus();
  }
  // A retried promotion whose first attempt went through: etcd says "not a learner".
  StatusOr<etcd::Member> m = Find(member_id);
  if (!m.ok()) return m.status();
  if (!m->is_learner) return absl::OkStatus();
  return promoted.status();
}

Status Membership::RemoveLearner(uint64_t member_id, const std::function<Status()>& precondition) {
  return Remove(member_id, "", precondition);
}

Status Membership::RemoveJoining(uint64_t member_id, const std::string& node_id) {
  return Remove(member_id, node_id, nullptr);
}

Status Membership::Remove(uint64_t member_id, const std::string& node_id,
                          const std::function<Status()>& precondition) {
  StatusOr<etcd::Member> m = Find(member_id);
  if (absl::IsNotFound(m.status())) return absl::OkStatus();
  RETURN_IF_ERROR(m.status());
  const bool own_voter = !m->is_learner && !node_id.empty() && m->name == node_id;
  if (!m->is_learner && !own_voter) {
    return absl::FailedPreconditionError(
        absl::StrCat("store member ", absl::Hex(member_id), " is a voter, not a joining learner"));
  }
  // The precondition is checked again before each attempt: the last check stays right before
  // the removal.
  StatusOr<std::vector<etcd::Member>> removed =
      RetryWhileUnhealthy<std::vector<etcd::Member>>([&]() -> StatusOr<std::vector<etcd::Member>> {
        if (precondition) RETURN_IF_ERROR(precondition());
        return etcd_.MemberRemove(member_id);
      });
  if (!removed.ok() && !absl::IsNotFound(removed.status())) return removed.status();
  spdlog::info("membership: {} {:x} removed (its join did not finish)",
               own_voter ? "member" : "learner", member_id);
  return absl::OkStatus();
}

}  // namespace capsule::membership
