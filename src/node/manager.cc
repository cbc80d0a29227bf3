#include "node/manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "ca/issuer_info.h"
#include "ca/join_token.h"
#include "ca/node_role.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "crypto/secure_file.h"
#include "node/api_adapters.h"
#include "node/autolock_paths.h"
#include "node/ca_sync.h"
#include "node/certificates.h"
#include "node/machine_resources.h"
#include "node/manager_leadership.h"
#include "node/routed_logs.h"
#include "store/etcd_store.h"
#include "store/keys.h"

namespace capsule::node {

std::string EtcdDir(const std::string& data_root) { return data_root + "/etcd"; }
std::string SwarmDir(const std::string& data_root) { return data_root + "/swarm"; }

std::chrono::seconds CertValidityFor(const ClusterSpec& spec,
                                     std::chrono::seconds override_validity) {
  if (override_validity.count() > 0) return override_validity;
  if (spec.node_cert_expiry_ns >= 1000000000) {
    return std::chrono::seconds(spec.node_cert_expiry_ns / 1000000000);
  }
  return ca::kDefaultNodeCertValidity;
}

namespace {

// How long a starting manager waits for its own etcd member to answer (see StartMember).
constexpr std::chrono::seconds kMemberReadyWait{60};

std::string KekPath(const std::string& data_root) { return SwarmDir(data_root) + "/kek"; }

}  // namespace

Manager::Manager(ManagerConfig config, SwarmState state)
    : config_(std::move(config)), state_(std::move(state)) {}

Manager::~Manager() { Stop(); }

std::string PeerUrl(const SwarmState& state) {
  const std::string& ip = state.advertise_addr;
  const bool v6 = ip.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(state.etcd_peer_port);
}

Status Manager::StartSupervisor(bool new_cluster, const std::string& initial_cluster,
                                bool force_new_cluster) {
  RETURN_IF_ERROR(EnsureDir(SwarmDir(config_.data_root), 0700));
  etcd::MemberConfig mc;
  mc.etcd_binary = config_.etcd_binary;
  mc.dir = EtcdDir(config_.data_root);
  mc.name = state_.node_id;
  // Peers speak mutual TLS with certificates from the swarm's CA (IP SAN = advertise IP).
  const CertificatePaths certs = CertificatesIn(config_.data_root);
  RETURN_IF_ERROR(CheckCertificatesPresent(certs));
  mc.peer_url = PeerUrl(state_);
  // Only managers' certificates open the peer port: a worker's certificate comes from the same
  // CA, and a peer connection can append to the Raft log, i.e. rewrite the store.
  // etcd reads its trusted CA file only at start: it gets a copy of the trust root, replaced
  // (and the member restarted) when a root rotation drops the old root (member_trust.h).
  RETURN_IF_ERROR(WriteMemberTrust(ReadFileOrEmpty(certs.root_ca)));
  mc.peer_tls = {certs.cert, certs.key, MemberTrustPath(config_.data_root), ca::kManagerRoleName};
  mc.new_cluster = new_cluster;
  mc.initial_cluster = initial_cluster;
  mc.cluster_token = state_.cluster_id;
  mc.log_level = config_.etcd_log_level;
  mc.force_new_cluster = force_new_cluster;
  supervisor_ = std::make_unique<etcd::Supervisor>(mc, RealClock());
  return supervisor_->Start(std::chrono::seconds(30));
}

Status Manager::StartMember(bool new_cluster, const std::string& initial_cluster) {
  RETURN_IF_ERROR(StartSupervisor(new_cluster, initial_cluster, /*force_new_cluster=*/false));
  etcd::ClientOptions co;
  co.endpoint = supervisor_->ClientEndpoint();
  // The member accepts on its socket at once but answers only once it is ready: it has
  // replayed its WAL and published itself through Raft. A restarted member with a long log,
  // on a busy machine, took more than 10 s (the HA fault suite saw it), so wait up to a minute,
  // in slices: a member that stopped itself (removed from the cluster) ends the wait at once.
  const auto end = std::chrono::steady_clock::now() + kMemberReadyWait;
  while (true) {
    StatusOr<std::unique_ptr<etcd::Client>> c = etcd::Client::Connect(co, std::chrono::seconds(1));
    if (c.ok()) {
      client_ = *std::move(c);
      return absl::OkStatus();
    }
    if (supervisor_->removed() || std::chrono::steady_clock::now() >= end) return c.status();
  }
}

Status Manager::StartStore(bool new_cluster) {
  RETURN_IF_ERROR(LoadKek(new_cluster));  // before the member: it may uncover the node key
  RETURN_IF_ERROR(StartMember(new_cluster, ""));
  return StartServices(/*joined=*/false);
}

Status Manager::WaitMemberServes(std::chrono::milliseconds timeout) {
  // A new member answers "rpc not supported for learner" (Unavailable) until it has applied
  // its own promotion; a linearizable read that succeeds also means it has caught up to the
  // cluster's revision at that moment.
  return WaitReadable(*client_, store::kKeyringKey, timeout);
}

Status Manager::WaitReadable(etcd::Client& client, const std::string& key,
                             std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    StatusOr<etcd::RangeResult> r = client.Range(key, "");
    if (r.ok()) return absl::OkStatus();
    if (std::chrono::steady_clock::now() >= end) return r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status Manager::StartServices(bool joined) {
  maintainer_ = std::make_unique<etcd::Maintainer>(*client_, RealClock(), config_.etcd_maintenance);
  maintainer_->Start();
  if (joined) {
    // The keyring exists in a swarm this node joins; never make a second one.
    ASSIGN_OR_RETURN(keyring_, store::LoadKeyring(*client_, kek_));
  } else {
    ASSIGN_OR_RETURN(keyring_,
                     store::LoadOrStoreKeyring(*client_, kek_, crypto::Keyring::Generate()));
  }
  keyring_sync_ = std::make_unique<datakeys::KeyringSync>(*client_, keyring_, kek_, state_.node_id,
                                                          RealClock());
  RETURN_IF_ERROR(keyring_sync_->Start());
  data_keys_ = std::make_unique<datakeys::DataKeyRotation>(*client_, kek_, *keyring_sync_);
  store_ = store::NewEtcdStore(*client_, keyring_);
  reads_ = std::make_unique<store::ReadModel>(*store_);
  RETURN_IF_ERROR(reads_->Start());
  RETURN_IF_ERROR(StartElection());  // starts presence_ too
  audit_log_ = std::make_unique<audit::EtcdLog>(*client_, keyring_);
  audit_ = std::make_unique<audit::LogRecorder>(
      *audit_log_, RealClock(),
      audit::RecorderOptions{.writer = state_.node_id, .max_entries = config_.audit_max_entries});
  audit_->Start();
  quorum_ = std::make_unique<membership::QuorumWatch>(
      RealClock(), [this] { return election_client_->Range(store::kLeaderKey, "").status(); });
  secrets_ = std::make_unique<controlapi::SecretApi>(*store_, *reads_, RealClock());
  secret_versions_ = std::make_unique<controlapi::SecretVersionApi>(*store_, *reads_, RealClock(),
                                                                    config_.rotation_pin_delay);
  configs_ = std::make_unique<controlapi::ConfigApi>(*store_, *reads_, RealClock());
  // Set before any request can remove a node: the swarm server starts later.
  nodes_ = std::make_unique<controlapi::NodeApi>(
      *store_, *reads_, RealClock(),
      [this](const std::string& node_id) {
        if (swarm_server_) swarm_server_->EndSession(node_id);
      },
      controlapi::ManagerRoster{state_.node_id, [this] { return ManagerMembers(); }});
  cluster_ = std::make_unique<controlapi::ClusterApi>(*store_, *reads_, RealClock());
  service_api_ = std::make_unique<controlapi::ServiceApi>(*store_, *reads_, RealClock());
  task_api_ = std::make_unique<controlapi::TaskApi>(*reads_);
  network_api_ =
      std::make_unique<controlapi::NetworkApi>(*store_, *reads_, RealClock(), state_.node_id);

  services_.node_id = state_.node_id;
  services_.secrets = secrets_.get();
  services_.configs = configs_.get();
  services_.nodes = nodes_.get();
  services_.cluster = cluster_.get();
  services_.services = service_api_.get();
  services_.tasks = task_api_.get();
  services_.networks = network_api_.get();
  services_.autolock = this;
  services_.reachability = [this](const std::string& node_id) -> std::string {
    if (!presence_->IsMember(node_id)) return "";  // e.g. removed by --force-new-cluster
    return presence_->Reachability(node_id);
  };
  services_.secret_versions = secret_versions_.get();
  services_.audit = audit_.get();
  services_.audit_log = audit_log_.get();
  services_.data_keys = data_keys_.get();
  return absl::OkStatus();
}

Status Manager::Quorum() const {
  WaitPlannedMemberRestart();  // a root rotation's member restart (manager_member_trust.cc)
  return quorum_ ? quorum_->Check() : absl::OkStatus();
}

StatusOr<std::vector<membership::ManagerMember>> Manager::ManagerMembers() const {
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, client_->MemberList());
  std::vector<membership::ManagerMember> out;
  for (const etcd::Member& m : members) {
    if (m.is_learner) continue;  // no vote: neither counts for the quorum nor is a manager yet
    out.push_back({m.name, !m.name.empty() && presence_->IsReachable(m.name)});
  }
  return out;
}

Status Manager::StartElection() {
  // Its own connection, with a call timeout below the lease TTL: a keepalive stuck on an
  // unreachable etcd must not hold the elector past the point its leadership ends.
  etcd::ClientOptions co;
  co.endpoint = supervisor_->ClientEndpoint();
  co.call_timeout = std::chrono::milliseconds(500);
  ASSIGN_OR_RETURN(election_client_, etcd::Client::Connect(co, std::chrono::seconds(10)));
  // Before the elector: leader work asks it (OrphanedNodeSweeper).
  membership::PresenceOptions po;
  po.node_id = state_.node_id;
  presence_ = std::make_unique<membership::Presence>(*election_client_, RealClock(), po);
  presence_->Start();
  election::ElectorOptions eo;
  eo.key = store::kLeaderKey;
  eo.candidate = state_.node_id;
  // A 1 s TTL (etcd's minimum with its 500 ms election timeout, store/etcd/etcd_process.cc)
  // renewed every 200 ms: a dead leader's lease ends ~1-1.5 s after its last keepalive (etcd
  // checks expiries every 500 ms), and when its etcd member was the Raft leader too, the new
  // Raft leader first takes ~0.5-1 s and extends leases by an election timeout: a failover
  // budget of ~1.5-3 s (docs/bench/failover-2026-12-07.md measures it).
  eo.ttl = std::chrono::seconds(1);
  eo.keepalive_period = std::chrono::milliseconds(200);
  eo.defer_campaign = [this] {
    // A demoted manager lets the others lead (role_reconciler.h).
    store::NodeEntry self = reads_->NodeById(state_.node_id);
    if (self && self->object.desired_role == "worker") return true;
    StatusOr<etcd::EndpointStatus> st = election_client_->GetStatus();
    if (!st.ok() || st->leader != st->member_id) return false;
    StatusOr<std::vector<etcd::Member>> members = election_client_->MemberList();
    return members.ok() && members->size() > 1;
  };
  election::ElectorCallbacks cb;
  cb.on_elected = [this](const store::Fence& fence) { StartLeaderWork(fence); };
  cb.on_lost = [this] { StopLeaderWork(); };
  elector_ = std::make_unique<election::Elector>(*election_client_, RealClock(), eo, cb);
  elector_->Start();
  return absl::OkStatus();
}

void Manager::StartLeaderWork(const store::Fence& fence) {
  // A refused (fenced) write means another manager leads now: give the leadership up.
  StatusOr<std::unique_ptr<store::Store>> fenced =
      store::NewFencedStore(*store_, fence, [this] { elector_->StepDown(); });
  if (!fenced.ok()) {
    spdlog::error("leader work cannot start: {}", fenced.status().ToString());
    elector_->StepDown();
    return;
  }
  leader_store_ = *std::move(fenced);
  {
    MutexLock lock(leader_mu_);
    leader_stopping_ = false;
  }
  // Off the elector's thread (it must keep the lease alive meanwhile): first this term's own
  // write (node/manager_leadership.h) and the read model past it, so the first pass plans from
  // every decision of every earlier leader and never duplicates a task an old leader created.
  leader_thread_ = std::thread([this, fence] {
    const auto stopping = [this] {
      MutexLock lock(leader_mu_);
      return leader_stopping_;
    };
    StatusOr<int64_t> term_write =
        MarkSelfLeader(*leader_store_, *reads_, state_.node_id, stopping);
    if (!term_write.ok()) {
      if (!stopping()) spdlog::warn("leader work not started: {}", term_write.status().ToString());
      return;
    }
    {
      MutexLock lock(leader_mu_);
      if (leader_stopping_) return;
      orchestrator_ =
          std::make_unique<orchestrator::Orchestrator>(*leader_store_, *reads_, RealClock());
      orchestrator_->Start();
      sweeper_ = std::make_unique<membership::LearnerSweeper>(*client_, RealClock(), fence);
      sweeper_->Start(std::chrono::seconds(5));
      version_sweeper_ =
          std::make_unique<controlapi::SecretVersionSweeper>(*leader_store_, *reads_, RealClock());
      version_sweeper_->Start(std::chrono::seconds(10));
      resealer_ = std::make_unique<datakeys::Resealer>(
          *client_, keyring_, *keyring_sync_, kek_, fence,
          [this]() -> StatusOr<std::vector<std::string>> {
            ASSIGN_OR_RETURN(std::vector<membership::ManagerMember> members, ManagerMembers());
            std::vector<std::string> ids;
            for (const membership::ManagerMember& m : members) {
              if (!m.node_id.empty()) ids.push_back(m.node_id);
            }
            return ids;
          },
          RealClock());
      resealer_->Start();
      // Docker's grace for a node's heartbeats: 3 periods, checked every period.
      const store::ClusterEntry cluster = reads_->GetCluster();
      std::chrono::milliseconds heartbeat{5000};
      if (cluster && cluster->object.spec.heartbeat_period_ns > 0) {
        heartbeat = std::chrono::milliseconds(cluster->object.spec.heartbeat_period_ns / 1000000);
      }
      orphan_sweeper_ = std::make_unique<OrphanedNodeSweeper>(
          *leader_store_, RealClock(),
          [this](const std::string& manager) { return presence_->IsReachable(manager); },
          OrphanedNodeOptions{state_.node_id, heartbeat * 3,
                              [this]() -> StatusOr<std::set<std::string>> {
                                SwarmServer* server = serving_.load();
                                if (server == nullptr)
                                  return absl::UnavailableError("the swarm port is not up");
                                return server->SessionNodeIds();
                              }});
      orphan_sweeper_->Start(heartbeat);
      role_reconciler_ = std::make_unique<RoleReconciler>(
          RoleReconcilerDeps{
              *leader_store_, *client_,
              [this] {
                std::vector<Node> out;
                for (const store::NodeEntry& n : reads_->Nodes()) {
                  out.push_back(n->object);
                }
                return out;
              },
              [this](const std::string& id) { return presence_->IsReachable(id); },
              [this] { elector_->StepDown(); }, state_.node_id,
              [this, fence] { return membership::CheckLeadership(*client_, fence); }},
          RealClock());
      role_reconciler_->Start(std::chrono::milliseconds(500));
      root_rotation_ = std::make_unique<RootRotationFinisher>(*leader_store_, *reads_, RealClock());
      root_rotation_->Start(std::chrono::seconds(1));
    }
    spdlog::info(
        "leader work started (orchestrator, scheduler, reaper, learner sweeper, "
        "orphaned nodes)");
    (void)ClearOtherLeaders(*leader_store_, *reads_, state_.node_id, stopping);
  });
}

void Manager::StopLeaderWork() {
  {
    MutexLock lock(leader_mu_);
    leader_stopping_ = true;
  }
  if (leader_thread_.joinable()) leader_thread_.join();
  if (sweeper_) sweeper_->Stop();
  sweeper_.reset();
  version_sweeper_.reset();  // joins its thread
  resealer_.reset();         // likewise
  orphan_sweeper_.reset();   // likewise
  role_reconciler_.reset();  // likewise
  root_rotation_.reset();    // likewise
  // Stop() returns once its worker exited: no leader write after this.
  if (orchestrator_) orchestrator_->Stop();
  orchestrator_.reset();
  leader_store_.reset();
  spdlog::info("leader work stopped");
}

Status Manager::StartSwarmServer() {
  RETURN_IF_ERROR(reads_->WaitFresh());
  store::ClusterEntry cluster = reads_->GetCluster();
  if (!cluster) return absl::FailedPreconditionError("the cluster object is missing");
  SwarmServerConfig sc;
  sc.listen_addr = state_.listen_addr;
  sc.node_id = state_.node_id;
  sc.manager_addr = state_.advertise_addr + ":" + std::to_string(state_.swarm_port);
  sc.cluster_id = state_.cluster_id;
  sc.certs = CertificatesIn(config_.data_root);
  const ClusterSpec& spec = cluster->object.spec;
  if (spec.heartbeat_period_ns > 0) {
    sc.heartbeat_period = std::chrono::milliseconds(spec.heartbeat_period_ns / 1000000);
  }
  sc.cert_validity = CertValidityFor(spec, config_.node_cert_validity);
  sc.cert_refresh_interval = std::max(std::chrono::seconds(1), config_.cert_check_period);
  sc.audit = audit_.get();
  ASSIGN_OR_RETURN(swarm_server_,
                   SwarmServer::Start(sc, *store_, *reads_, *nodes_, {*client_, kek_}));
  serving_ = swarm_server_.get();
  remote_logs_ = NewApiRemoteLogs(
      NewRoutedLogReader(swarm_server_->log_broker(), *reads_, state_.node_id, sc.certs));
  services_.remote_logs = remote_logs_.get();
  StartCertRenewer();
  StartMemberTrustFollower();
  return absl::OkStatus();
}

std::chrono::seconds Manager::NodeCertValidity() const {
  store::ClusterEntry cluster = reads_->GetCluster();
  return CertValidityFor(cluster ? cluster->object.spec : ClusterSpec{},
                         config_.node_cert_validity);
}

void Manager::StartCertRenewer() {
  // The gRPC server re-reads the files every cert_refresh_interval; etcd's peer listener
  // reads them on every handshake.
  renewer_ = std::make_unique<CertRenewer>(
      CertificatesIn(config_.data_root),
      [this](const CertRenewalRequest& req) {
        return SignLocalCertificate(swarm_server_->root_ca(), state_, req.csr_pem,
                                    NodeCertValidity(), RealClock().Now());
      },
      [this](const std::string& cert_pem, const SecretBytes& key_pem) {
        OnIdentityRenewed();
        MutexLock lock(renewed_mu_);
        if (on_renewed_) on_renewed_(cert_pem, key_pem);
      },
      RealClock());
  // A root rotation (ca_sync.h): trust the root the cluster names, renew from the new one.
  renewer_->SetPoll([this]() -> StatusOr<bool> {
    const CertificatePaths paths = CertificatesIn(config_.data_root);
    ASSIGN_OR_RETURN(CaSyncResult r, ApplyCaView(paths, swarm_server_->CurrentCaView()));
    if (Status s = swarm_server_->RecordOwnTlsInfo(state_.node_id, ReadFileOrEmpty(paths.root_ca),
                                                   ReadFileOrEmpty(paths.cert));
        !s.ok()) {
      spdlog::warn("this manager's TLS info was not recorded: {}", s.ToString());
    }
    return r.renew;
  });
  renewer_->Start(config_.cert_check_period);
}

void Manager::SetCertificateRenewedCallback(CertRenewer::RenewedFn fn) {
  MutexLock lock(renewed_mu_);
  on_renewed_ = std::move(fn);
}

Status Manager::CreateClusterObjects(const ClusterSpec& spec, const ca::RootCa& root) {
  const TimePoint now = RealClock().Now();
  // The CA key lives only in the store, sealed like every other value.
  ASSIGN_OR_RETURN(SecretBytes ca_key, root.KeyPem());
  nlohmann::json ca_meta = {{"CertPem", root.cert_pem()}};
  RETURN_IF_ERROR(
      store_->Create({kCaKind, "root", ""}, {ca_meta.dump(), std::move(ca_key)}).status());

  Cluster cluster;
  cluster.id = state_.cluster_id;
  cluster.created_at = cluster.updated_at = now;
  cluster.spec = spec;
  cluster.root_ca_cert_pem = root.cert_pem();
  ASSIGN_OR_RETURN(ca::IssuerInfo issuer, ca::ReadIssuerInfo(root.cert_pem()));
  cluster.cert_issuer_subject = issuer.subject_b64;
  cluster.cert_issuer_public_key = issuer.public_key_b64;
  cluster.worker_join_token = ca::NewJoinToken(root.cert_pem());
  cluster.manager_join_token = ca::NewJoinToken(root.cert_pem());
  RETURN_IF_ERROR(
      store_->Create({kClusterKind, cluster.id, ""}, {EncodeClusterMeta(cluster), {}}).status());
  RETURN_IF_ERROR(controlapi::CreateIngressNetwork(*store_, spec, now).status());

  Node node;
  node.id = state_.node_id;
  node.created_at = node.updated_at = now;
  node.hostname = config_.hostname;
  node.role = "manager";
  node.state = "ready";
  node.addr = state_.advertise_addr;
  node.manager_addr = state_.advertise_addr + ":" + std::to_string(state_.swarm_port);
  node.leader = true;
  node.engine_version = "capsule";
  const MachineResources machine = ReadMachineResources();
  node.nano_cpus = machine.nano_cpus;
  node.memory_bytes = machine.memory_bytes;
  return store_->Create({kNodesKind, node.id, ""}, {EncodeNodeMeta(node), {}}).status();
}

StatusOr<std::unique_ptr<Manager>> Manager::Bootstrap(const ManagerConfig& config,
                                                      const SwarmState& state,
                                                      const ClusterSpec& spec) {
  std::unique_ptr<Manager> m(new Manager(config, state));
  m->autolock_at_init_ = spec.autolock_managers;
  StatusOr<ca::RootCa> root = ca::RootCa::Generate();
  Status s = root.status();
  if (s.ok() && spec.autolock_managers) s = m->PrepareAutolockedIdentity();
  if (s.ok()) {
    s = IssueLocalCertificates(*root, state, CertificatesIn(config.data_root),
                               CertValidityFor(spec, config.node_cert_validity));
  }
  if (s.ok()) s = m->StartStore(/*new_cluster=*/true);
  if (s.ok()) s = m->CreateClusterObjects(spec, *root);
  if (s.ok()) s = m->reads_->WaitFresh();
  if (s.ok()) s = m->StartSwarmServer();
  if (s.ok()) s = m->ReconcileAutolock();  // `--autolock`: this key becomes the swarm's
  if (!s.ok()) {
    spdlog::error("swarm init failed: {}", s.ToString());
    m->Destroy();
    return s;
  }
  return m;
}

StatusOr<std::unique_ptr<Manager>> Manager::Open(const ManagerConfig& config,
                                                 const SwarmState& state,
                                                 std::optional<crypto::UnlockedKeys> unlocked) {
  std::unique_ptr<Manager> m(new Manager(config, state));
  m->unlocked_ = std::move(unlocked);
  Status s = m->StartStore(/*new_cluster=*/false);
  if (s.ok()) s = m->StartSwarmServer();
  if (s.ok()) s = m->ReconcileAutolock();
  if (!s.ok()) {
    if (m->MemberWasRemoved()) s = absl::FailedPreconditionError(kMemberRemovedMessage);
    m->Stop();
    return s;
  }
  return m;
}

bool IsMemberRemoved(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition &&
         status.message() == kMemberRemovedMessage;
}

bool Manager::MemberWasRemoved() const {
  if (!supervisor_) return false;
  // The store calls may fail before the supervisor has reaped the member that stopped itself.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!supervisor_->removed() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return supervisor_->removed();
}

StatusOr<std::unique_ptr<Manager>> Manager::Join(const ManagerConfig& config,
                                                 const SwarmState& state, JoinPlan plan) {
  std::unique_ptr<Manager> m(new Manager(config, state));
  Status s = EnsureDir(SwarmDir(config.data_root), 0700);
  if (s.ok()) {
    s = crypto::WriteFileAtomic(KekPath(config.data_root), plan.kek.span(), 0600,
                                /*replace=*/true);
  }
  m->kek_ = std::move(plan.kek);
  if (s.ok()) s = m->StartMember(/*new_cluster=*/false, plan.initial_cluster);
  if (s.ok()) s = plan.promote();
  if (s.ok()) s = m->WaitMemberServes(std::chrono::seconds(20));
  if (s.ok()) s = m->StartServices(/*joined=*/true);
  if (s.ok()) s = m->reads_->WaitFresh();
  if (s.ok()) s = m->StartSwarmServer();
  if (s.ok()) s = m->ReconcileAutolock();  // an autolocked swarm: locks this manager too
  if (s.ok()) {
    // ManagerStatus.Addr; a promoted worker's object has none yet (the same for a join).
    s = m->nodes_->SetManagerAddr(state.node_id,
                                  state.advertise_addr + ":" + std::to_string(state.swarm_port));
  }
  if (!s.ok()) {
    spdlog::error("joining as a manager failed: {}", s.ToString());
    if (plan.abort) plan.abort();
    if (plan.promotion) {
      m->Retire();
    } else {
      m->Destroy();
    }
    return s;
  }
  return m;
}

Status Manager::RestartStoreMemberAlone() {
  if (!supervisor_) return absl::FailedPreconditionError("the store member is not running");
  member_trust_.reset();  // it restarts the member too
  supervisor_->Stop();
  return StartSupervisor(/*new_cluster=*/false, "", /*force_new_cluster=*/true);
}

void Manager::Stop() {
  services_ = {};
  member_trust_.reset();     // it restarts the store member
  unlock_follower_.reset();  // it converges through the store and the read model
  // Unreachable at once for the others (its lease is revoked).
  if (presence_) presence_->Stop();
  // Leader work first: it writes through the store and follows the read model. Stopping the
  // elector stops it (on_lost) and resigns, so another manager leads at once.
  if (elector_) elector_->Stop();
  elector_.reset();
  presence_.reset();
  quorum_.reset();
  election_client_.reset();
  // The renewer signs with the swarm server's root CA.
  if (renewer_) renewer_->Stop();
  renewer_.reset();
  // The swarm port first: its handlers use the store and the read model.
  if (swarm_server_) swarm_server_->Stop();
  serving_ = nullptr;
  swarm_server_.reset();
  // After the swarm port (deliveries) and the API (services_ cleared above); before the
  // client it writes through. Stop writes what is still queued.
  if (audit_) audit_->Stop();
  audit_.reset();
  audit_log_.reset();
  if (reads_) reads_->Stop();
  secrets_.reset();
  secret_versions_.reset();
  configs_.reset();
  nodes_.reset();
  cluster_.reset();
  service_api_.reset();
  task_api_.reset();
  reads_.reset();
  store_.reset();
  data_keys_.reset();
  keyring_sync_.reset();  // after the read model (its miss handler reloads through client_)
  if (maintainer_) maintainer_->Stop();
  maintainer_.reset();
  client_.reset();
  if (supervisor_) supervisor_->Stop();
  supervisor_.reset();
  MutexLock lock(autolock_mu_);
  if (identity_) identity_->Uncover();  // an autolocked manager's key in the clear goes
}

void Manager::Destroy() {
  Retire();
  std::error_code ec;
  std::filesystem::remove_all(CertificatesIn(config_.data_root).dir, ec);
}

void Manager::Retire() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(EtcdDir(config_.data_root), ec);
  if (ec) spdlog::error("removing {}: {}", EtcdDir(config_.data_root), ec.message());
  std::filesystem::remove(KekPath(config_.data_root), ec);
  std::filesystem::remove(AutolockBoxPath(config_.data_root), ec);
}

StatusOr<bool> Manager::MemberRemoved() const {
  if (!client_) return absl::FailedPreconditionError("the manager is stopped");
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, client_->MemberList());
  for (const etcd::Member& m : members) {
    if (m.name == state_.node_id) return false;
  }
  return true;
}

}  // namespace capsule::node
