// The compare of "create only if absent": the key does not exist (its create_revision is 0).
#pragma once

#include <string>
#include <utility>

#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

inline Compare KeyAbsent(std::string key) {
  return Compare{std::move(key), Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""};
}

}  // namespace capsule::etcd
