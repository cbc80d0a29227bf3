// The manager side of a node: its supervised etcd member, the encrypted store on it, the
// read model and the control API. Built by Bootstrap (a new swarm: `swarm init`) or Open
// (capsuled restarting on a data root that already has a swarm). Only src/node builds one.
//
// On-disk layout under the data root:
//   swarm/state.json  membership (node/cluster IDs, addresses)        0600
//   swarm/kek         key-encryption key wrapping the cluster DEKs     0600
//   swarm/autolock    instead of swarm/kek with autolock: the KEK sealed under the unlock key
//                     (node/autolock_paths.h, crypto/autolock_box.h)     0600
//   swarm/certificates/  this node's TLS identity (node/certificates.h)
//   etcd/             the etcd member's working dir (socket, data)     0700
//   etcd/peer-trusted-ca.crt  the root its peer port trusts (manager_member_trust.cc)
// The root CA's key is stored in etcd (sealed like every value), never on disk.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/etcd_log.h"
#include "audit/log_recorder.h"
#include "ca/root_ca.h"
#include "common/mutex.h"
#include "common/status.h"
#include "crypto/autolock_box.h"
#include "crypto/keyring.h"
#include "dockerapi/backend.h"
#include "manager/controlapi/cluster.h"
#include "manager/controlapi/network.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/secret.h"
#include "manager/controlapi/secret_version_sweeper.h"
#include "manager/controlapi/task.h"
#include "manager/datakeys/keyring_sync.h"
#include "manager/datakeys/resealer.h"
#include "manager/datakeys/rotation.h"
#include "manager/election/elector.h"
#include "manager/membership/learner_sweeper.h"
#include "manager/membership/manager_quorum.h"
#include "manager/membership/presence.h"
#include "manager/membership/quorum_watch.h"
#include "manager/orchestrator/orchestrator.h"
#include "manager/unlockkeys/cluster_unlock_keys.h"
#include "manager/unlockkeys/follower.h"
#include "node/cert_renewer.h"
#include "node/identity_vault.h"
#include "node/member_trust.h"
#include "node/orphaned_nodes.h"
#include "node/role_reconciler.h"
#include "node/root_rotation_finisher.h"
#include "node/swarm_server.h"
#include "node/swarm_state.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/maintenance.h"
#include "store/etcd/supervisor.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

// Why a manager whose etcd member was removed from the store's cluster does not start (Open's
// FailedPrecondition): typically another manager ran `swarm init --force-new-cluster` while
// this one was down. Its data is a stale copy that must not come back as a second swarm.
inline constexpr char kMemberRemovedMessage[] =
    "this manager's store member was removed from the swarm's store cluster (another manager "
    "ran `swarm init --force-new-cluster`, or removed it) and its copy of the swarm's state is "
    "stale, so it does not start as a manager: leave the swarm (`docker swarm leave --force`) "
    "and join it again";

bool IsMemberRemoved(const Status& status);

// Docker's docs advise keeping the previous unlock key "for a few minutes".
inline constexpr std::chrono::seconds kDefaultUnlockKeyGrace{600};

struct ManagerConfig {
  std::string data_root;
  std::string etcd_binary;
  std::string hostname;
  std::string etcd_log_level = "warn";
  // Node certificate validity; 0 = the cluster spec's CAConfig.NodeCertExpiry. Only tests set
  // it (capsuled's hidden --node-cert-validity), to see renewals within seconds.
  std::chrono::seconds node_cert_validity{0};
  // How often this node checks whether its certificate is due for renewal.
  std::chrono::seconds cert_check_period = kDefaultCertCheckPeriod;
  // The etcd member's compaction/defragmentation policy (store/etcd/maintenance.h); tests
  // shorten it (capsuled's hidden --etcd-compaction-retention and --etcd-maintenance-interval).
  etcd::MaintenanceOptions etcd_maintenance;
  // How long the previous unlock key still unlocks after a rotation (crypto/autolock_box.h);
  // tests shorten it (capsuled's hidden --unlock-key-grace).
  std::chrono::seconds unlock_key_grace{kDefaultUnlockKeyGrace};
  // The secrets audit log keeps at least this many newest events (capsuled
  // --audit-max-entries; audit/log_recorder.h). Set it alike on every manager: each trims to
  // its own.
  size_t audit_max_entries = audit::kDefaultMaxEntries;
  // Tests only (capsuled's hidden --rotation-pin-delay-ms): how long a secret rotation waits
  // between making its version current and pinning the services, so that a test can kill -9
  // the manager in between (controlapi::SecretVersionApi).
  std::chrono::milliseconds rotation_pin_delay{0};
};

