#include "manager/controlapi/pull_auth.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "objects/objects.h"

namespace capsule::controlapi {

StatusOr<std::string> CreatePullAuth(store::Store& store, const std::string& service_id,
                                     const SecretBytes& header) {
  const std::string id = NewId();
  store::Record record;
  record.meta = Json{{"ServiceID", service_id}}.dump();
  record.data = SecretBytes::CopyFrom(header.view());
  RETURN_IF_ERROR(store.Create({kPullAuthsKind, id, ""}, record).status());
  return id;
}

void DeletePullAuth(store::Store& store, const std::string& id) {
  if (id.empty()) return;
  StatusOr<int64_t> rev = store.Delete({kPullAuthsKind, id, ""}, 0);
  if (!rev.ok() && !absl::IsNotFound(rev.status())) {
    spdlog::warn("registry credentials {}: delete failed: {}", id, rev.status().ToString());
  }
}

StatusOr<SecretBytes> ReadPullAuth(store::Store& store, const std::string& id) {
  ASSIGN_OR_RETURN(store::StoredRecord r, store.Get(kPullAuthsKind, id));
  return std::move(r.record.data);
}

}  // namespace capsule::controlapi
