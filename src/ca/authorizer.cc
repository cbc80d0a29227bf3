#include "ca/authorizer.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace capsule::ca {

Authorizer::Authorizer(std::string root_ca_pem, std::string cluster_id, IsNodeRemovedFn is_removed,
                       const Clock& clock)
    : root_ca_pem_(std::move(root_ca_pem)),
      cluster_id_(std::move(cluster_id)),
      is_removed_(std::move(is_removed)),
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
  std::string root;
  {
    std::lock_guard<std::mutex> lock(mu_);
    root = root_ca_pem_;
  }
  StatusOr<CertInfo> info = VerifyAndParseNodeCert(peer_cert_pem, root, clock_.Now());
  if (!info.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("invalid node certificate: ", std::string(info.status().message())));
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

void Authorizer::SetRootCa(std::string root_ca_pem) {
  std::lock_guard<std::mutex> lock(mu_);
  root_ca_pem_ = std::move(root_ca_pem);
}

}  // namespace capsule::ca
