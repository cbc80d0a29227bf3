// Authorization for every gRPC call on the swarm port, in one place. Each handler starts
// with exactly one of:
//   ASSIGN_OR_RETURN(PeerIdentity who, authorizer.AuthorizeManager(*ctx));  // manager-only
//   ASSIGN_OR_RETURN(PeerIdentity who, authorizer.Authorize(*ctx, kAnyNodeRole));
//   Authorizer::AllowUnauthenticated(*ctx);  // only NodeCA.GetRootCACertificate / Issue...
// The server accepts certificate-less TLS clients (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY,
// so a joining node can reach the CA), hence Authorize itself refuses them.
//
// The caller's identity comes only from its certificate (the `x509_pem_cert` property of the
// TLS auth context), which must chain to the cluster's root, name this cluster (O) and a node
// that has not been removed. Codes:
//   no certificate / not verifiable / other cluster / unparsable → UNAUTHENTICATED
//   removed node, role not allowed                               → PERMISSION_DENIED
// A manager-only call (AuthorizeManager) also needs the node to be a manager in the store
// (ca/manager_check.h): a demoted or removed manager's old certificate is refused
// (PERMISSION_DENIED); a store that cannot answer refuses too (UNAVAILABLE).
//
// Thread-safe; SetRootCa may be called while calls are being authorized.
#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ca/cert_info.h"
#include "ca/manager_check.h"
#include "ca/node_role.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"

namespace grpc {
class ServerContextBase;
}

namespace capsule::ca {

// Who is calling, as proven by its certificate.
struct PeerIdentity {
  std::string node_id;
  NodeRole role = NodeRole::kWorker;
  std::string cluster_id;
};

inline constexpr std::initializer_list<NodeRole> kAnyNodeRole = {NodeRole::kWorker,
                                                                 NodeRole::kManager};

class Authorizer {
 public:
  // Returns true when node_id was removed from the swarm (its certificate must stop working
  // at once, before it expires). Called on every authorized call; must be cheap and
  // thread-safe.
  using IsNodeRemovedFn = std::function<bool(const std::string& node_id)>;
  // The node object's roles as the store holds them, read as `read` says (nullopt: no such
  // node); an error when the store cannot say. Called on every manager-only call.
  using StoreRolesFn =
      std::function<StatusOr<std::optional<StoreRoles>>(const std::string& node_id, RoleRead read)>;

  // `clock` must outlive the Authorizer. `store_roles` empty: manager-only calls go by the
  // certificate's role alone (tests that have no store).
  Authorizer(std::string root_ca_pem, std::string cluster_id, IsNodeRemovedFn is_removed,
             const Clock& clock, StoreRolesFn store_roles = {});

  // The one check: see the file comment.
  StatusOr<PeerIdentity> Authorize(const grpc::ServerContextBase& ctx,
                                   std::initializer_list<NodeRole> allowed) const;

  // The same check on a certificate already taken from a connection ("" = none). Exposed
  // for tests and for callers that are not gRPC handlers.
  StatusOr<PeerIdentity> AuthorizeCert(std::string_view peer_cert_pem,
                                       std::initializer_list<NodeRole> allowed) const;

  // The check of every manager-only call: Authorize(ctx, {NodeRole::kManager}), then the
  // node the certificate names must be a manager in the store (CheckStoreManager with `call`,
  // the node read as `read` says; ca/manager_check.h).
  StatusOr<PeerIdentity> AuthorizeManager(const grpc::ServerContextBase& ctx,
                                          ManagerCall call = ManagerCall::kManagersOnly,
                                          RoleRead read = RoleRead::kReadModel) const;
  StatusOr<PeerIdentity> AuthorizeManagerCert(std::string_view peer_cert_pem,
                                              ManagerCall call = ManagerCall::kManagersOnly,
                                              RoleRead read = RoleRead::kReadModel) const;

  // Marks a handler that deliberately needs no certificate. Does nothing; it exists so every
  // handler visibly states its policy (grep for it: only the two NodeCA join calls use it).
  static void AllowUnauthenticated(const grpc::ServerContextBase&) {}

  // The certificate the peer presented and the TLS layer verified, or "" when it presented
  // none (or the connection is not TLS).
  static std::string PeerCertPem(const grpc::ServerContextBase& ctx);

  // Replaces the trusted root (root rotation).
  void SetRootCa(std::string root_ca_pem);
  const std::string& cluster_id() const { return cluster_id_; }

 private:
  // Certificates that verified against the current root, by their PEM: verifying (PEM and
  // ASN.1 decoding, a signature check) on every heartbeat and status report was a quarter of
  // the manager's CPU with 200 workers. An entry is used only inside the certificate's
  // validity and for kReverifyAfter; a root change drops them all. Removal and role are
  // checked on every call regardless.
  struct VerifiedCert {
    CertInfo info;
    TimePoint verified_at;
  };
  static constexpr size_t kMaxVerified = 4096;
  static constexpr std::chrono::seconds kReverifyAfter{60};

  mutable Mutex mu_;
  std::string root_ca_pem_ ABSL_GUARDED_BY(mu_);
  mutable std::unordered_map<std::string, VerifiedCert> verified_ ABSL_GUARDED_BY(mu_);
  const std::string cluster_id_;
  const IsNodeRemovedFn is_removed_;
  const StoreRolesFn store_roles_;
  const Clock& clock_;
};

}  // namespace capsule::ca
