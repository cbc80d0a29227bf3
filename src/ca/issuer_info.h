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

// The issuer of a node certificate (the first certificate of `chain_pem`), as Docker shows it in
// a node's Description.TLSInfo: the leaf's issuer name, and the public key of the certificate
// that signed it, found among the certificates after the leaf and those of `candidates_pem`
// (the roots it may come from). Not PEM → InvalidArgument; no candidate signed it → NotFound.
StatusOr<IssuerInfo> LeafIssuerInfo(std::string_view chain_pem, std::string_view candidates_pem);

// True when the first certificate of `chain_pem` was signed by the key of `root_pem` (its
// first certificate) itself, not through an intermediate.
bool SignedDirectlyBy(std::string_view chain_pem, std::string_view root_pem);

}  // namespace capsule::ca
