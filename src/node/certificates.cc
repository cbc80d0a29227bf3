#include "node/certificates.h"

#include <sys/stat.h>

#include <cerrno>

#include "ca/node_key.h"
#include "common/clock.h"
#include "common/errno_status.h"

namespace capsule::node {

CertificatePaths CertificatesIn(const std::string& data_root) {
  CertificatePaths p;
  p.dir = data_root + "/swarm/certificates";
  p.root_ca = p.dir + "/swarm-root-ca.crt";
  p.cert = p.dir + "/swarm-node.crt";
  p.key = p.dir + "/swarm-node.key";
  return p;
}

namespace {

ca::NodeCertRequest LocalRequest(const SwarmState& state, const std::string& csr_pem,
                                 std::chrono::seconds validity) {
  ca::NodeCertRequest req;
  req.csr_pem = csr_pem;
  req.node_id = state.node_id;
  req.role = state.role == "manager" ? ca::NodeRole::kManager : ca::NodeRole::kWorker;
  req.cluster_id = state.cluster_id;
  req.ip_sans = {state.advertise_addr};
  req.validity = validity;
  return req;
}

}  // namespace

StatusOr<std::string> SignLocalCertificate(const ca::RootCa& root, const SwarmState& state,
                                           const std::string& csr_pem,
                                           std::chrono::seconds validity, TimePoint now) {
  return root.Sign(LocalRequest(state, csr_pem, validity), now);
}

StatusOr<std::string> SignLocalCertificate(const ca::SigningCa& ca, const SwarmState& state,
                                           const std::string& csr_pem,
                                           std::chrono::seconds validity, TimePoint now) {
  return ca.Sign(LocalRequest(state, csr_pem, validity), now);
}

Status IssueLocalCertificates(const ca::RootCa& root, const SwarmState& state,
                              const CertificatePaths& paths, std::chrono::seconds validity) {
  RETURN_IF_ERROR(EnsureDir(paths.dir, 0700));
  ASSIGN_OR_RETURN(ca::NodeKeyAndCsr key, ca::GenerateNodeKey(state.node_id));
  ASSIGN_OR_RETURN(std::string cert,
                   SignLocalCertificate(root, state, key.csr_pem, validity, RealClock().Now()));
  RETURN_IF_ERROR(ca::WriteNodeKeyFile(paths.key, key.key_pem));
  RETURN_IF_ERROR(ca::WriteCertFile(paths.cert, cert));
  return ca::WriteCertFile(paths.root_ca, root.cert_pem());
}

Status CheckCertificatesPresent(const CertificatePaths& paths) {
  for (const std::string& f : {paths.root_ca, paths.cert, paths.key}) {
    struct stat st;
    if (stat(f.c_str(), &st) != 0) return ErrnoStatus("stat", f, errno);
  }
  return absl::OkStatus();
}

}  // namespace capsule::node
