// A node that joined with the manager token (its manager certificate is on disk) becomes a
// manager of the existing swarm:
//   1. AddMember (ManagerMembership, mutual TLS with the new manager certificate, through the
//      manager it joined through): its etcd member is added as a learner, and the KEK comes
//      back sealed to a one-time X25519 key made here (never in clear in any buffer on the
//      wire, never logged); it is opened straight into locked memory.
//   2. Manager::Join: KEK file, etcd member started with the existing cluster, promotion
//      (PromoteMember, retried until etcd says the learner caught up), read model, swarm port.
//   3. Any failure after step 1 → AbortJoin: the learner and the node object are removed on
//      the existing manager, and everything local (etcd dir, KEK, certificates) is removed.
//      If this node dies before it can abort, the leader-work manager's LearnerSweeper
//      removes the learner later (learner_sweeper.h).
#pragma once

#include <memory>

#include "common/status.h"
#include "node/manager.h"
#include "node/swarm_state.h"

namespace capsule::node {

// `promotion` (`node promote` of this worker, node/role_change.h): the same steps, but a
// failure keeps the node object and this node's certificates (it stays a worker and tries
// again later); only the member, the etcd dir and the KEK are rolled back.
StatusOr<std::unique_ptr<Manager>> JoinAsManager(const ManagerConfig& config,
                                                 const SwarmState& state, bool promotion = false);

}  // namespace capsule::node
