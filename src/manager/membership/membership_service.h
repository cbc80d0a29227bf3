// ManagerMembership (api/capsule/membership.proto) on a manager: a node holding a MANAGER
// certificate of this swarm becomes an etcd member through it.
//
// Every call: Authorizer::AuthorizeManager(kPromotionStep, kLinearizable) — a manager
// certificate of a node that is, or is being promoted to, a manager in the store, read
// linearizably (a demoted or removed node's old manager certificate: PERMISSION_DENIED;
// ca/manager_check.h).
//   AddMember      Validates the peer URL
//                  (https://<IP>:<port>) and the delivery key, adds the caller as a learner
//                  (Membership::AddLearner) and answers with the member list and the KEK sealed to
//                  the caller's key (crypto::SealForNode, associated data KekDeliveryAad(cluster,
//                  node)).
//   PromoteMember  FAILED_PRECONDITION until the learner has caught up.
//   AbortJoin      Removes the caller's member (its learner, or its own
//                  member already promoted: Membership::RemoveJoining; never another voter)
//                  and the caller's node object (forget_node): a failed join leaves nothing.
//                  keep_node (a promoted worker's join): the node object stays.
//
// A manager certificate already grants control of the whole swarm, so these calls do not
// try to confine a caller to its own member. The KEK is never logged.
// Thread-safe. Collaborators must outlive the service.
#pragma once

#include <functional>
#include <string>

#include "ca/authorizer.h"
#include "capsule/membership.grpc.pb.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "manager/membership/membership.h"

namespace capsule::membership {

// Associated data of the sealed KEK: binds it to this cluster and the receiving node.
std::string KekDeliveryAad(const std::string& cluster_id, const std::string& node_id);

// OK for "https://<IPv4 or [IPv6]>:<port>"; InvalidArgument otherwise.
Status ValidatePeerUrl(const std::string& url);

class MembershipService final : public api::ManagerMembership::Service {
 public:
  // Removes the object of a node whose join failed. NotFound counts as done.
  using ForgetNodeFn = std::function<Status(const std::string& node_id)>;

  MembershipService(Membership& membership, const ca::Authorizer& authorizer,
                    const SecretBytes& kek, std::string cluster_id, ForgetNodeFn forget_node);

  grpc::Status AddMember(grpc::ServerContext* ctx, const api::AddMemberRequest* req,
                         api::AddMemberResponse* resp) override;
  grpc::Status PromoteMember(grpc::ServerContext* ctx, const api::PromoteMemberRequest* req,
                             api::PromoteMemberResponse* resp) override;
  grpc::Status AbortJoin(grpc::ServerContext* ctx, const api::AbortJoinRequest* req,
                         api::AbortJoinResponse* resp) override;

  // The handlers' bodies once the caller is authorized (tests call them directly).
  Status Add(const std::string& node_id, const api::AddMemberRequest& req,
             api::AddMemberResponse* resp);
  Status Abort(const std::string& node_id, uint64_t member_id, bool keep_node = false);

 private:
  Membership& membership_;
  const ca::Authorizer& authorizer_;
  const SecretBytes& kek_;
  const std::string cluster_id_;
  const ForgetNodeFn forget_node_;
};

}  // namespace capsule::membership
