// NodeCA (api/capsule/ca.proto) on a manager: hands out the root CA, admits nodes that
// present a current join token, and renews node certificates.
//
//   GetRootCACertificate  unauthenticated → the root PEM
//   IssueNodeCertificate  unauthenticated; the token is the credential. The role is the one
//                         of the token that matched (worker/manager, both compared in constant
//                         time every call); node ID = capsule::NewId(); IP SAN = the caller's
//                         observed address (a manager's also its advertised IP: its etcd
//                         peers dial and verify that). Wrong token → INVALID_ARGUMENT "A valid join
//                         token is necessary to join this cluster"; bad CSR → INVALID_ARGUMENT;
//                         registry failure → its code.
//   RenewNodeCertificate  worker or manager certificate (Authorizer); same node ID as the
//                         presented certificate, the role the registry says the node has now
//                         (NodeRegistry::RenewalOf: a promotion or demotion changes it; a
//                         manager's also names its advertised IP), else the certificate's.
//   SyncTLS               worker or manager certificate; records the caller's TLSInfo
//                         (NodeRegistry::RecordTlsInfo) and answers the trust and signing roots.
// Certificates come from the SigningCa: during a root rotation from the new root, with the
// cross-signed intermediate after the leaf; root_ca_pem and GetRootCACertificate answer the
// trust root (the old root until the rotation is done, as swarmkit).
//
// Thread-safe (sync gRPC service; calls run concurrently). Collaborators must outlive it.
#pragma once

#include <string>
#include <vector>

#include "ca/authorizer.h"
#include "ca/root_ca.h"
#include "ca/signing_ca.h"
#include "capsule/ca.grpc.pb.h"
#include "common/clock.h"
#include "manager/caserver/ca_interfaces.h"

namespace capsule::caserver {

inline constexpr char kInvalidJoinTokenMessage[] =
    "A valid join token is necessary to join this cluster";

struct NodeCaOptions {
  std::string cluster_id;
  std::chrono::seconds cert_validity = ca::kDefaultNodeCertValidity;
};

class NodeCaService final : public api::NodeCA::Service {
 public:
  NodeCaService(const ca::SigningCa& ca, NodeCaOptions options, const TokenSource& tokens,
                NodeRegistry& registry, const ca::Authorizer& authorizer, const Clock& clock);

  grpc::Status GetRootCACertificate(grpc::ServerContext* ctx,
                                    const api::GetRootCACertificateRequest* req,
                                    api::GetRootCACertificateResponse* resp) override;
  grpc::Status IssueNodeCertificate(grpc::ServerContext* ctx,
                                    const api::IssueNodeCertificateRequest* req,
                                    api::IssueNodeCertificateResponse* resp) override;
  grpc::Status RenewNodeCertificate(grpc::ServerContext* ctx,
                                    const api::RenewNodeCertificateRequest* req,
                                    api::IssueNodeCertificateResponse* resp) override;
  grpc::Status SyncTLS(grpc::ServerContext* ctx, const api::SyncTLSRequest* req,
                       api::SyncTLSResponse* resp) override;

 private:
  Status Issue(grpc::ServerContext* ctx, const api::IssueNodeCertificateRequest& req,
               api::IssueNodeCertificateResponse* resp);
  Status Renew(grpc::ServerContext* ctx, const api::RenewNodeCertificateRequest& req,
               api::IssueNodeCertificateResponse* resp);
  StatusOr<std::string> SignFor(const std::string& csr_pem, const std::string& node_id,
                                ca::NodeRole role, std::vector<std::string> ip_sans) const;
  void FillResponse(const std::string& node_id, ca::NodeRole role, std::string cert_pem,
                    api::IssueNodeCertificateResponse* resp) const;

  const ca::SigningCa& ca_;
  const NodeCaOptions options_;
  const TokenSource& tokens_;
  NodeRegistry& registry_;
  const ca::Authorizer& authorizer_;
  const Clock& clock_;
};

}  // namespace capsule::caserver
