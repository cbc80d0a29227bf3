// The root a manager's etcd member trusts on its peer port follows the swarm's trust root
// (docs/ca-rotation.md, "etcd's peer port"). etcd 3.4 reads --peer-trusted-ca-file once, at
// start (it re-reads only the certificate and key, per handshake), so after a root rotation
// finished a running member would keep trusting the old root. The member is started with a
// copy of the node's trust root (swarm-root-ca.crt) as its trust file; MemberTrustFollower
// checks every period whether that file still equals the trust root and, when not, restarts
// the member with the new copy — one manager at a time, so that the store keeps its quorum:
//   - only while the others keep the quorum without this member (`may_stop`),
//   - holding the cluster-wide turn (`take_turn`: an etcd key under a lease; a manager that
//     dies holding it loses it with its lease),
//   - giving the turn back only once the restarted member serves linearizable reads again
//     (`restart` returns OK); after a failed restart the turn stays taken until its lease
//     ends, so a second member is not stopped beside one that did not come back.
// During the rotation the trust root stays the old one (as Docker) and certificates of the new
// root carry the cross-signed intermediate, so every member accepts both roots' peers without
// a restart; the one rolling restart happens when the old root is dropped.
//
// Tick() is one check (tests drive it); Start() checks every `period` of the injected Clock
// until Stop(). The collaborators must outlive it; they are called on its thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/clock.h"
#include "common/periodic.h"
#include "common/status.h"

namespace capsule::node {

// The etcd key whose holder restarts its member (value: the holder's node ID, under a lease).
inline constexpr char kMemberRestartTurnKey[] = "/capsule/v1/members/trust-restart";
// The lease of that key: longer than a member's restart and catch-up takes.
inline constexpr std::chrono::seconds kMemberRestartTurnTtl{60};

struct MemberTrustDeps {
  // The roots this node trusts now (PEM; "" when unknown: nothing is done).
  std::function<std::string()> wanted;
  // The roots the running member was started with (its trust file's content).
  std::function<std::string()> running;
  // Whether the store keeps its quorum while this member is stopped.
  std::function<bool()> may_stop;
  // Takes the turn → false when another manager holds it.
  std::function<StatusOr<bool>()> take_turn;
  std::function<void()> give_turn;
  // Writes `pem` as the member's trust file, restarts the member, waits until it serves.
  std::function<Status(const std::string& pem)> restart;
};

// How many of the other voters must be reachable before one of `voters` stops its member:
// a quorum of them (for 2 voters, the other one: the store then pauses for the restart, as it
// does for any restart of one of two managers).
size_t OthersNeededToRestart(size_t voters);

class MemberTrustFollower {
 public:
  MemberTrustFollower(MemberTrustDeps deps, const Clock& clock);
  ~MemberTrustFollower();  // Stop()

  // One check → true when it restarted the member. Unavailable while it waits (the quorum
  // would not survive, or another manager holds the turn).
  StatusOr<bool> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  MemberTrustDeps deps_;
  Periodic loop_;
  std::string last_wait_;  // the last reason logged for waiting (logged once per reason)
};

}  // namespace capsule::node
