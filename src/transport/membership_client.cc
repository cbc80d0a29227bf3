#include "transport/membership_client.h"

#include <grpcpp/client_context.h>

#include <thread>

#include "capsule/membership.grpc.pb.h"
#include "transport/grpc_status.h"

namespace capsule::transport {

struct MembershipClient::Stub {
  std::unique_ptr<api::ManagerMembership::Stub> stub;
};

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Left(Clock::time_point end) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()));
}

// Runs `call` until it succeeds, fails with something other than FailedPrecondition (the
// retryable answer of both calls), or `timeout` passes (then the last error).
Status RetryWhilePrecondition(std::chrono::milliseconds timeout,
                              const std::function<grpc::Status(grpc::ClientContext&)>& call) {
  const auto end = Clock::now() + timeout;
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + Left(end));
    Status s = FromGrpcStatus(call(ctx));
    if (s.ok() || !absl::IsFailedPrecondition(s) || Left(end).count() < 200) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

MembershipClient::MembershipClient(const std::string& manager_addr, const std::string& root_ca_pem,
                                   const ClientIdentity& identity)
    : stub_(std::make_shared<Stub>(Stub{
          api::ManagerMembership::NewStub(NodeChannel(manager_addr, root_ca_pem, &identity))})) {}

StatusOr<AddedMember> MembershipClient::AddMember(const std::string& peer_url,
                                                  const std::string& kek_delivery_public_key,
                                                  std::chrono::milliseconds timeout) {
  api::AddMemberRequest req;
  req.set_peer_url(peer_url);
  req.set_kek_delivery_public_key(kek_delivery_public_key);
  api::AddMemberResponse resp;
  RETURN_IF_ERROR(RetryWhilePrecondition(
      timeout, [&](grpc::ClientContext& ctx) { return stub_->stub->AddMember(&ctx, req, &resp); }));
  return AddedMember{resp.member_id(), resp.initial_cluster(), resp.sealed_kek()};
}

Status MembershipClient::PromoteMember(uint64_t member_id, std::chrono::milliseconds timeout) {
  api::PromoteMemberRequest req;
  req.set_member_id(member_id);
  api::PromoteMemberResponse resp;
  return RetryWhilePrecondition(timeout, [&](grpc::ClientContext& ctx) {
    return stub_->stub->PromoteMember(&ctx, req, &resp);
  });
}

Status MembershipClient::AbortJoin(uint64_t member_id, std::chrono::milliseconds timeout,
                                   bool keep_node) {
  api::AbortJoinRequest req;
  req.set_member_id(member_id);
  req.set_keep_node(keep_node);
  api::AbortJoinResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  return FromGrpcStatus(stub_->stub->AbortJoin(&ctx, req, &resp));
}

}  // namespace capsule::transport
