#include "node/swarm_server.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "ca/authorizer.h"
#include "ca/issuer_info.h"
#include "ca/node_key.h"
#include "ca/root_ca.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "manager/caserver/node_ca_service.h"
#include "manager/controlapi/root_rotation.h"
#include "manager/dispatcher/dispatcher_service.h"
#include "manager/logbroker/log_broker_service.h"
#include "manager/logbroker/node_down_sink.h"
#include "manager/logbroker/peer_log_service.h"
#include "manager/membership/membership_service.h"
#include "node/ca_sync.h"
#include "node/dispatcher_backends.h"
#include "node/node_status_writer.h"
#include "node/session_liveness.h"
#include "node/store_token_source.h"
#include "objects/objects.h"
#include "objects/secret_versions.h"
#include "transport/grpc_server.h"

namespace capsule::node {
namespace {

bool IsIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "ip:port" or "ip" → ip ("" if it is not an IP).
std::string AdvertisedIp(const std::string& addr) {
  if (IsIp(addr)) return addr;
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return IsIp(host) ? host : "";
}

// Admits nodes into the store: a worker, or a manager (which then becomes an etcd member
// through ManagerMembership; if that fails its object is removed again by AbortJoin).
class StoreNodeRegistry final : public caserver::NodeRegistry {
 public:
  StoreNodeRegistry(controlapi::NodeApi& nodes, store::Store& store, const store::ReadModel& reads,
                    const Clock& clock)
      : nodes_(nodes), store_(store), reads_(reads), clock_(clock) {}
  Status Register(const caserver::NewNode& nn) override {
    Node n;
    n.id = nn.node_id;
    n.created_at = n.updated_at = clock_.Now();
    n.hostname = nn.hostname;
    n.role = nn.role == ca::NodeRole::kManager ? "manager" : "worker";
    n.state = "unknown";  // Ready once its session starts
    std::string ip = AdvertisedIp(nn.advertise_addr);
    n.addr = ip.empty() ? nn.observed_ip : ip;
    if (nn.role == ca::NodeRole::kManager) {
      // ManagerStatus.Addr: the advertised swarm address with its port.
      const bool has_port = !ip.empty() && nn.advertise_addr != ip;
      n.manager_addr = has_port ? nn.advertise_addr : n.addr + ":2377";
      n.leader = false;  // the elected leader marks itself (node/manager_leadership.h)
    }
    n.engine_version = "capsule";
    return nodes_.Register(n);
  }
  std::optional<caserver::RenewalFacts> RenewalOf(const std::string& node_id) const override {
    store::NodeEntry e = reads_.NodeById(node_id);
    if (!e) return std::nullopt;
    const Node& n = e->object;
    const bool manager = n.role == "manager" || n.desired_role == "manager";
    return caserver::RenewalFacts{manager ? ca::NodeRole::kManager : ca::NodeRole::kWorker, n.addr};
  }
  Status RecordTlsInfo(const std::string& node_id, const caserver::NodeTlsInfo& info) override {
    return RecordNodeTlsInfo(store_, reads_, node_id, info);
  }

