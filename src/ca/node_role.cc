#include "ca/node_role.h"

#include "absl/strings/str_cat.h"

namespace capsule::ca {

const char* RoleName(NodeRole role) {
  return role == NodeRole::kManager ? kManagerRoleName : kWorkerRoleName;
}

StatusOr<NodeRole> ParseRole(std::string_view ou) {
  if (ou == kManagerRoleName) return NodeRole::kManager;
  if (ou == kWorkerRoleName) return NodeRole::kWorker;
  return absl::InvalidArgumentError(absl::StrCat("unknown node role \"", std::string(ou), "\""));
}

}  // namespace capsule::ca