class Manager : public dockerapi::AutolockControl {
 public:
  // A new single-manager swarm: starts a one-member etcd, creates the keyring, the cluster
  // and this node's object. On failure nothing is left behind (etcd stopped, its dir removed).
  static StatusOr<std::unique_ptr<Manager>> Bootstrap(const ManagerConfig& config,
                                                      const SwarmState& state,
                                                      const ClusterSpec& spec);
  // What a node joining as a manager got from an existing manager (node/manager_join.h).
  struct JoinPlan {
    std::string initial_cluster;  // etcd --initial-cluster, this node's learner included
    SecretBytes kek;              // the swarm's KEK (written to this node's KEK file)
    // Blocks until this node's etcd member is a voter (the existing manager promotes it).
    std::function<Status()> promote;
    // Rolls the member back on the existing manager (AbortJoin). Called on failure while
    // this node's member still runs, so even a promoted member's removal has its vote.
    std::function<void()> abort;
    // A promoted worker: a failure keeps its certificates (Retire, not Destroy).
    bool promotion = false;
  };
  // A manager joining an existing swarm (its manager certificate is on disk and its etcd
  // member was added as a learner): writes the KEK file, starts the member with the existing
  // cluster, has it promoted, waits until it serves linearizable reads, then loads the
  // keyring and the read model, campaigns for leadership like every manager, and starts the
  // swarm port. On failure the member is rolled back (plan.abort),
  // then everything local is removed (Destroy). In an autolocked swarm it then locks itself
  // with the swarm's unlock key (ReconcileAutolock; docs/features.md "Keys and locking").
  static StatusOr<std::unique_ptr<Manager>> Join(const ManagerConfig& config,
                                                 const SwarmState& state, JoinPlan plan);
  // Starts the existing member and loads the keyring with the KEK file or, on an autolocked
  // manager, with the keys its unlock key opened (`unlocked`; crypto/autolock_box.h). Then
  // makes the keys on disk follow the cluster spec's autolock setting.
  static StatusOr<std::unique_ptr<Manager>> Open(
      const ManagerConfig& config, const SwarmState& state,
      std::optional<crypto::UnlockedKeys> unlocked = std::nullopt);

  ~Manager() override;  // Stop()
  void Stop();
  // `swarm init --force-new-cluster`: restarts the etcd member with etcd's --force-new-cluster
  // on the same data, member and cluster ID, so it is the only member of the store's cluster
  // and has the quorum alone. The running services' store calls (waiting for the lost quorum)
  // then complete against it, so a Stop() that follows is quick; the daemon then Opens the
  // manager again (docs/force-new-cluster.md).
  Status RestartStoreMemberAlone();

  // Called (on the renewer's thread) after this manager renewed its own certificate, e.g. to
  // hand it to this node's agent session. nullptr clears it; once that returns, the previous
  // callback is not running and never runs again.
  void SetCertificateRenewedCallback(CertRenewer::RenewedFn fn);
  // Stops, then removes the etcd member's data and the KEK (leave --force of the last manager).
  void Destroy();
  // Destroy, but this node's certificates stay: a demoted manager becomes a worker with them
  // (node/role_change.h), a promotion that failed leaves the worker as it was.
  void Retire();
  // Whether this node's etcd member is gone from the cluster (a demotion removed it): the
  // member list its own member serves no longer names it. An error when it cannot be read.
  StatusOr<bool> MemberRemoved() const;

  // dockerapi::AutolockControl (manager_autolock.cc).
  StatusOr<SecretBytes> UnlockKey() const override;
  // While autolock is on: copies of the KEK and the current unlock key, as an unlock yields
  // them (for restarting this manager without asking for the key again); nullopt when off.
  std::optional<crypto::UnlockedKeys> AutolockKeys() const;
  Status ApplyAutolock(bool autolock, bool rotate) override;

  // Valid while this Manager lives (the daemon hands it out through an aliasing shared_ptr
  // that keeps the Manager alive).
  const dockerapi::ManagerServices& services() const { return services_; }

  // OK while the store has a quorum; else, after a bounded wait (about 2 s for the first call,
  // one 500 ms probe for later ones), Unknown with Docker's "The swarm does not have a
  // leader…" text (membership/quorum_watch.h). Every manager API call asks it first.
  Status Quorum() const;

