// The orchestrator and scheduler of a manager (leader work): reacts to read-model changes
// and writes tasks through the Store so that the tasks match the services (see planner.h for
// what one pass does). Single manager for now; Start/Stop are what a leader election would
// call when this manager gains or loses leadership — all state that matters is in the store
// (the in-memory restart history and delays only refine timing).
//
// Threading: Start() subscribes to the read model and runs passes on one worker thread,
// woken by every applied change and by a periodic tick (restart delays, update delays,
// timeouts). A pass's writes go to the store in a few Store::WriteBatch calls, which the etcd
// store packs into as few transactions as etcd's limits allow: first every write other than a
// task create (in the pass's order; a write that expects the revision of an earlier write of
// the same batch waits for the next batch), then — only if all of those applied — the creates.
// So a replacement task is never created while the task it replaces failed to shut down.
// Writes use optimistic concurrency, each with its own compare: a write that finds its object
// changed (Aborted) fails alone (the rest of its batch, planned from the same snapshot, still
// applies) and ends the pass after its batch; the next pass starts from a fresh snapshot that
// includes every write made so far. Stop() returns once the worker has exited. RunOnce() is
// for tests and must not be mixed with Start().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "manager/orchestrator/planner.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::orchestrator {

struct OrchestratorOptions {
  std::chrono::milliseconds tick{500};
};

class Orchestrator {
 public:
  Orchestrator(store::Store& store, store::ReadModel& reads, const Clock& clock,
               OrchestratorOptions options = {});
  ~Orchestrator();  // Stop()

  void Start();
  void Stop();

  // One pass: waits until the read model has every write made through the store (its own
  // included), snapshots it, plans and writes. Returns the number of writes made, or the
  // first failed write's error (after the rest of its batch).
  StatusOr<size_t> RunOnce();

 private:
  StatusOr<Snapshot> TakeSnapshot();
  Status Apply(const std::vector<Write>& writes, size_t* applied);
  // The store write for `w`, expecting revision `expected`.
  static store::WriteRequest Request(const Write& w, int64_t expected);
  void Run();

  store::Store& store_;
  store::ReadModel& reads_;
  const Clock& clock_;
  const OrchestratorOptions options_;
  Planner planner_;
  int64_t last_written_ = 0;  // highest revision written by this orchestrator

  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  bool stopping_ = false;
  bool started_ = false;
  store::ReadModel::SubscriptionId subscription_ = 0;
  std::thread thread_;
};

}  // namespace capsule::orchestrator
