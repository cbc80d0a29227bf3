#include "node/member_trust.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace capsule::node {

size_t OthersNeededToRestart(size_t voters) {
  if (voters <= 1) return 0;
  return std::min(voters / 2 + 1, voters - 1);
}

MemberTrustFollower::MemberTrustFollower(MemberTrustDeps deps, const Clock& clock)
    : deps_(std::move(deps)), loop_(clock) {}

MemberTrustFollower::~MemberTrustFollower() { Stop(); }

StatusOr<bool> MemberTrustFollower::Tick() {
  const std::string wanted = deps_.wanted();
  if (wanted.empty() || wanted == deps_.running()) return false;
  if (!deps_.may_stop()) {
    return absl::UnavailableError(
        "waiting for the other managers: the store would lose its quorum without this member");
  }
  ASSIGN_OR_RETURN(bool turn, deps_.take_turn());
  if (!turn) return absl::UnavailableError("another manager is restarting its store member");
  spdlog::info("root CA rotation: restarting this manager's store member to trust the new root");
  if (Status s = deps_.restart(wanted); !s.ok()) {
    // The turn stays taken until its lease ends: no other member stops beside this one.
    return s;
  }
  deps_.give_turn();
  spdlog::info("root CA rotation: this manager's store member trusts the new root only");
  return true;
}

void MemberTrustFollower::Start(std::chrono::milliseconds period) {
  loop_.Start(period, [this] {
    StatusOr<bool> r = Tick();
    if (r.ok()) {
      last_wait_.clear();
      return;
    }
    const std::string why = r.status().ToString();
    if (why != last_wait_) spdlog::warn("store member trust: {}", why);
    last_wait_ = why;
  });
}

void MemberTrustFollower::Stop() { loop_.Stop(); }

}  // namespace capsule::node
