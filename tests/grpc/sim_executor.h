// A simulated node's executor for load tests (swarm_load --agents): the shared FakeExecutor
// (src/testing), which runs no containers, with hooks that report to an EventSink every secret
// file handed to Prepare (opened by the real agent with the session's delivery key) — with a
// sha256 prefix of its data, never the data, so a driver can check the right bytes arrived —
// and every Start. Events go to stdout as JSON lines. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "testing/fake_executor.h"

namespace capsule::loadsim {

// Writes one JSON object per line to stdout, whole lines only (shared by every node).
class EventSink {
 public:
  // {"node":N,"event":E,<fields>,"t_ms":<wall clock ms since the epoch>}; `fields` is a
  // pre-rendered `"k":v,...` fragment (may be empty).
  explicit EventSink(const Clock& clock) : clock_(clock) {}
  void Emit(int node, const std::string& event, const std::string& fields);

 private:
  const Clock& clock_;
  std::mutex mu_;
};

// Node `node`'s executor; `events` and `clock` must outlive it.
std::unique_ptr<testing::FakeExecutor> NewSimExecutor(int node, EventSink& events,
                                                      const Clock& clock);

}  // namespace capsule::loadsim
