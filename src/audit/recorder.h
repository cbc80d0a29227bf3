// The one call every part of a manager uses to add to the secrets audit log:
// Recorder::Record(Event). Components get a Recorder& (or a nullable Recorder*) injected;
// only src/node/ builds the real one (audit/log_recorder.h). Record never blocks on the
// store and never fails: the caller's operation (a secret create, a delivery) is neither
// slowed nor refused by the audit log. Implementations are thread-safe.
#pragma once

#include "audit/event.h"

namespace capsule::audit {

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Queues `event` for the log. The recorder stamps `time` (when left at the epoch),
  // `recorded_by` and `key`.
  virtual void Record(Event event) = 0;
};

}  // namespace capsule::audit
