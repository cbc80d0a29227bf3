#include "manager/controlapi/audited_write.h"

#include <utility>
#include <vector>

namespace capsule::controlapi {

StatusOr<int64_t> WriteAudited(store::Store& store, store::WriteRequest write,
                               const AuditContext& audit, audit::Action action) {
  audit::Event event;
  std::optional<audit::StoredEvent> stored;
  if (audit.recorder != nullptr) {
    event.action = action;
    event.secret_id = write.ref.id;
    event.secret_name = write.ref.name;
    event.caller = audit.caller;
    stored = audit.recorder->Attach(event);
    if (stored) write.side.push_back({stored->key, std::move(stored->value)});
  }
  std::vector<store::WriteRequest> one;
  one.push_back(std::move(write));
  StatusOr<int64_t> rev = std::move(store.WriteBatch(std::move(one)).front());
  if (!rev.ok() || audit.recorder == nullptr) return rev;
  if (stored) {
    audit.recorder->Attached(1);
  } else {
    audit.recorder->Record(std::move(event));
  }
  return rev;
}

}  // namespace capsule::controlapi
