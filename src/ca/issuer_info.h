// The root CA's identity as Docker shows it in GET /swarm TLSInfo: the certificate's
// subject and public key, each DER-encoded and base64 (standard, padded).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule::ca {

struct IssuerInfo {
  std::string subject_b64;     // TLSInfo.CertIssuerSubject
  std::string public_key_b64;  // TLSInfo.CertIssuerPublicKey (SubjectPublicKeyInfo)
};

// InvalidArgument if cert_pem is not a certificate.
StatusOr<IssuerInfo> ReadIssuerInfo(std::string_view cert_pem);

}  // namespace capsule::ca