 private:
  Manager(ManagerConfig config, SwarmState state);
  // Whether the etcd member stopped itself because the store's cluster removed it (waits up
  // to 2 s for the supervisor to see it exit).
  bool MemberWasRemoved() const;
  Status StartStore(bool new_cluster);
  // kek_ (and unlock_key_) at start: from unlocked_ keys, new ones for `swarm init
  // --autolock`, else the KEK file (manager_autolock.cc).
  Status LoadKek(bool new_cluster);
  // ConvergeAutolock (finishes a switch a crash interrupted, catches up with changes made
  // while this manager was down), then follows the swarm's unlock key (unlock_follower_).
  Status ReconcileAutolock();
  // The swarm's unlock keys follow the stored spec (rotated when asked; with no key stored,
  // `adopt_own_key` keeps this manager's own), then this manager's disk follows them
  // (manager_autolock.cc).
  Status ConvergeAutolock(bool rotate, bool adopt_own_key);
  Status SyncDiskLocked(const std::optional<unlockkeys::ClusterUnlockKeys>& keys)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(autolock_mu_);
  // `swarm init --autolock`: covers the identity directory before the node's key exists.
  Status PrepareAutolockedIdentity();
  // After a renewal: an autolocked manager's new key goes underneath sealed.
  void OnIdentityRenewed();
  // The supervised etcd member and the client to it.
  Status StartMember(bool new_cluster, const std::string& initial_cluster);
  // The supervised etcd member alone (etcd's --force-new-cluster when asked).
  Status StartSupervisor(bool new_cluster, const std::string& initial_cluster,
                         bool force_new_cluster);
  // Until the member serves linearizable reads (a new member: once promoted and caught up).
  Status WaitMemberServes(std::chrono::milliseconds timeout);
  // Until a linearizable read of `key` through `client` succeeds (or `timeout`: its error).
  static Status WaitReadable(etcd::Client& client, const std::string& key,
                             std::chrono::milliseconds timeout);
  // Keyring (joined: it must exist), store, read model, the election, control API.
  Status StartServices(bool joined);
  // The election's own client (a short call timeout, see there) and elector; leader work
  // starts when this manager wins and stops when it loses.
  Status StartElection();
  void StartLeaderWork(const store::Fence& fence);
  void StopLeaderWork();
  Status CreateClusterObjects(const ClusterSpec& spec, const ca::RootCa& root);
  // The voting etcd members (named after their managers' node IDs) and whether each is
  // reachable, for the demotion guards.
  StatusOr<std::vector<membership::ManagerMember>> ManagerMembers() const;
  // The swarm port (gRPC: NodeCA + Dispatcher); needs a fresh read model.
  Status StartSwarmServer();
  // Renews this manager's own certificate locally with the root CA (see cert_renewer.h).
  void StartCertRenewer();
  // The validity node certificates get now (the override, else the cluster spec).
  std::chrono::seconds NodeCertValidity() const;
  // The etcd member's peer trust follows the trust root (manager_member_trust.cc).
  Status WriteMemberTrust(const std::string& pem);
  bool MemberMayStop() const;
  StatusOr<bool> TakeMemberRestartTurn();
  void GiveMemberRestartTurn();
  Status RestartMemberTrusting(const std::string& pem);
  Status RestartMember();  // stop, start, until it serves (the election client too)
  void StartMemberTrustFollower();
  // While member_trust_ restarts the member, Quorum() waits for it (bounded) instead of
  // failing the API calls.
  void WaitPlannedMemberRestart() const;