 private:
  controlapi::NodeApi& nodes_;
  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

// Removes the object of a node whose manager join was rolled back.
Status ForgetNode(store::Store& store, store::ReadModel& reads, const std::string& node_id) {
  StatusOr<int64_t> rev = store.Delete({kNodesKind, node_id, ""}, 0);
  RETURN_IF_ERROR(rev.status());
  return reads.WaitFor(*rev, std::chrono::seconds(10));
}

// A node's roles for the manager-only check (ca/manager_check.h says which read is for what).
StatusOr<std::optional<ca::StoreRoles>> StoreRolesOf(store::Store& store,
                                                     const store::ReadModel& reads,
                                                     const std::string& node_id,
                                                     ca::RoleRead read) {
  if (read == ca::RoleRead::kReadModel) {
    store::NodeEntry e = reads.NodeById(node_id);
    if (!e) return std::nullopt;
    return ca::StoreRoles{e->object.role, e->object.desired_role};
  }
  StatusOr<store::StoredRecord> rec = store.Get(kNodesKind, node_id);
  if (absl::IsNotFound(rec.status())) return std::nullopt;
  RETURN_IF_ERROR(rec.status());
  ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(rec->record.meta));
  return ca::StoreRoles{n.role, n.desired_role};
}

// The CA as the cluster object names it: the trust root, and during a rotation the new root
// (signer) with its cross-signed intermediate (controlapi/root_rotation.h).
struct CaMaterial {
  std::string trust_root_pem;
  std::string signer_cert_pem;
  std::string intermediate_pem;
};

CaMaterial MaterialOf(const Cluster& c) {
  if (c.rotation_cert_pem.empty()) return {c.root_ca_cert_pem, c.root_ca_cert_pem, ""};
  return {c.root_ca_cert_pem, c.rotation_cert_pem, c.rotation_cross_signed_pem};
}

bool SameMaterial(const CaMaterial& a, const CaMaterial& b) {
  return a.trust_root_pem == b.trust_root_pem && a.signer_cert_pem == b.signer_cert_pem &&
         a.intermediate_pem == b.intermediate_pem;
}

// RecordNodeLiveness, tried again for a while when the store is briefly unavailable (a Raft
// election after a manager died: the moment nodes fail over here), so the session's manager
// is recorded.
Status RecordLivenessRetrying(store::Store& store, const std::string& id, const std::string& state,
                              const std::string& self) {
  constexpr int kAttempts = 15;
  constexpr std::chrono::milliseconds kPause{200};
  Status s;
  for (int i = 0; i < kAttempts; ++i) {
    s = RecordNodeLiveness(store, RealClock(), id, state, self).status();
    const bool transient = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
                           absl::IsAborted(s) || absl::IsResourceExhausted(s);
    if (!transient) return s;
    std::this_thread::sleep_for(kPause);
  }
  return s;
}

// The dispatcher's report of each item it sent, as audit events: only secrets (configs and
// registry credentials travel the same way under IDs of their own; a secret's ID names no
// other object). A secret's version n >= 2 travels as "<id>@<n>" (objects/secret_versions.h);
// the event names the secret's own ID and that version.
std::function<void(const std::string&, const std::string&, const std::string&)> DeliveryRecorder(
    const store::ReadModel& reads, audit::Recorder* recorder) {
  if (recorder == nullptr) return nullptr;
  return [&reads, recorder](const std::string& node_id, const std::string& id,
                            const std::string& name) {
    SecretVersionRef ref{id, audit::kFirstVersion};
    if (std::optional<SecretVersionRef> parsed = ParseDeliveryId(id)) ref = *parsed;
    if (reads.SecretById(ref.secret_id) == nullptr) return;
    audit::Event e;
    e.action = audit::Action::kDeliver;
    e.secret_id = ref.secret_id;
    e.secret_name = name;
    e.version = ref.version;
    e.node_id = node_id;
    recorder->Record(std::move(e));
  };
}

}  // namespace

struct SwarmServer::Parts {
  Parts(ca::RootCa root_ca, const SwarmServerConfig& config, store::Store& store_in,
        store::ReadModel& reads_in, controlapi::NodeApi& nodes_in, MembershipDeps deps)
      : signing(std::move(root_ca)),
        cluster_store(store_in),
        reads(reads_in),
        nodes(nodes_in),
        assignment_source(store_in, reads_in),
        task_status(store_in),
        authorizer(
            signing.trusted_bundle_pem(), config.cluster_id,
            [this](const std::string& id) { return reads.NodeById(id) == nullptr; }, RealClock(),
            [this, &store_in](const std::string& id, ca::RoleRead read) {
              return StoreRolesOf(store_in, reads, id, read);
            }),
        tokens(store_in, config.cluster_id),
        registry(nodes, store_in, reads_in, RealClock()),
        // Liveness names this manager as the session's holder (node/session_liveness.h).
        writer(
            [&store_in, self = config.node_id](const std::string& id, const std::string& state) {
              return RecordLivenessRetrying(store_in, id, state, self);
            },
            [this](const std::string& id, const dispatcher::NodeResources& r) {
              return nodes.SetResources(id, r.nano_cpus, r.memory_bytes);
            }),
        ca(signing, {config.cluster_id, config.cert_validity}, tokens, registry, authorizer,
           RealClock()),
        dispatcher(authorizer, down_ends_logs, RealClock(),
                   {config.heartbeat_period,
                    3,
                    {{config.node_id, config.manager_addr}},
                    {},
                    DeliveryRecorder(reads_in, config.audit)},
                   {&assignment_source, &task_status}),
        membership(deps.etcd),
        membership_service(membership, authorizer, deps.kek, config.cluster_id,
                           [&store_in, &reads_in](const std::string& id) {
                             return ForgetNode(store_in, reads_in, id);
                           }) {}

