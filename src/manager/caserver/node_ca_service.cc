#include "manager/caserver/node_ca_service.h"

#include <arpa/inet.h>
#include <grpcpp/server_context.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ca/issuer_info.h"
#include "ca/join_token.h"
#include "common/ids.h"
#include "common/log.h"
#include "transport/grpc_status.h"
#include "transport/peer_addr.h"

namespace capsule::caserver {

using transport::ToGrpcStatus;

namespace {

constexpr size_t kMaxCsrBytes = 16 * 1024;
constexpr size_t kMaxFieldBytes = 1024;

// The IP of an advertised "ip", "ip:port" or "[ipv6]:port"; "" if it names no IP.
std::string AdvertisedIp(std::string addr) {
  unsigned char buf[16];
  auto is_ip = [&](const std::string& s) {
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
  };
  if (is_ip(addr)) return addr;
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return "";
  addr.resize(colon);
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') {
    addr = addr.substr(1, addr.size() - 2);
  }
  return is_ip(addr) ? addr : "";
}

}  // namespace

NodeCaService::NodeCaService(const ca::SigningCa& ca, NodeCaOptions options,
                             const TokenSource& tokens, NodeRegistry& registry,
                             const ca::Authorizer& authorizer, const Clock& clock)
    : ca_(ca),
      options_(std::move(options)),
      tokens_(tokens),
      registry_(registry),
      authorizer_(authorizer),
      clock_(clock) {}

grpc::Status NodeCaService::GetRootCACertificate(grpc::ServerContext* ctx,
                                                 const api::GetRootCACertificateRequest*,
                                                 api::GetRootCACertificateResponse* resp) {
  ca::Authorizer::AllowUnauthenticated(*ctx);
  resp->set_certificate_pem(ca_.trust_root_pem());
  return grpc::Status::OK;
}

grpc::Status NodeCaService::IssueNodeCertificate(grpc::ServerContext* ctx,
                                                 const api::IssueNodeCertificateRequest* req,
                                                 api::IssueNodeCertificateResponse* resp) {
  ca::Authorizer::AllowUnauthenticated(*ctx);
  return ToGrpcStatus(Issue(ctx, *req, resp));
}

grpc::Status NodeCaService::RenewNodeCertificate(grpc::ServerContext* ctx,
                                                 const api::RenewNodeCertificateRequest* req,
                                                 api::IssueNodeCertificateResponse* resp) {
  return ToGrpcStatus(Renew(ctx, *req, resp));
}

grpc::Status NodeCaService::SyncTLS(grpc::ServerContext* ctx, const api::SyncTLSRequest* req,
                                    api::SyncTLSResponse* resp) {
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, ca::kAnyNodeRole);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (req->trust_root_pem().size() > kMaxCsrBytes) {
    return ToGrpcStatus(absl::InvalidArgumentError("trust root too large"));
  }
  StatusOr<ca::IssuerInfo> issuer =
      ca::LeafIssuerInfo(ca::Authorizer::PeerCertPem(*ctx), ca_.trusted_bundle_pem());
  if (issuer.ok()) {
    Status s = registry_.RecordTlsInfo(
        who->node_id, {req->trust_root_pem(), issuer->subject_b64, issuer->public_key_b64});
    if (!s.ok())
      spdlog::warn("NodeCA: TLS info of node {} not kept: {}", who->node_id, s.ToString());
  }
  resp->set_trust_root_pem(ca_.trust_root_pem());
  resp->set_signing_root_pem(ca_.signing_root_pem());
  return grpc::Status::OK;
}

