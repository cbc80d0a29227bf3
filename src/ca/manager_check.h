// The second half of every manager-only call's authorization on the swarm port. A manager
// certificate (OU `swarm-manager`) is not enough: a demoted or removed manager keeps its old
// certificate until it expires. The node the certificate names (its CN) must also be a manager
// in the store:
//
//   no node object (removed, or never admitted)       → PERMISSION_DENIED "... was removed ..."
//   demotion pending (role manager, desired worker)   → PERMISSION_DENIED "... is not a manager"
//   kManagersOnly:   role manager                     → OK
//   kPromotionStep:  role manager, or desired manager → OK (a promoted worker's join: its
//                    ManagerMembership AddMember / PromoteMember / AbortJoin)
//   anything else                                     → PERMISSION_DENIED "... is not a manager"
//
// Use it through Authorizer::AuthorizeManager (ca/authorizer.h), which checks the certificate
// first and reads the node object through the Authorizer's StoreRolesFn. A new manager-only
// call (e.g. a manager-to-manager route) needs only:
//   ASSIGN_OR_RETURN(PeerIdentity who, authorizer.AuthorizeManager(*ctx));
// Where the node object is read from (RoleRead) is the caller's choice:
//   kReadModel     this manager's read model: no I/O, may lag the store by the watch delay
//                  (milliseconds; longer while the watch reconnects). Enough for calls that
//                  change nothing in the store (ListSessions, log routes): the old manager was
//                  a full manager until its demotion, so a window that short gives it nothing.
//   kLinearizable  an etcd read through this manager's member: for calls that change who
//                  holds the store (ManagerMembership). They are rare and already wait on etcd,
//                  and a stale read there could let a just-demoted node add itself back as a
//                  learner; without quorum the read fails, so the call is refused (UNAVAILABLE).
// CheckStoreManager itself is pure; no I/O.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace capsule::ca {

// A node object's roles, as stored (objects/objects.h Node: `role` is the observed role,
// `desired_role` is set only while it differs).
struct StoreRoles {
  std::string role;          // "manager" | "worker"
  std::string desired_role;  // "" | "manager" | "worker"
};

enum class ManagerCall {
  kManagersOnly,   // the caller must be a manager now
  kPromotionStep,  // part of becoming a manager: a pending promotion is enough
};

enum class RoleRead { kReadModel, kLinearizable };

// nullopt `node`: the store has no such node.
Status CheckStoreManager(const std::string& node_id, const std::optional<StoreRoles>& node,
                         ManagerCall call);

}  // namespace capsule::ca
