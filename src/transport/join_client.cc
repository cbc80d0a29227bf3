#include "transport/join_client.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ca/join_token.h"
#include "capsule/ca.grpc.pb.h"
#include "transport/certless_gate.h"
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

// Runs `call` again while the manager answers that too many cert-less calls arrive at once
// (transport::CertlessGate: refused at the headers, so the call did nothing), with a growing
// pause, until `timeout` has passed.
grpc::Status RetryWhileBusy(std::chrono::milliseconds timeout,
                            const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::chrono::milliseconds pause(50);
  while (true) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, std::chrono::duration_cast<std::chrono::milliseconds>(
                         end - std::chrono::steady_clock::now()));
    grpc::Status st = call(ctx);
    if (st.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED ||
        st.error_message() != kCertlessBusyMessage ||
        std::chrono::steady_clock::now() + pause >= end) {
      return st;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
  }
}

}  // namespace

StatusOr<std::string> FetchPinnedRootCa(const std::string& manager_addr, const std::string& token,
                                        std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(ca::JoinToken parsed, ca::ParseJoinToken(token));
  auto stub = api::NodeCA::NewStub(BootstrapChannel(manager_addr));
  api::GetRootCACertificateResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(RetryWhileBusy(timeout, [&](grpc::ClientContext& ctx) {
    return stub->GetRootCACertificate(&ctx, {}, &resp);
  })));
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
  api::IssueNodeCertificateRequest req;
  req.set_csr_pem(csr_pem);
  req.set_token(token);
  req.set_hostname(hostname);
  req.set_advertise_addr(advertise_addr);
  api::IssueNodeCertificateResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(RetryWhileBusy(timeout, [&](grpc::ClientContext& ctx) {
    return stub->IssueNodeCertificate(&ctx, req, &resp);
  })));
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

StatusOr<CaRoots> SyncTls(const std::string& manager_addr, const std::string& root_ca_pem,
                          const ClientIdentity& identity, std::chrono::milliseconds timeout) {
  auto stub = api::NodeCA::NewStub(NodeChannel(manager_addr, root_ca_pem, &identity));
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout);
  api::SyncTLSRequest req;
  req.set_trust_root_pem(root_ca_pem);
  api::SyncTLSResponse resp;
  RETURN_IF_ERROR(FromGrpcStatus(stub->SyncTLS(&ctx, req, &resp)));
  return CaRoots{resp.trust_root_pem(), resp.signing_root_pem()};
}

}  // namespace capsule::transport
