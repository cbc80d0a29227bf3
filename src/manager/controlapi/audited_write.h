// A store write and the audit event that records it (audit/recorder.h). When the recorder's
// log lives in the store (the etcd audit log), the event is one more put of the write's own
// Txn (store::SideWrite): the change and its event are stored together or not at all, and no
// second etcd round trip follows the change. Otherwise (a log elsewhere, e.g. in unit tests)
// the event is recorded once the write succeeded. Either way a failed write records nothing.
// Internal to controlapi; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "audit/event.h"
#include "audit/recorder.h"
#include "store/store.h"

namespace capsule::controlapi {

// Who asked for a change, and where its audit event goes. No recorder: nothing is recorded.
struct AuditContext {
  audit::Recorder* recorder = nullptr;
  std::optional<audit::Caller> caller;
};

// Commits `write` (through Store::WriteBatch) with the event `action` on the secret
// write.ref names (its ID and name), by audit.caller; the write's answer. Without a recorder,
// the write alone.
StatusOr<int64_t> WriteAudited(store::Store& store, store::WriteRequest write,
                               const AuditContext& audit, audit::Action action);

}  // namespace capsule::controlapi
