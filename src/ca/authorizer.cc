#include "ca/authorizer.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace capsule::ca {

Authorizer::Authorizer(std::string root_ca_pem, std::string cluster_id, IsNodeRemovedFn is_removed,
                       const Clock& clock, StoreRolesFn store_roles)
    : root_ca_pem_(std::move(root_ca_pem)),
      cluster_id_(std::move(cluster_id)),
      is_removed_(std::move(is_removed)),
      store_roles_(std::move(store_roles)),
      clock_(clock) {}

std::string Authorizer::PeerCertPem(const grpc::ServerContextBase& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return "";
  std::vector<grpc::string_ref> values = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (values.size() != 1) return "";
  return std::string(values[0].data(), values[0].size());
}

StatusOr<PeerIdentity> Authorizer::Authorize(const grpc::ServerContextBase& ctx,
                                             std::initializer_list<NodeRole> allowed) const {
  return AuthorizeCert(PeerCertPem(ctx), allowed);
}

StatusOr<PeerIdentity> Authorizer::AuthorizeCert(std::string_view peer_cert_pem,
                                                 std::initializer_list<NodeRole> allowed) const {
  if (peer_cert_pem.empty()) {
    return absl::UnauthenticatedError("this call needs a node certificate of this swarm");
  }
  const TimePoint now = clock_.Now();
  const std::string pem(peer_cert_pem);
  std::string root;
  std::optional<CertInfo> info;
  {
    MutexLock lock(mu_);
    root = root_ca_pem_;
    auto it = verified_.find(pem);
    if (it != verified_.end()) {
      const VerifiedCert& v = it->second;
      if (now >= v.info.not_before && now < v.info.not_after && now >= v.verified_at &&
          now - v.verified_at < kReverifyAfter) {
        info = v.info;
      } else {
        verified_.erase(it);  // verified again below (and refused if it no longer verifies)
      }
    }
  }
  if (!info) {
    StatusOr<CertInfo> checked = VerifyAndParseNodeCert(peer_cert_pem, root, now);
    if (!checked.ok()) {
      return absl::UnauthenticatedError(
          absl::StrCat("invalid node certificate: ", std::string(checked.status().message())));
    }
    info = *std::move(checked);
    MutexLock lock(mu_);
    if (root_ca_pem_ == root) {  // not across a root rotation
      if (verified_.size() >= kMaxVerified) verified_.clear();
      verified_[pem] = VerifiedCert{*info, now};
    }
  }
  if (info->cluster_id != cluster_id_) {
    return absl::UnauthenticatedError("node certificate belongs to another swarm");
  }
  if (is_removed_ && is_removed_(info->node_id)) {
    return absl::PermissionDeniedError(
        absl::StrCat("node ", info->node_id, " was removed from the swarm"));
  }
  if (std::find(allowed.begin(), allowed.end(), info->role) == allowed.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied: unauthorized peer role: ", RoleName(info->role)));
  }
  return PeerIdentity{info->node_id, info->role, info->cluster_id};
}

StatusOr<PeerIdentity> Authorizer::AuthorizeManager(const grpc::ServerContextBase& ctx,
                                                    ManagerCall call, RoleRead read) const {
  return AuthorizeManagerCert(PeerCertPem(ctx), call, read);
}

StatusOr<PeerIdentity> Authorizer::AuthorizeManagerCert(std::string_view peer_cert_pem,
                                                        ManagerCall call, RoleRead read) const {
  ASSIGN_OR_RETURN(PeerIdentity who, AuthorizeCert(peer_cert_pem, {NodeRole::kManager}));
  if (!store_roles_) return who;
  StatusOr<std::optional<StoreRoles>> roles = store_roles_(who.node_id, read);
  if (!roles.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot check the role of node ", who.node_id, ": ",
                                               std::string(roles.status().message())));
  }
  RETURN_IF_ERROR(CheckStoreManager(who.node_id, *roles, call));
  return who;
}

void Authorizer::SetRootCa(std::string root_ca_pem) {
  MutexLock lock(mu_);
  root_ca_pem_ = std::move(root_ca_pem);
  verified_.clear();
}

}  // namespace capsule::ca
