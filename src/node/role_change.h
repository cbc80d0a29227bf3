// This node's side of `node promote|demote` (issue 12 part 5; the leader's side is
// node/role_reconciler.h). The dispatcher sends a node the role the swarm wants it to have
// (SessionMessage.node_role); the daemon's role watch (Daemon::WatchRole) compares it with the
// role it runs as, every kRoleWatchPeriod:
//
//   promotion (a worker told "manager"): renew the certificate through the session's manager
//     (the CA issues a manager certificate, naming the advertised IP, while the desired role is
//     manager), then JoinAsManager(promotion = true) exactly as a manager join (learner,
//     sealed KEK over mutual TLS, start, promotion to voter, read model, election, swarm port,
//     ManagerStatus.Addr); the reconciler then writes role = manager. The agent is kept: its
//     tasks run on untouched. A failure leaves the worker as it was (its certificate is a
//     manager's now, which a worker may use) and is retried after kRoleRetryAfter.
//   demotion (a manager told "worker"): once its etcd member is gone (the leader removed it,
//     Manager::MemberRemoved; or the member no longer answers for kRemovedAfter), the Manager is
//     stopped and its etcd dir, KEK and autolock box removed (Manager::Retire); the agent is
//     kept and fails over to another manager of its list; the certificate is renewed there
//     (a worker's once the reconciler wrote role = worker) and the state saved as a worker.
//   a worker still holding a manager certificate after a demotion: renewed to a worker's.
//   demoted while it was down (its member was removed, so its Manager does not start:
//     kMemberRemovedMessage): it asks another manager of its list for a worker's certificate,
//     which the CA issues only when its node object is a worker; then its manager state goes
//     (etcd dir, KEK, autolock box) and it starts as a worker (Daemon::RetireRemovedManager).
//     Refused (still a manager in the store): asked again after 5 s, doubling up to 60 s.
//
// The old manager certificate cannot bring the node back onto the peer port: its member ID
// is removed (etcd refuses a removed member's peer traffic), and a new member needs
// ManagerMembership.AddMember, which the Authorizer grants only to a manager's certificate of a
// node whose object is a manager or is to become one (ca/manager_check.h).
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace capsule::node {

inline constexpr std::chrono::milliseconds kRoleWatchPeriod{250};
inline constexpr std::chrono::seconds kRoleRetryAfter{5};
inline constexpr std::chrono::seconds kRemovedAfter{5};

// Renews this node's certificate (the key on disk, a fresh CSR) through `manager_addr`
// (NodeCA.RenewNodeCertificate over mutual TLS with the current certificate) and writes it,
// if it has role `role_name` (ca::kManagerRoleName | ca::kWorkerRoleName) and matches the key;
// FailedPrecondition (nothing written) when the CA issued another role (not yet changed).
// → the new certificate PEM.
StatusOr<std::string> RenewToRole(const std::string& data_root, const std::string& manager_addr,
                                  const std::string& role_name);

// The OU of this node's certificate on disk ("" when unreadable).
std::string CertificateRoleName(const std::string& data_root);

}  // namespace capsule::node
