// Whether each manager is reachable (ManagerStatus.Reachability), through the store itself.
//
// Every manager keeps a presence key, <prefix><node ID>, attached to a lease of its own with
// a short TTL that it renews every `period`. A manager counts as reachable while its key
// exists, unreachable once it is gone: the key vanishes when that manager's capsuled dies or
// hangs (no more keepalives), when its etcd member dies (capsuled renews through its own
// member), and when that member is cut off from the quorum (a keepalive needs the etcd
// leader). That is the question Docker answers with Raft's view of its peers (swarmkit
// transport.Active), asked of the one thing every manager shares: the store. The rule is
// ReachabilityOf below; a manager's own entry is always "reachable" (Docker's too).
//
// Why not etcd's own member health: etcd 3.4 has no per-member health call a client can make
// of other members (their client sockets are local unix sockets), and probing peer ports
// would need a peer TLS client beside etcd's own. A lease is etcd's failure detector already.
//
// Each manager also reads the prefix every `period` and keeps the set of present node IDs,
// so answering a `node ls` costs no etcd call while every manager is present. With it, the
// store cluster's member list (member name = node ID): Docker gives a node a ManagerStatus only
// while it is a Raft member (swarmkit controlapi fills it from the member list), so a manager
// node whose member is gone — removed by `swarm init --force-new-cluster` on a survivor, or
// half-way through a demotion — has none and is not counted in /info `Managers` (IsMember). Waits
// go through the injected Clock. Thread-safe; `client` and `clock` must outlive the object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "store/etcd/etcd_client.h"

namespace capsule::membership {

inline constexpr char kPresencePrefix[] = "/capsule/v1/presence/";

// "reachable" for `self` or a present manager, "unreachable" otherwise (the values of
// Docker's ManagerStatus.Reachability).
std::string ReachabilityOf(const std::string& node_id, const std::string& self,
                           const std::set<std::string>& present);

struct PresenceOptions {
  std::string prefix = kPresencePrefix;
  std::string node_id;  // this manager
  // Lease TTL (etcd raises it to its minimum) and renewal period: a dead manager shows as
  // unreachable about TTL + 0.5 s (etcd's expiry check) + period after its last renewal.
  std::chrono::seconds ttl{2};
  std::chrono::milliseconds period{500};
};

class Presence {
 public:
  Presence(etcd::Client& client, const Clock& clock, PresenceOptions options);
  ~Presence();  // Stop()
  Presence(const Presence&) = delete;
  Presence& operator=(const Presence&) = delete;

  // Writes this manager's key and reads the others' once (so the first answers are real),
  // then renews and re-reads every period on its own thread. An etcd error at start is
  // logged and retried on the thread.
  void Start();
  // Ends the thread and revokes the lease: a manager that stops cleanly is unreachable at
  // once. Idempotent.
  void Stop();

  // The node IDs whose presence key existed at the last read.
  std::set<std::string> Present() const;
  // ReachabilityOf with the last read; a manager that read says is absent is looked up once
  // more in etcd (one linearizable read of its key), so one that started a moment ago is not
  // reported unreachable until the next read. When that lookup fails the last read stands.
  bool IsReachable(const std::string& node_id) const;
  std::string Reachability(const std::string& node_id) const;
  // Whether a member of the store cluster (learner or voter) is named `node_id`, as the last
  // read of the member list says; a name it lacks is looked up once more (one MemberList), so
  // a manager that joined a moment ago has its ManagerStatus at once. Until a member list was
  // read (etcd unreachable since the start): true.
  bool IsMember(const std::string& node_id) const;

 private:
  // Reads the member list into members_; false when etcd did not answer.
  bool ReadMembers() const;
  void Run();
  // Keeps the lease and the key (a new lease and key when the old lease is gone); reads.
  void Tick();

  etcd::Client& client_;
  const Clock& clock_;
  const PresenceOptions options_;
  int64_t lease_ = 0;  // the thread's (and Start's, before it runs)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<std::string> present_;
  mutable std::optional<std::set<std::string>> members_;  // member names at the last read
  std::thread thread_;
};

}  // namespace capsule::membership
