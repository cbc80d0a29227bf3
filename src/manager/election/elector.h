// Leader election among the managers, through etcd: one leader key (store::kLeaderKey) that a
// candidate creates in a Txn guarded by create_revision == 0, attached to a lease of its own
// with a short TTL. The winner keeps its lease alive; the key vanishes when the lease expires
// (the leader died, was paused, or lost etcd) or is revoked (the leader resigned), and the
// other candidates, watching the key, campaign again at once.
//
// The leadership a winner gets is the key's create_revision (store::Fence): every write its
// leader work makes carries a compare on it (store::NewFencedStore), so a paused or cut-off old
// leader can never apply a stale decision — its writes fail once anyone else created the key, and
// nothing depends on its own clock for that. The elector's clock only makes it step down
// promptly: it counts its leadership as lost once no keepalive has succeeded for a TTL since
// it was sent (etcd's own count starts later, so it always expires the lease after that).
//
// Callbacks run on the elector's thread, never two at once, and alternate: on_elected(fence),
// then on_lost() once the leadership is over (lease expired or revoked, keepalives failing for
// a TTL, the key changed, StepDown, Stop). on_lost must return only once the leader work
// stopped writing. Stop() resigns: on_lost, then the lease is revoked (the key goes with it),
// so another candidate takes over without waiting for the TTL.
//
// A key left by this candidate's own previous run (same node ID: capsuled restarted, its old
// process is gone) is deleted instead of waited out.
//
// Waits go through the injected Clock (no sleeps, no busy loops). Thread-safe. `client` (best
// with a call timeout below the TTL, so a hung etcd cannot hold the elector past it) and
// `clock` must outlive the elector.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "store/etcd/etcd_client.h"
#include "store/fence.h"

namespace capsule::election {

struct ElectorOptions {
  std::string key;        // the leader key
  std::string candidate;  // this manager's node ID: the key's value while it leads
  // Lease TTL asked of etcd (etcd raises it to its minimum, 1.5 election timeouts rounded up
  // to a second, if it is lower).
  std::chrono::seconds ttl{1};
  // How often the leader renews its lease; well below the TTL, so one lost keepalive does not
  // cost the leadership.
  std::chrono::milliseconds keepalive_period{200};
  // Wait after an etcd error before trying again, and the longest a candidate waits for the
  // key to change before it checks again anyway (a missed watch event costs at most this).
  std::chrono::milliseconds retry_period{250};
  // Asked before each campaign (may be empty): true = let the other candidates go first, i.e.
  // campaign only after defer_period. The manager defers while its own etcd member is the
  // Raft leader of a cluster with other members, so the leader of leader work and the Raft
  // leader tend to be different nodes: a leader node that dies then costs its lease alone, not
  // also a Raft election and the lease extension etcd grants after one.
  std::function<bool()> defer_campaign;
  std::chrono::milliseconds defer_period{300};
};

struct ElectorCallbacks {
  std::function<void(const store::Fence& fence)> on_elected;
  std::function<void()> on_lost;
};

class Elector {
 public:
  Elector(etcd::Client& client, const Clock& clock, ElectorOptions options,
          ElectorCallbacks callbacks);
  ~Elector();  // Stop()
  Elector(const Elector&) = delete;
  Elector& operator=(const Elector&) = delete;

  // Starts campaigning on the elector's thread.
  void Start();
  // Resigns if leading (see the top) and ends the thread. Idempotent.
  void Stop();
  // Leader work found its fence failed: give the leadership up now (on_lost runs on the
  // elector's thread, then this candidate campaigns again). Never blocks; any thread.
  void StepDown();

  bool IsLeader() const;
  // The leader as last seen (this candidate while it leads); "" when none is known.
  std::string Leader() const;

 private:
  struct Term {
    int64_t lease = 0;
    int64_t create_revision = 0;
    SteadyTime deadline;  // leadership counts as lost from here unless a keepalive succeeds
  };

  void Run();
  // One attempt: true if this candidate won (term_ is set). *retry_now: try again at once (a
  // stale key of our own was removed).
  bool Campaign(Term* term, bool* retry_now);
  // Until the key may be free (a watch event on it), Stop, or retry_period.
  void WaitForVacancy(int64_t after_revision);
  // While the term lasts; returns true if Stop ended it (resign), false if it was lost.
  bool Lead(Term& term);
  // Waits until `deadline`, Stop, a StepDown or a key event; false on Stop.
  bool Sleep(SteadyTime deadline);
  void SetLeader(std::string id, bool self);

  etcd::Client& client_;
  const Clock& clock_;
  const ElectorOptions options_;
  const ElectorCallbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool step_down_ = false;
  bool key_changed_ = false;  // a watch event on the key since the elector last looked
  bool leading_ = false;
  std::string leader_;
  std::thread thread_;
};

}  // namespace capsule::election
