// Housekeeping of this manager's etcd member: compaction and defragmentation.
//
// etcd keeps every revision of every key until a compaction, and its backend file never
// shrinks: a compaction frees pages that later writes reuse, only a defragmentation gives
// them back. Capsule needs no history beyond what a watch restart spans (the read model lists
// again after a compaction). Without this policy a crash-looping service — each task is ~8
// revisions of a ~1-2 KB value — grew etcd to 658 MB in 10 minutes (issue 19).
//
// Each check (every `interval`):
//   - records the member's current revision with the time (the injected clock);
//   - compaction: compacts to the newest recorded revision that is at least `retention` old
//     (physical, so the space counts as free at once). Another manager's compaction of the
//     same or a later revision is fine (etcd answers OutOfRange; ignored);
//   - defragmentation: when the backend file is at least `defrag_min_bytes` and less than
//     half of it is in use, at most once per `defrag_min_gap`. A defragmentation blocks this
//     member for its duration (sub-second for tens of MB).
// So the file stays below max(defrag_min_bytes, 2 × in use) plus what one retention and one
// interval of writes add; docs/lifecycle.md states the bound and its measurement.
//
// Thread-safe: Start() runs the checks on its own thread until Stop(); RunOnce() is one check
// (tests call it directly with a fake clock). The client and clock must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/status.h"
#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

struct MaintenanceOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  std::chrono::milliseconds retention{std::chrono::minutes(5)};
  int64_t defrag_min_bytes = 64 << 20;
  std::chrono::milliseconds defrag_min_gap{std::chrono::minutes(10)};
  std::chrono::milliseconds defrag_timeout{std::chrono::minutes(1)};
};

class Maintainer {
 public:
  Maintainer(Client& client, const Clock& clock, MaintenanceOptions options = {});
  ~Maintainer();  // Stop()
  Maintainer(const Maintainer&) = delete;
  Maintainer& operator=(const Maintainer&) = delete;

  void Start();
  void Stop();  // idempotent

  // What one check saw and did.
  struct Check {
    EndpointStatus before;
    int64_t compacted_to = 0;   // 0: no compaction
    bool defragmented = false;  // then `after` is the status after it
    EndpointStatus after;
  };
  StatusOr<Check> RunOnce();

 private:
  void Run();

  Client& client_;
  const Clock& clock_;
  const MaintenanceOptions options_;

  std::mutex run_mu_;                                    // one check at a time
  std::deque<std::pair<TimePoint, int64_t>> revisions_;  // (seen at, revision), oldest first
  int64_t compacted_ = 0;
  std::optional<TimePoint> last_defrag_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace capsule::etcd
