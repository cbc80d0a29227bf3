// Manager: its etcd member's peer trust follows the node's trust root (node/member_trust.h).
// The member runs with <data-root>/etcd/peer-trusted-ca.crt, a copy of swarm-root-ca.crt
// written at every start; after a root rotation dropped the old root, member_trust_ restarts
// the member with the new copy, one manager at a time.
#include <spdlog/spdlog.h>

#include <chrono>

#include "ca/node_key.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "node/ca_sync.h"
#include "node/certificates.h"
#include "node/manager.h"
#include "store/etcd/key_absent.h"
#include "store/keys.h"

namespace capsule::node {
namespace {

// The longest an API call waits for a planned member restart.
constexpr std::chrono::seconds kPlannedRestartHold{30};

}  // namespace

std::string MemberTrustPath(const std::string& data_root) {
  return EtcdDir(data_root) + "/peer-trusted-ca.crt";
}

Status Manager::WriteMemberTrust(const std::string& pem) {
  RETURN_IF_ERROR(EnsureDir(EtcdDir(config_.data_root), 0700));
  return ca::WriteCertFile(MemberTrustPath(config_.data_root), pem);
}

bool Manager::MemberMayStop() const {
  StatusOr<std::vector<membership::ManagerMember>> members = ManagerMembers();
  if (!members.ok()) return false;
  size_t others_reachable = 0;
  bool self_votes = false;
  for (const membership::ManagerMember& m : *members) {
    if (m.node_id == state_.node_id) {
      self_votes = true;
    } else if (m.reachable) {
      ++others_reachable;
    }
  }
  return self_votes && others_reachable >= OthersNeededToRestart(members->size());
}

StatusOr<bool> Manager::TakeMemberRestartTurn() {
  ASSIGN_OR_RETURN(int64_t lease, client_->LeaseGrant(kMemberRestartTurnTtl));
  StatusOr<etcd::TxnResult> r =
      client_->Txn({etcd::KeyAbsent(kMemberRestartTurnKey)},
                   {etcd::Op::Put(kMemberRestartTurnKey, state_.node_id, lease)}, {});
  if (!r.ok() || !r->succeeded) {
    (void)client_->LeaseRevoke(lease);
    if (!r.ok()) return r.status();
    return false;
  }
  restart_turn_lease_ = lease;
  return true;
}

void Manager::GiveMemberRestartTurn() {
  // Revoking the lease deletes the key.
  if (Status s = client_->LeaseRevoke(restart_turn_lease_); !s.ok()) {
    spdlog::warn("store member restart turn not given back (its lease ends it): {}", s.ToString());
  }
  restart_turn_lease_ = 0;
}

void Manager::WaitPlannedMemberRestart() const {
  if (!member_restarting_.load()) return;  // the common case: no lock on the API's path
  std::unique_lock<std::mutex> lock(member_restart_mu_);
  member_restart_cv_.wait_for(lock, kPlannedRestartHold, [this] { return !member_restarting_; });
}

Status Manager::RestartMemberTrusting(const std::string& pem) {
  RETURN_IF_ERROR(WriteMemberTrust(pem));
  // The API calls this manager receives meanwhile wait for the member (Quorum()) rather than
  // fail with "no leader": a client polling through it (`docker swarm ca --rotate`) goes on.
  {
    std::lock_guard<std::mutex> lock(member_restart_mu_);
    member_restarting_ = true;
  }
  Status s = RestartMember();
  {
    std::lock_guard<std::mutex> lock(member_restart_mu_);
    member_restarting_ = false;
  }
  member_restart_cv_.notify_all();
  return s;
}

Status Manager::RestartMember() {
  // SIGTERM: a member leading the Raft group hands its leadership over first.
  supervisor_->Stop();
  Status started = supervisor_->Start(std::chrono::seconds(30));
  if (!started.ok()) {
    // Stopped, and no longer supervised: a member must run here, so try once more.
    spdlog::error("store member did not restart: {}; trying again", started.ToString());
    started = supervisor_->Start(std::chrono::seconds(30));
  }
  RETURN_IF_ERROR(started);
  RETURN_IF_ERROR(WaitMemberServes(std::chrono::seconds(45)));
  // The quorum probe's own connection (the election client) too, so the first API call after
  // the hold does not find it still reconnecting (best effort: the member serves already).
  (void)WaitReadable(*election_client_, store::kLeaderKey, std::chrono::seconds(10));
  return absl::OkStatus();
}

void Manager::StartMemberTrustFollower() {
  const CertificatePaths certs = CertificatesIn(config_.data_root);
  member_trust_ = std::make_unique<MemberTrustFollower>(
      MemberTrustDeps{
          .wanted = [root = certs.root_ca] { return ReadFileOrEmpty(root); },
          .running = [this] { return ReadFileOrEmpty(MemberTrustPath(config_.data_root)); },
          .may_stop = [this] { return MemberMayStop(); },
          .take_turn = [this] { return TakeMemberRestartTurn(); },
          .give_turn = [this] { GiveMemberRestartTurn(); },
          .restart = [this](const std::string& pem) { return RestartMemberTrusting(pem); },
      },
      RealClock());
  member_trust_->Start(std::chrono::seconds(1));
}

}  // namespace capsule::node
