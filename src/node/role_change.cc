#include "node/role_change.h"

#include <spdlog/spdlog.h>

#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "ca/node_role.h"
#include "common/file_read.h"
#include "node/certificates.h"
#include "transport/join_client.h"

namespace capsule::node {
namespace {}  // namespace

StatusOr<std::string> RenewToRole(const std::string& data_root, const std::string& manager_addr,
                                  const std::string& role_name) {
  const CertificatePaths paths = CertificatesIn(data_root);
  ASSIGN_OR_RETURN(std::string root_ca_pem, ReadWholeFile(paths.root_ca));
  ASSIGN_OR_RETURN(std::string current, ReadWholeFile(paths.cert));
  ASSIGN_OR_RETURN(ca::CertInfo old_info, ca::ParseCertInfo(current));
  ASSIGN_OR_RETURN(SecretBytes key_pem, ca::ReadNodeKeyFile(paths.key));
  ASSIGN_OR_RETURN(std::string csr, ca::CsrForKey(key_pem, old_info.node_id));
  transport::ClientIdentity identity{current, SecretBytes::CopyFrom(key_pem.view())};
  ASSIGN_OR_RETURN(transport::IssuedCertificate issued,
                   transport::RenewCertificate(manager_addr, root_ca_pem, identity, csr,
                                               std::chrono::seconds(10)));
  if (issued.root_ca_pem != root_ca_pem) {
    return absl::FailedPreconditionError("the manager answered with another root CA");
  }
  ASSIGN_OR_RETURN(ca::CertInfo info, ca::ParseCertInfo(issued.cert_pem));
  if (info.node_id != old_info.node_id || info.cluster_id != old_info.cluster_id) {
    return absl::FailedPreconditionError("the renewed certificate names another node (" +
                                         info.node_id + ")");
  }
  if (ca::RoleName(info.role) != role_name) {
    return absl::FailedPreconditionError(std::string("the manager issued a ") +
                                         ca::RoleName(info.role) + " certificate, not a " +
                                         role_name + " one (yet)");
  }
  RETURN_IF_ERROR(ca::KeyMatchesCert(key_pem, issued.cert_pem));
  RETURN_IF_ERROR(ca::WriteCertFile(paths.cert, issued.cert_pem));
  spdlog::info("this node's certificate is a {} certificate now (through {})", role_name,
               manager_addr);
  return issued.cert_pem;
}

std::string CertificateRoleName(const std::string& data_root) {
  StatusOr<std::string> pem = ReadWholeFile(CertificatesIn(data_root).cert);
  if (!pem.ok()) return "";
  StatusOr<ca::CertInfo> info = ca::ParseCertInfo(*pem);
  return info.ok() ? ca::RoleName(info->role) : "";
}

}  // namespace capsule::node
