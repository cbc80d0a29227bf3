// The one call every part of a manager uses to add to the secrets audit log:
// Recorder::Record(Event). Components get a Recorder& (or a nullable Recorder*) injected;
// only src/node/ builds the real one (audit/log_recorder.h). Record never blocks on the
// store and never fails: the caller's operation (a secret create, a delivery) is neither
// slowed nor refused by the audit log. Implementations are thread-safe.
#pragma once

#include <cstddef>
#include <optional>

#include "audit/event.h"
#include "audit/log.h"

namespace capsule::audit {

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Queues `event` for the log. The recorder stamps `time` (when left at the epoch),
  // `recorded_by` and `key`.
  virtual void Record(Event event) = 0;

  // For a change that writes its own event in its own store Txn (controlapi/audited_write.h):
  // stamps `event` as Record would and returns it as the log stores it; nullopt when the log
  // cannot be written that way (the caller then calls Record once the change succeeded).
  // Once such a change is committed the caller calls Attached(1) (the log's trimming counts
  // it); a change that failed wrote nothing and needs no call.
  virtual std::optional<StoredEvent> Attach(Event /*event*/) { return std::nullopt; }
  virtual void Attached(size_t /*committed*/) {}
};

}  // namespace capsule::audit
