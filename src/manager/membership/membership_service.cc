#include "manager/membership/membership_service.h"

#include <arpa/inet.h>
#include <grpcpp/server_context.h>
#include <spdlog/spdlog.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crypto/node_seal.h"
#include "transport/grpc_status.h"

namespace capsule::membership {

using transport::ToGrpcStatus;

namespace {

constexpr size_t kMaxPeerUrlBytes = 128;
constexpr char kKekDeliveryName[] = "swarm-kek";

}  // namespace

std::string KekDeliveryAad(const std::string& cluster_id, const std::string& node_id) {
  return crypto::DeliveryAad(kKekDeliveryName, node_id, cluster_id);
}

Status ValidatePeerUrl(const std::string& url) {
  const std::string bad = "invalid store peer URL " + url.substr(0, kMaxPeerUrlBytes);
  constexpr std::string_view kScheme = "https://";
  if (url.size() > kMaxPeerUrlBytes || !url.starts_with(kScheme)) {
    return absl::InvalidArgumentError(bad);
  }
  const std::string hostport = url.substr(kScheme.size());
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return absl::InvalidArgumentError(bad);
  std::string host = hostport.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(hostport.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(bad);
  }
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET6, host.c_str(), buf) == 1) return absl::OkStatus();
    return absl::InvalidArgumentError(bad);
  }
  if (inet_pton(AF_INET, host.c_str(), buf) != 1) return absl::InvalidArgumentError(bad);
  if (host == "0.0.0.0") return absl::InvalidArgumentError(bad);
  return absl::OkStatus();
}

MembershipService::MembershipService(Membership& membership, const ca::Authorizer& authorizer,
                                     const SecretBytes& kek, std::string cluster_id,
                                     ForgetNodeFn forget_node)
    : membership_(membership),
      authorizer_(authorizer),
      kek_(kek),
      cluster_id_(std::move(cluster_id)),
      forget_node_(std::move(forget_node)) {}

grpc::Status MembershipService::AddMember(grpc::ServerContext* ctx,
                                          const api::AddMemberRequest* req,
                                          api::AddMemberResponse* resp) {
  StatusOr<ca::PeerIdentity> who = authorizer_.AuthorizeManager(
      *ctx, ca::ManagerCall::kPromotionStep, ca::RoleRead::kLinearizable);
  if (!who.ok()) {
    spdlog::warn("membership: AddMember refused: {}", who.status().ToString());
    return ToGrpcStatus(who.status());
  }
  return ToGrpcStatus(Add(who->node_id, *req, resp));
}

grpc::Status MembershipService::PromoteMember(grpc::ServerContext* ctx,
                                              const api::PromoteMemberRequest* req,
                                              api::PromoteMemberResponse*) {
  StatusOr<ca::PeerIdentity> who = authorizer_.AuthorizeManager(
      *ctx, ca::ManagerCall::kPromotionStep, ca::RoleRead::kLinearizable);
  if (!who.ok()) return ToGrpcStatus(who.status());
  return ToGrpcStatus(membership_.Promote(req->member_id()));
}

grpc::Status MembershipService::AbortJoin(grpc::ServerContext* ctx,
                                          const api::AbortJoinRequest* req,
                                          api::AbortJoinResponse*) {
  StatusOr<ca::PeerIdentity> who = authorizer_.AuthorizeManager(
      *ctx, ca::ManagerCall::kPromotionStep, ca::RoleRead::kLinearizable);
  if (!who.ok()) return ToGrpcStatus(who.status());
  return ToGrpcStatus(Abort(who->node_id, req->member_id(), req->keep_node()));
}

Status MembershipService::Add(const std::string& node_id, const api::AddMemberRequest& req,
                              api::AddMemberResponse* resp) {
  RETURN_IF_ERROR(ValidatePeerUrl(req.peer_url()));
  RETURN_IF_ERROR(crypto::ValidateDeliveryKey(req.kek_delivery_public_key()));
  if (kek_.empty()) return absl::FailedPreconditionError("this manager holds no KEK");
  // Sealed before the member is added: nothing to roll back if sealing fails.
  ASSIGN_OR_RETURN(std::string sealed,
                   crypto::SealForNode(req.kek_delivery_public_key(),
                                       KekDeliveryAad(cluster_id_, node_id), kek_));
  ASSIGN_OR_RETURN(AddedLearner added, membership_.AddLearner(node_id, req.peer_url()));
  resp->set_member_id(added.member_id);
  resp->set_initial_cluster(std::move(added.initial_cluster));
  resp->set_sealed_kek(std::move(sealed));
  return absl::OkStatus();
}

Status MembershipService::Abort(const std::string& node_id, uint64_t member_id, bool keep_node) {
  if (member_id != 0) RETURN_IF_ERROR(membership_.RemoveJoining(member_id, node_id));
  Status forgotten = forget_node_ && !keep_node ? forget_node_(node_id) : absl::OkStatus();
  if (!forgotten.ok() && !absl::IsNotFound(forgotten)) return forgotten;
  spdlog::info("membership: the join of node {} was rolled back", node_id);
  return absl::OkStatus();
}

}  // namespace capsule::membership
