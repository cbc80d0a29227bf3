// This node's TLS identity on disk, under <data-root>/swarm/certificates/ (0700):
//   swarm-root-ca.crt  the cluster's root CA certificate
//   swarm-node.crt     this node's certificate (CN node ID, OU role, O cluster ID, IP SAN)
//   swarm-node.key     its private key (0600)
// The etcd member's peer listener uses these for mutual TLS.
#pragma once

#include <chrono>
#include <string>

#include "ca/root_ca.h"
#include "ca/signing_ca.h"
#include "common/status.h"
#include "node/swarm_state.h"

namespace capsule::node {

struct CertificatePaths {
  std::string dir;
  std::string root_ca;
  std::string cert;
  std::string key;
};

CertificatePaths CertificatesIn(const std::string& data_root);

// Signs a certificate for this node with `root` for the key in `csr_pem`: CN node ID, OU the
// role in state, O cluster ID, IP SAN = advertise address, valid for `validity` from `now`.
StatusOr<std::string> SignLocalCertificate(const ca::RootCa& root, const SwarmState& state,
                                           const std::string& csr_pem,
                                           std::chrono::seconds validity, TimePoint now);

// The same, from the cluster's SigningCa (during a root rotation: the new root, with the
// cross-signed intermediate after the leaf).
StatusOr<std::string> SignLocalCertificate(const ca::SigningCa& ca, const SwarmState& state,
                                           const std::string& csr_pem,
                                           std::chrono::seconds validity, TimePoint now);

// Issues this node's certificate (SignLocalCertificate) with a fresh key, and writes all three
// files.
Status IssueLocalCertificates(const ca::RootCa& root, const SwarmState& state,
                              const CertificatePaths& paths, std::chrono::seconds validity);

// OK if all three files exist (a node that is in a swarm has them).
Status CheckCertificatesPresent(const CertificatePaths& paths);

}  // namespace capsule::node