  ManagerConfig config_;
  SwarmState state_;
  std::unique_ptr<etcd::Supervisor> supervisor_;
  // Restarts the member when the trust root changed (root rotation); its turn's etcd lease.
  std::unique_ptr<MemberTrustFollower> member_trust_;
  int64_t restart_turn_lease_ = 0;  // member_trust_'s thread only
  mutable std::mutex member_restart_mu_;
  mutable std::condition_variable member_restart_cv_;
  // Written under member_restart_mu_; read without it first (Quorum() runs on every API call).
  std::atomic<bool> member_restarting_{false};
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<etcd::Maintainer> maintainer_;  // compacts and defragments the member
  // The swarm's key-encryption key (the KEK file's content), kept to hand to managers that
  // join (sealed to them: membership_service.h).
  SecretBytes kek_;
  // Autolock: set at Bootstrap from the spec; the keys an unlock gave Open; the current unlock
  // key (empty: autolock off), guarded by autolock_mu_ once the manager serves.
  bool autolock_at_init_ = false;
  std::optional<crypto::UnlockedKeys> unlocked_;
  mutable Mutex autolock_mu_;
  SecretBytes unlock_key_ ABSL_GUARDED_BY(autolock_mu_);
  std::unique_ptr<IdentityVault> identity_ ABSL_GUARDED_BY(autolock_mu_);
  std::unique_ptr<unlockkeys::UnlockKeyFollower> unlock_follower_;  // stopped first in Stop()
  crypto::Keyring keyring_;
  // Keeps keyring_ equal to the keyring in etcd; begins data-key rotations (API).
  std::unique_ptr<datakeys::KeyringSync> keyring_sync_;
  std::unique_ptr<datakeys::DataKeyRotation> data_keys_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ReadModel> reads_;
  // Leader work (services → tasks → nodes, unfinished joins' learners): only while this
  // manager is the elected leader; null otherwise. Its store writes go through
  // leader_store_, fenced on the term it won (store::NewFencedStore). Started and stopped on the
  // elector's thread only.
  std::unique_ptr<etcd::Client> election_client_;
  std::unique_ptr<election::Elector> elector_;
  std::unique_ptr<store::Store> leader_store_;
  // This manager's presence key and its view of the others' (ManagerStatus.Reachability).
  std::unique_ptr<membership::Presence> presence_;
  // Whether the store has a quorum: linearizable reads through election_client_.
  std::unique_ptr<membership::QuorumWatch> quorum_;
  std::thread leader_thread_;  // catches the read model up, starts the work, marks the node
  Mutex leader_mu_;
  bool leader_stopping_ ABSL_GUARDED_BY(leader_mu_) = false;
  std::unique_ptr<orchestrator::Orchestrator> orchestrator_;
  std::unique_ptr<membership::LearnerSweeper> sweeper_;
  std::unique_ptr<controlapi::SecretVersionSweeper> version_sweeper_;
  std::unique_ptr<datakeys::Resealer> resealer_;         // finishes data-key rotations
  std::unique_ptr<OrphanedNodeSweeper> orphan_sweeper_;  // nodes whose session manager died
  std::unique_ptr<RoleReconciler> role_reconciler_;      // `node promote|demote`
  std::unique_ptr<RootRotationFinisher> root_rotation_;  // `swarm ca --rotate`
  // The secrets audit log (in etcd) and this manager's recorder of it.
  std::unique_ptr<audit::EtcdLog> audit_log_;
  std::unique_ptr<audit::LogRecorder> audit_;
  std::unique_ptr<controlapi::SecretApi> secrets_;
  std::unique_ptr<controlapi::SecretVersionApi> secret_versions_;
  std::unique_ptr<controlapi::ConfigApi> configs_;
  std::unique_ptr<controlapi::NodeApi> nodes_;
  std::unique_ptr<controlapi::ClusterApi> cluster_;
  std::unique_ptr<controlapi::ServiceApi> service_api_;
  std::unique_ptr<controlapi::TaskApi> task_api_;
  std::unique_ptr<controlapi::NetworkApi> network_api_;
  std::unique_ptr<SwarmServer> swarm_server_;
  std::atomic<SwarmServer*> serving_{nullptr};  // swarm_server_ once started (leader work reads it)
  std::unique_ptr<dockerapi::RemoteTaskLogSource> remote_logs_;  // swarm_server_'s log broker
  std::unique_ptr<CertRenewer> renewer_;
  Mutex renewed_mu_;
  CertRenewer::RenewedFn on_renewed_ ABSL_GUARDED_BY(renewed_mu_);
  dockerapi::ManagerServices services_;
};

std::string EtcdDir(const std::string& data_root);
// The etcd member's peer trusted CA file: a copy of the trust root made when it starts.
std::string MemberTrustPath(const std::string& data_root);
// This manager's etcd peer URL: https://<advertise IP>:<etcd peer port>.
std::string PeerUrl(const SwarmState& state);
std::string SwarmDir(const std::string& data_root);

// A cluster spec's NodeCertExpiry as the validity to sign with (the 90-day default when unset),
// or `override_validity` when it is positive.
std::chrono::seconds CertValidityFor(const ClusterSpec& spec,
                                     std::chrono::seconds override_validity);

}  // namespace capsule::node
