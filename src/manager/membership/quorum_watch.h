// Whether this manager's store still has a quorum, asked on demand by every manager API call
// (src/node/daemon.cc, Daemon::Manager) and by /info.
//
// Docker proxies every control call, reads included, to the Raft leader; with no leader it
// fails them (after ~10 s) with kNoLeaderMessage (500). Capsule's reads come from the local
// read model, which would go on answering from stale state, so the question must be asked
// before the call, in one place, not per route.
//
// How it decides (the design): `probe` is one linearizable etcd read with a short deadline
// (the manager uses its election client: 500 ms). A linearizable read needs a Raft leader
// with a quorum behind it (ReadIndex), so its success is the proof of quorum; its failure
// alone is not (a starved machine can stall one read). Check():
//   - answers OK at once when a probe succeeded within `fresh_for` (no etcd call: a busy API
//     costs at most one probe per fresh_for);
//   - otherwise probes; success → OK. Failures are retried every `retry` until probes have
//     kept failing for `lost_after` since the first failure of the run; then it answers
//     Unknown kNoLeaderMessage. So the first call after quorum is lost waits about
//     lost_after (2 s, Docker waits ~10 s), every later one a single failed probe (≤ its
//     deadline), and the first probe that succeeds ends the loss: no restart needed.
// Why not etcd's status (leader == 0) or the elector's keepalives: both are about one
// member's view or one lease; the linearizable read is exactly the guarantee the API needs,
// costs nothing while idle (no thread), and a single-manager swarm fails it only when its
// etcd is gone.
//
// Waits go through the injected Clock. Thread-safe; concurrent callers may probe at once.
// `clock` must outlive the object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::membership {

// Docker's answer to every control call without quorum (swarmkit raft.go lostQuorumMessage,
// as the engine prints it through gRPC: code Unknown → HTTP 500).
inline constexpr char kNoLeaderMessage[] =
    "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too "
    "few managers are online. Make sure more than half of the managers are online.";

struct QuorumWatchOptions {
  std::chrono::milliseconds fresh_for{1000};
  std::chrono::milliseconds lost_after{2000};
  std::chrono::milliseconds retry{200};
};

class QuorumWatch {
 public:
  QuorumWatch(const Clock& clock, std::function<Status()> probe, QuorumWatchOptions options = {});
  QuorumWatch(const QuorumWatch&) = delete;
  QuorumWatch& operator=(const QuorumWatch&) = delete;

  // OK, or Unknown kNoLeaderMessage once probes have failed for lost_after (see above).
  // Blocks for at most about lost_after + one probe.
  Status Check();

 private:
  // Records one probe's outcome (taken at `at`); true when quorum counts as lost.
  bool Record(bool ok, SteadyTime at);

  const Clock& clock_;
  const std::function<Status()> probe_;
  const QuorumWatchOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;  // never notified: the retry pause's clock wait
  std::optional<SteadyTime> last_ok_;
  std::optional<SteadyTime> failing_since_;
};

}  // namespace capsule::membership
