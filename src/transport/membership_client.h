// The joining manager's side of ManagerMembership (api/capsule/membership.proto): blocking
// calls over mutual TLS with the node's new manager certificate, verified against the pinned
// swarm root. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "transport/channels.h"

namespace capsule::transport {

struct AddedMember {
  uint64_t member_id = 0;
  std::string initial_cluster;
  std::string sealed_kek;  // sealed to the key sent in the request; opened by the caller
};

class MembershipClient {
 public:
  MembershipClient(const std::string& manager_addr, const std::string& root_ca_pem,
                   const ClientIdentity& identity);

  // Retries while etcd answers that another join's learner is still pending (one learner
  // at a time), within `timeout`.
  StatusOr<AddedMember> AddMember(const std::string& peer_url,
                                  const std::string& kek_delivery_public_key,
                                  std::chrono::milliseconds timeout);
  // Retries while the learner has not caught up (FailedPrecondition), within `timeout`.
  Status PromoteMember(uint64_t member_id, std::chrono::milliseconds timeout);
  Status AbortJoin(uint64_t member_id, std::chrono::milliseconds timeout, bool keep_node = false);

 private:
  struct Stub;
  std::shared_ptr<Stub> stub_;
};

}  // namespace capsule::transport
