// Which daemon the CLI talks to: `-H/--host`, then $CAPSULE_HOST, then $DOCKER_HOST,
// then unix:///run/capsule/capsule.sock. An empty value counts as unset. Only unix://
// hosts are supported.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace capsule::cli {

inline constexpr char kDefaultHost[] = "unix:///run/capsule/capsule.sock";

struct DaemonHost {
  std::string url;          // as given, e.g. "unix:///run/capsule/capsule.sock"
  std::string socket_path;  // "/run/capsule/capsule.sock"
};

// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

// InvalidArgument for tcp:// ("only unix:// hosts are supported"), other schemes, or an
// empty socket path.
StatusOr<DaemonHost> ResolveHost(const std::string& flag_value, const EnvLookup& env);

}  // namespace capsule::cli
