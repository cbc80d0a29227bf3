// The joining node's side of NodeCA: fetch and pin the swarm root by the digest in the join
// token, then ask for a certificate over a channel verified against that root; and renewal
// with an existing certificate. Blocking calls; thread-safe. The join calls are retried (with
// a growing pause, within the timeout) while the manager answers that too many calls without a
// certificate arrive at once (CertlessGate refused them before they did anything).
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "transport/channels.h"

namespace capsule::transport {

inline constexpr std::chrono::seconds kDefaultJoinTimeout{20};

// What the CA answered (see api/capsule/ca.proto).
struct IssuedCertificate {
  std::string node_id;
  std::string cert_pem;
  std::string root_ca_pem;
  std::string role;  // "swarm-worker" | "swarm-manager"
  std::string cluster_id;
};

// Fetches the root CA from `manager_addr` over an unverified TLS channel and returns it only
// if its sha256 matches the digest in `token`. Malformed token → InvalidArgument("invalid
// join token"); another root → FailedPrecondition("remote CA does not match fingerprint.
// Expected: <digest>"); RPC failure → its gRPC code.
StatusOr<std::string> FetchPinnedRootCa(const std::string& manager_addr, const std::string& token,
                                        std::chrono::milliseconds timeout = kDefaultJoinTimeout);

// The whole join: FetchPinnedRootCa, then IssueNodeCertificate (token + CSR) over a channel
// verified against that root. The manager's refusals come back with their code and message.
StatusOr<IssuedCertificate> JoinSwarm(const std::string& manager_addr, const std::string& token,
                                      const std::string& csr_pem, const std::string& hostname,
                                      const std::string& advertise_addr,
                                      std::chrono::milliseconds timeout = kDefaultJoinTimeout);

// Renews this node's certificate for `csr_pem` (same node ID and role), authenticating with
// `identity` against the pinned `root_ca_pem`.
StatusOr<IssuedCertificate> RenewCertificate(
    const std::string& manager_addr, const std::string& root_ca_pem, const ClientIdentity& identity,
    const std::string& csr_pem, std::chrono::milliseconds timeout = kDefaultJoinTimeout);

// Root rotation: reports the root this node trusts (NodeCA.SyncTLS) and returns the cluster's
// trust root and signing root, authenticating with `identity` against `root_ca_pem`.
struct CaRoots {
  std::string trust_root_pem;
  std::string signing_root_pem;
};
StatusOr<CaRoots> SyncTls(const std::string& manager_addr, const std::string& root_ca_pem,
                          const ClientIdentity& identity, std::chrono::milliseconds timeout);

}  // namespace capsule::transport
