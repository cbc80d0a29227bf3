// A node's TLS identity key (ECDSA P-256) and the CSR it sends to the CA, plus the files
// they live in (<data-root>/swarm/certificates/). The key is secret: PEM in SecretBytes,
// files 0600, written atomically, read without following symlinks.
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::ca {

struct NodeKeyAndCsr {
  SecretBytes key_pem;  // unencrypted PKCS#8 PEM
  std::string csr_pem;  // PEM "CERTIFICATE REQUEST", signed with the key (SHA-256)
};

// A fresh P-256 key and a CSR for it. The CSR subject is CN=<csr_common_name> (or empty);
// it is informative only: the CA decides the identity and ignores it.
StatusOr<NodeKeyAndCsr> GenerateNodeKey(const std::string& csr_common_name = "");

// A new CSR for an existing key (renewal that keeps the key). Bad key PEM → InvalidArgument.
StatusOr<std::string> CsrForKey(const SecretBytes& key_pem,
                                const std::string& csr_common_name = "");

// OK when key_pem is the private key of cert_pem; else InvalidArgument.
Status KeyMatchesCert(const SecretBytes& key_pem, const std::string& cert_pem);

// Key file: mode 0600, atomic replace (temp + fsync + rename + fsync dir), O_NOFOLLOW.
Status WriteNodeKeyFile(const std::string& path, const SecretBytes& key_pem);
// Reads a key file: missing → NotFound; group/other mode bits, not a regular file or over
// 64 KiB → FailedPrecondition naming the path; not a P-256 private key → InvalidArgument.
StatusOr<SecretBytes> ReadNodeKeyFile(const std::string& path);

// Certificate file (public): mode 0644, atomic replace.
Status WriteCertFile(const std::string& path, const std::string& cert_pem);

}  // namespace capsule::ca