Status NodeCaService::Issue(grpc::ServerContext* ctx, const api::IssueNodeCertificateRequest& req,
                            api::IssueNodeCertificateResponse* resp) {
  // Both tokens are compared every time (constant time each), so timing tells nothing about
  // which one, if any, matched.
  JoinTokens current = tokens_.CurrentTokens();
  bool is_worker = !current.worker.empty() && ca::JoinTokenMatches(req.token(), current.worker);
  bool is_manager = !current.manager.empty() && ca::JoinTokenMatches(req.token(), current.manager);
  if (is_worker == is_manager) {  // neither (or, impossibly, both)
    spdlog::warn("NodeCA: join refused from {}: invalid join token", ctx->peer());
    return absl::InvalidArgumentError(kInvalidJoinTokenMessage);
  }
  ca::NodeRole role = is_manager ? ca::NodeRole::kManager : ca::NodeRole::kWorker;
  if (req.csr_pem().size() > kMaxCsrBytes || req.hostname().size() > kMaxFieldBytes ||
      req.advertise_addr().size() > kMaxFieldBytes) {
    return absl::InvalidArgumentError("join request too large");
  }
  ASSIGN_OR_RETURN(std::string peer_ip, transport::PeerIp(ctx->peer()));
  std::string node_id = NewId();
  std::vector<std::string> ip_sans = {peer_ip};
  // A manager serves the etcd peer port on its advertised IP, and its peers dial that IP and
  // verify it in the certificate. The manager token already grants control of the swarm, so
  // the claimed address is trusted for managers (a worker's SAN stays the observed address).
  const std::string advertised = AdvertisedIp(req.advertise_addr());
  if (role == ca::NodeRole::kManager && !advertised.empty() && advertised != peer_ip) {
    ip_sans.push_back(advertised);
  }
  ASSIGN_OR_RETURN(std::string cert, SignFor(req.csr_pem(), node_id, role, ip_sans));
  RETURN_IF_ERROR(
      registry_.Register(NewNode{node_id, role, req.hostname(), req.advertise_addr(), peer_ip}));
  spdlog::info("NodeCA: node {} joined as {} from {}", node_id, ca::RoleName(role), peer_ip);
  FillResponse(node_id, role, std::move(cert), resp);
  return absl::OkStatus();
}

Status NodeCaService::Renew(grpc::ServerContext* ctx, const api::RenewNodeCertificateRequest& req,
                            api::IssueNodeCertificateResponse* resp) {
  ASSIGN_OR_RETURN(ca::PeerIdentity who, authorizer_.Authorize(*ctx, ca::kAnyNodeRole));
  if (req.csr_pem().size() > kMaxCsrBytes) return absl::InvalidArgumentError("CSR too large");
  ASSIGN_OR_RETURN(std::string peer_ip, transport::PeerIp(ctx->peer()));
  // The role is the node object's (a promotion or demotion changes it), not the old
  // certificate's.
  ca::NodeRole role = who.role;
  std::vector<std::string> ip_sans = {peer_ip};
  if (std::optional<caserver::RenewalFacts> facts = registry_.RenewalOf(who.node_id)) {
    role = facts->role;
    if (role == ca::NodeRole::kManager && !facts->advertise_ip.empty() &&
        facts->advertise_ip != peer_ip) {
      ip_sans.push_back(facts->advertise_ip);
    }
  }
  ASSIGN_OR_RETURN(std::string cert, SignFor(req.csr_pem(), who.node_id, role, ip_sans));
  spdlog::info("NodeCA: renewed the certificate of node {} ({})", who.node_id, ca::RoleName(role));
  FillResponse(who.node_id, role, std::move(cert), resp);
  return absl::OkStatus();
}

StatusOr<std::string> NodeCaService::SignFor(const std::string& csr_pem, const std::string& node_id,
                                             ca::NodeRole role,
                                             std::vector<std::string> ip_sans) const {
  ca::NodeCertRequest sign;
  sign.csr_pem = csr_pem;
  sign.node_id = node_id;
  sign.role = role;
  sign.cluster_id = options_.cluster_id;
  sign.ip_sans = std::move(ip_sans);
  sign.validity = options_.cert_validity;
  return ca_.Sign(sign, clock_.Now());
}

void NodeCaService::FillResponse(const std::string& node_id, ca::NodeRole role,
                                 std::string cert_pem,
                                 api::IssueNodeCertificateResponse* resp) const {
  resp->set_node_id(node_id);
  resp->set_certificate_pem(std::move(cert_pem));
  resp->set_root_ca_pem(ca_.trust_root_pem());
  resp->set_role(ca::RoleName(role));
  resp->set_cluster_id(options_.cluster_id);
}

}  // namespace capsule::caserver
