// Docker's last lookup step for an object reference: a unique ID prefix. Shared by every
// kind that resolves "ID, then name, then ID prefix" (secrets, nodes).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::controlapi {

// The one entry whose object ID starts with `ref`. None → `not_found`; several →
// InvalidArgument "<kind> <ref> is ambiguous (N matches found)". An empty ref matches nothing.
template <typename Entry>
StatusOr<Entry> UniqueIdPrefix(const std::vector<Entry>& entries, const std::string& kind,
                               const std::string& ref, Status not_found) {
  std::vector<Entry> matches;
  if (!ref.empty()) {
    for (const Entry& e : entries) {
      if (e->object.id.compare(0, ref.size(), ref) == 0) matches.push_back(e);
    }
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(kind + " " + ref + " is ambiguous (" +
                                      std::to_string(matches.size()) + " matches found)");
  }
  return not_found;
}

}  // namespace capsule::controlapi
