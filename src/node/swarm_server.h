// The swarm port of an active manager: a mutual-TLS gRPC server (transport::GrpcServer) with
// NodeCA (join, renewal), the Dispatcher (sessions, heartbeats), ManagerMembership (managers
// joining: membership_service.h) and the LogBroker (task logs from the nodes), wired to the store:
// tokens come from the cluster object, admitted nodes and liveness go into node objects,
// and a node whose object is gone (removed) is refused by the Authorizer. The CA follows the
// cluster object (root rotation, docs/ca-rotation.md): every second the signer and the
// Authorizer's roots are reloaded when the cluster names another root.
// Built and stopped by node::Manager. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "audit/recorder.h"
#include "ca/root_ca.h"
#include "ca/signing_ca.h"
#include "common/mutex.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "manager/controlapi/node.h"
#include "manager/logbroker/log_broker.h"
#include "node/ca_sync.h"
#include "node/certificates.h"
#include "store/etcd/etcd_client.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

struct SwarmServerConfig {
  std::string listen_addr;   // ip:port to bind (the swarm listen address)
  std::string node_id;       // this manager
  std::string manager_addr;  // this manager's advertised ip:port (told to workers)
  std::string cluster_id;
  CertificatePaths certs;
  std::chrono::milliseconds heartbeat_period{5000};
  std::chrono::seconds cert_validity{90 * 24 * 3600};
  // How often the server re-reads its certificate files (renewal replaces them).
  std::chrono::seconds cert_refresh_interval{60};
  // Where the dispatcher's secret deliveries are recorded (nullptr: not recorded). Must
  // outlive the server.
  audit::Recorder* audit = nullptr;
};

// What ManagerMembership (managers joining) needs: this manager's etcd client and the KEK.
struct MembershipDeps {
  etcd::Client& etcd;
  const SecretBytes& kek;
};

class SwarmServer {
 public:
  // Loads the root CA (certificate and key) from the store, then starts serving.
  // `store`, `reads`, `nodes` and `membership`'s parts must outlive the server.
  static StatusOr<std::unique_ptr<SwarmServer>> Start(const SwarmServerConfig& config,
                                                      store::Store& store, store::ReadModel& reads,
                                                      controlapi::NodeApi& nodes,
                                                      MembershipDeps membership);
  ~SwarmServer();  // Stop()
  SwarmServer(const SwarmServer&) = delete;
  SwarmServer& operator=(const SwarmServer&) = delete;

  // Shuts the dispatcher down, stops the gRPC server, flushes pending status writes.
  void Stop();
  // Closes a removed node's session (PERMISSION_DENIED).
  void EndSession(const std::string& node_id);
  // The nodes holding a session with this manager's dispatcher now. (The liveness left by an
  // earlier run is reconciled by the leader: node/orphaned_nodes.h.)
  std::set<std::string> SessionNodeIds() const;
  // The cluster's CA (loaded from the store, following root rotations); valid while the server
  // lives.
  const ca::SigningCa& root_ca() const;
  // The trust and signing roots now (node/ca_sync.h: this manager's own sync).
  CaView CurrentCaView() const;
  // This manager's own Description.TLSInfo: the root it trusts, the issuer of `cert_pem`.
  Status RecordOwnTlsInfo(const std::string& node_id, const std::string& trust_root_pem,
                          const std::string& cert_pem);
  // The log broker the LogBroker service feeds (cluster-wide task logs); valid while the
  // server lives.
  logbroker::LogBroker& log_broker();

  struct Parts;  // see the .cc

 private:
  explicit SwarmServer(std::unique_ptr<Parts> parts);
  void FollowCa();
  void FollowCaLoop();
  static constexpr std::chrono::seconds kCaFollowPeriod{1};

  std::unique_ptr<Parts> parts_;
  Mutex mu_;
  std::condition_variable cv_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ca_follow_;  // FollowCaLoop
};

}  // namespace capsule::node