  ca::SigningCa signing;
  CaMaterial material;           // what `signing` was loaded from (FollowCa)
  bool material_loaded = false;  // FollowCa ran once
  store::Store& cluster_store;
  const store::ReadModel& reads;
  controlapi::NodeApi& nodes;
  ReadModelAssignmentSource assignment_source;
  StoreTaskStatusStore task_status;
  ca::Authorizer authorizer;
  StoreTokenSource tokens;
  StoreNodeRegistry registry;
  NodeStatusWriter writer;
  caserver::NodeCaService ca;
  logbroker::LogBroker log_broker{RealClock()};
  logbroker::NodeDownSink down_ends_logs{writer, log_broker};  // the dispatcher's sink
  dispatcher::DispatcherService dispatcher;
  logbroker::LogBrokerService log_service{authorizer, log_broker};
  logbroker::PeerLogService peer_log_service{authorizer, log_broker};  // manager to manager
  membership::Membership membership;
  membership::MembershipService membership_service;
  std::unique_ptr<transport::GrpcServer> server;
};

SwarmServer::SwarmServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

SwarmServer::~SwarmServer() { Stop(); }

StatusOr<std::unique_ptr<SwarmServer>> SwarmServer::Start(const SwarmServerConfig& config,
                                                          store::Store& store,
                                                          store::ReadModel& reads,
                                                          controlapi::NodeApi& nodes,
                                                          MembershipDeps membership) {
  store::ClusterEntry cluster = reads.GetCluster();
  if (!cluster) return absl::FailedPreconditionError("the cluster object is missing");
  const CaMaterial material = MaterialOf(cluster->object);
  ASSIGN_OR_RETURN(ca::RootCa root, controlapi::LoadRootCa(store, material.trust_root_pem));
  if (ReadFileOrEmpty(config.certs.root_ca) != material.trust_root_pem) {
    // A root rotation finished while this manager was away: the store is the authority.
    spdlog::warn("{} is not the cluster's root CA: replaced", config.certs.root_ca);
    RETURN_IF_ERROR(ca::WriteCertFile(config.certs.root_ca, material.trust_root_pem));
  }
  auto parts = std::make_unique<Parts>(std::move(root), config, store, reads, nodes, membership);
  transport::GrpcServerOptions options;
  options.listen_addr = config.listen_addr;
  options.tls = {config.certs.cert, config.certs.key, config.certs.root_ca};
  options.cert_refresh_interval = config.cert_refresh_interval;
  StatusOr<std::unique_ptr<transport::GrpcServer>> server = transport::GrpcServer::Start(
      options,
      {&parts->ca, &parts->dispatcher, &parts->membership_service, &parts->log_service,
       &parts->peer_log_service},
      {&parts->ca});
  if (!server.ok()) {
    parts->log_service.Shutdown();
    parts->log_broker.Shutdown();
    parts->dispatcher.Shutdown();
    parts->writer.Stop();
    return server.status();
  }
  parts->server = *std::move(server);
  parts->dispatcher.StartExpiryTimer();
  spdlog::info("swarm port serving on {} (heartbeat period {} ms)", parts->server->addr(),
               config.heartbeat_period.count());
  std::unique_ptr<SwarmServer> s(new SwarmServer(std::move(parts)));
  s->FollowCa();  // a rotation running now: sign with its new root from the start
  s->ca_follow_ = std::thread([p = s.get()] { p->FollowCaLoop(); });
  return s;
}

std::set<std::string> SwarmServer::SessionNodeIds() const {
  std::set<std::string> ids;
  for (const auto& session : parts_->dispatcher.Sessions()) ids.insert(session.node_id);
  return ids;
}

void SwarmServer::Stop() {
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  cv_.notify_all();
  if (ca_follow_.joinable()) ca_follow_.join();
  parts_->dispatcher.Shutdown();
  parts_->log_broker.Shutdown();
  parts_->log_service.Shutdown();
  if (parts_->server) parts_->server->Stop();
  parts_->writer.Stop();
}

const ca::SigningCa& SwarmServer::root_ca() const { return parts_->signing; }

CaView SwarmServer::CurrentCaView() const {
  return {parts_->signing.trust_root_pem(), parts_->signing.signing_root_pem()};
}

Status SwarmServer::RecordOwnTlsInfo(const std::string& node_id, const std::string& trust_root_pem,
                                     const std::string& cert_pem) {
  ASSIGN_OR_RETURN(ca::IssuerInfo issuer,
                   ca::LeafIssuerInfo(cert_pem, parts_->signing.trusted_bundle_pem()));
  return RecordNodeTlsInfo(parts_->cluster_store, parts_->reads, node_id,
                           {trust_root_pem, issuer.subject_b64, issuer.public_key_b64});
}

void SwarmServer::FollowCaLoop() {
  while (true) {
    {
      MutexLock lock(mu_);
      if (cv_.wait_for(lock.native(), kCaFollowPeriod,
                       [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_; }))
        return;
    }
    FollowCa();
  }
}

// Loads the CA the cluster object names now when it changed (a rotation started, was
// replaced or finished): the signer, and the Authorizer's roots (both while rotating).
// Runs on Start's thread, then on ca_follow_ only.
void SwarmServer::FollowCa() {
  store::ClusterEntry cluster = parts_->reads.GetCluster();
  if (!cluster) return;
  const CaMaterial wanted = MaterialOf(cluster->object);
  if (parts_->material_loaded && SameMaterial(wanted, parts_->material)) return;
  StatusOr<ca::RootCa> signer =
      controlapi::LoadRootCa(parts_->cluster_store, wanted.signer_cert_pem);
  if (!signer.ok()) {
    spdlog::warn("root CA: cannot load the signing root: {}", signer.status().ToString());
    return;
  }
  parts_->signing.Set(wanted.trust_root_pem, *std::move(signer), wanted.intermediate_pem);
  parts_->authorizer.SetRootCa(parts_->signing.trusted_bundle_pem());
  if (parts_->material_loaded || !wanted.intermediate_pem.empty()) {
    spdlog::info("root CA: {}", wanted.intermediate_pem.empty()
                                    ? "rotation finished, the new root is the only one trusted"
                                    : "rotation running, new certificates come from the new root");
  }
  parts_->material = wanted;
  parts_->material_loaded = true;
}

logbroker::LogBroker& SwarmServer::log_broker() { return parts_->log_broker; }

void SwarmServer::EndSession(const std::string& node_id) {
  parts_->dispatcher.EndSession(node_id, absl::PermissionDeniedError("node was removed"));
}

}  // namespace capsule::node
