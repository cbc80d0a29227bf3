// Reading node certificates: the identity they carry and whether they chain to the cluster's
// root CA. Authorization (ca/authorizer, later) builds on these: the role a call may use
// comes from a verified certificate, never from the request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ca/node_role.h"
#include "common/clock.h"
#include "common/status.h"

namespace capsule::ca {

struct CertInfo {
  std::string node_id;                // subject CN
  NodeRole role = NodeRole::kWorker;  // subject OU
  std::string cluster_id;             // subject O
  TimePoint not_before;
  TimePoint not_after;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;  // textual (inet_ntop)
};

// Parses a node certificate PEM (does NOT verify it; see VerifyNodeCert). Not PEM, or a
// subject without exactly one CN / OU / O, or an OU that is not a role name → InvalidArgument.
StatusOr<CertInfo> ParseCertInfo(std::string_view cert_pem);

// OK when cert_pem chains to root_cert_pem (X509_verify_cert with only those roots trusted,
// at time `now`). root_cert_pem may be a bundle (every certificate in it is trusted: both roots
// while a root rotation runs); cert_pem may carry intermediates after the leaf (the
// cross-signed new root a rotation appends), which are used but not trusted. Otherwise
// PermissionDenied("certificate verification failed: <reason>"); a root that is not valid PEM →
// InvalidArgument.
Status VerifyNodeCert(std::string_view cert_pem, std::string_view root_cert_pem, TimePoint now);

// Verify, then parse: the identity of a peer presenting cert_pem.
StatusOr<CertInfo> VerifyAndParseNodeCert(std::string_view cert_pem, std::string_view root_cert_pem,
                                          TimePoint now);

}  // namespace capsule::ca
