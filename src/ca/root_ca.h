// The cluster's root certificate authority: an ECDSA P-256 key and a self-signed X.509 v3
// certificate (CN "swarm-ca", 20 years), made once at `swarm init`. The manager holding the
// CA role signs node certificates with it; the certificate (public) is handed to joining
// nodes, the key (secret) only ever leaves as PEM in SecretBytes (to be sealed into etcd).
//
// Thread-safe: every const method may be called concurrently (signing is serialised
// internally). Move-only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ca/node_role.h"
#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::ca {

inline constexpr char kRootCommonName[] = "swarm-ca";
inline constexpr std::chrono::hours kRootValidity{20 * 365 * 24 + 5 * 24};  // 20 years
inline constexpr std::chrono::hours kDefaultNodeCertValidity{90 * 24};      // as swarmkit
// Certificates are valid from a little before `now`, so a peer whose clock is slightly
// behind accepts them.
inline constexpr std::chrono::minutes kBackdate{5};

// What the CA is asked to certify. The identity comes from here, never from the CSR
// (whose subject and extensions are ignored); only the CSR's public key is used.
struct NodeCertRequest {
  std::string csr_pem;  // PEM "CERTIFICATE REQUEST", P-256 key, self-signature must verify
  std::string node_id;  // CN and a DNS SAN; capsule::IsValidId
  NodeRole role = NodeRole::kWorker;  // OU and a DNS SAN
  std::string cluster_id;             // O; 1..64 chars of [A-Za-z0-9_-]
  std::vector<std::string> ip_sans;   // literal IPv4/IPv6 addresses (etcd peers need one)
  std::chrono::seconds validity = kDefaultNodeCertValidity;
};

class RootCa {
 public:
  // A new root: fresh P-256 key, self-signed certificate (subject CN=swarm-ca only, as
  // Docker's; the cluster ID goes into node certificates) valid [now - kBackdate,
  // now + kRootValidity), basicConstraints CA:TRUE and keyUsage keyCertSign+cRLSign (both
  // critical), subject key identifier.
  static StatusOr<RootCa> Generate(TimePoint now);
  static StatusOr<RootCa> Generate();  // now = system clock

  // Loads a root from its PEMs (as exported below). Invalid PEM → InvalidArgument; a key
  // that does not belong to the certificate, or a certificate that is not a CA →
  // InvalidArgument.
  static StatusOr<RootCa> FromPem(const std::string& cert_pem, const SecretBytes& key_pem);

  RootCa(RootCa&&) noexcept;
  RootCa& operator=(RootCa&&) noexcept;
  ~RootCa();

  // The certificate as PEM (public; what joining nodes fetch and trust).
  const std::string& cert_pem() const;
  // The private key as unencrypted PKCS#8 PEM. Secret: seal it before storing.
  StatusOr<SecretBytes> KeyPem() const;
  // sha256 of cert_pem() as 64 lower-case hex chars (join tokens carry the same digest in
  // base 36, see join_token.h).
  std::string Digest() const;
  // The certificate's notAfter.
  StatusOr<TimePoint> NotAfter() const;

  // Issues a node certificate: CN = node_id, OU = role name, O = cluster_id, DNS SANs =
  // role name and node_id, IP SANs = ip_sans, EKU serverAuth+clientAuth, KU
  // digitalSignature+keyEncipherment (critical), CA:FALSE, validity [now - kBackdate,
  // now + validity), but never beyond the root's own notAfter. Returns the certificate PEM.
  // Bad CSR (not PEM, bad self-signature, not P-256), bad node/cluster id, bad IP or
  // non-positive validity → InvalidArgument.
  StatusOr<std::string> Sign(const NodeCertRequest& req, TimePoint now) const;
  StatusOr<std::string> Sign(const NodeCertRequest& req) const;  // now = system clock

  // Root rotation: `other_root_pem`'s subject and public key, certified by this root (a CA
  // certificate, as swarmkit's cross-signed intermediate). A node that trusts only this root
  // accepts a certificate of the other root when this intermediate follows it in the chain.
  // Valid [now - kBackdate, min(other's notAfter, this root's notAfter)). Not a CA certificate
  // or not PEM → InvalidArgument.
  StatusOr<std::string> CrossSign(std::string_view other_root_pem, TimePoint now) const;

 private:
  struct State;
  explicit RootCa(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace capsule::ca
