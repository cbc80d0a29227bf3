#include "ca/manager_check.h"

#include "absl/strings/str_cat.h"

namespace capsule::ca {

Status CheckStoreManager(const std::string& node_id, const std::optional<StoreRoles>& node,
                         ManagerCall call) {
  if (!node) {
    return absl::PermissionDeniedError(
        absl::StrCat("node ", node_id, " was removed from the swarm"));
  }
  const bool is_manager = node->role == "manager";
  const bool demoting = is_manager && node->desired_role == "worker";
  const bool promoting = !is_manager && node->desired_role == "manager";
  const bool allowed =
      !demoting && (is_manager || (call == ManagerCall::kPromotionStep && promoting));
  if (!allowed) {
    return absl::PermissionDeniedError(absl::StrCat("node ", node_id, " is not a manager"));
  }
  return absl::OkStatus();
}

}  // namespace capsule::ca
