#include "transport/join_client.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "ca/join_token.h"
#include "capsule/ca.grpc.pb.h"
#include "transport/grpc_status.h"

namespace capsule::transport {
namespace {

void SetDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

IssuedCertificate FromResponse(const api::IssueNodeCertificateResponse& r) {
  return IssuedCertificate{r.node_id(), r.certificate_pem(), r.root_ca_pem(), r.role(),
                           r.cluster_id()};
}

}  // namespace

StatusOr<std::string> FetchPinnedRootCa(const std::string& manager_addr, const std::string& token,
                                        std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ca::JoinToken parsed, ca::ParseJoinToken(token));
  auto stub = api::NodeCA::NewStub(BootstrapChannel(manager_addr));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout);
  api::GetRootCACertificateResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub->GetRootCACertificate(&ctx, {}, &resp)));
  if (!ca::JoinTokenMatchesRoot(parsed, resp.certificate_pem())) {
    return absl::FailedPreconditionError(
        absl::StrCat("remote CA does not match fingerprint. Expected: ", parsed.root_digest));
  }
  return resp.certificate_pem();
}

StatusOr<IssuedCertificate> JoinSwarm(const std::string& manager_addr, const std::string& token,
                                      const std::string& csr_pem, const std::string& hostname,
                                      const std::string& advertise_addr,
                                      std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(std::string root, FetchPinnedRootCa(manager_addr, token, timeout));
  auto stub = api::NodeCA::NewStub(NodeChannel(manager_addr, root, nullptr));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout);
  api::IssueNodeCertificateRequest req;
  req.set_csr_pem(csr_pem);
  req.set_token(token);
  req.set_hostname(hostname);
  req.set_advertise_addr(advertise_addr);
  api::IssueNodeCertificateResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub->IssueNodeCertificate(&ctx, req, &resp)));
  if (resp.root_ca_pem() != root) {
    return absl::FailedPreconditionError("the CA answered with a different root than it serves");
  }
  return FromResponse(resp);
}

StatusOr<IssuedCertificate> RenewCertificate(const std::string& manager_addr,
                                             const std::string& root_ca_pem,
                                             const ClientIdentity& identity,
                                             const std::string& csr_pem,
                                             std::chrono::milliseconds timeout) {
  auto stub = api::NodeCA::NewStub(NodeChannel(manager_addr, root_ca_pem, &identity));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout);
  api::RenewNodeCertificateRequest req;
  req.set_csr_pem(csr_pem);
  api::IssueNodeCertificateResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub->RenewNodeCertificate(&ctx, req, &resp)));
  return FromResponse(resp);
}

}  // namespace capsule::transport
