// Which versions of a secret are wiped (docs/secret-versions.md). The window is the current
// version plus the `keep` highest-numbered other versions (after a rollback from 3 to 2 with
// keep 2 that is {2, 3, 1}); a version outside the window is wiped once nothing uses it: no
// service pins it and no task that may still run records it. The current version is never
// wiped. Pure function.
#pragma once

#include <cstdint>
#include <set>

#include "objects/objects.h"

namespace capsule::controlapi {

// Capsule's default for ClusterSpec::secret_versions_kept.
inline constexpr int64_t kDefaultSecretVersionsKept = 2;

std::set<int64_t> VersionsToWipe(const Secret& secret, int64_t keep,
                                 const std::set<int64_t>& in_use);

}  // namespace capsule::controlapi
