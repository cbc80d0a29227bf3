// `service inspect --pretty`: docker 20.10's serviceInspectPrettyTemplate, for the fields
// Capsule's services have (name, labels, mode, update status, placement constraints, update
// and rollback config, image/args/env/dir/init/user, secrets, endpoint mode). Like docker it
// writes literal tabs, not aligned columns. Capsule's addition: a secret with a live-refresh
// policy (kRefreshField in the JSON, added by `capsule service inspect`) shows it under its
// source as "  Refresh:\t<policy>".
#pragma once

#include <string>

#include "common/clock.h"

namespace capsule::cli {

// The Capsule-only field of a service's JSON on /capsule/services/{id}: {secret name: policy}.
inline constexpr char kRefreshField[] = "CapsuleSecretRefresh";

// One service's block (the daemon's JSON as `raw`), with docker's leading and trailing blank
// lines. Unparseable input gives "".
std::string PrettyService(const std::string& raw, const Clock& clock);

}  // namespace capsule::cli
