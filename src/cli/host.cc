#include "cli/host.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace capsule::cli {

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

StatusOr<DaemonHost> ResolveHost(const std::string& flag_value, const EnvLookup& env) {
  std::string url = flag_value;
  for (const char* var : {"CAPSULE_HOST", "DOCKER_HOST"}) {
    if (!url.empty()) break;
    if (std::optional<std::string> v = env(var); v.has_value()) url = *v;
  }
  if (url.empty()) url = kDefaultHost;

  const std::string kUnix = "unix://";
  if (!absl::StartsWith(url, kUnix)) {
    if (absl::StartsWith(url, "tcp://") || absl::StartsWith(url, "ssh://") ||
        absl::StartsWith(url, "fd://") || absl::StartsWith(url, "npipe://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported host ", url, ": only unix:// hosts are supported"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("invalid host ", url, ": only unix:// hosts are supported"));
  }
  DaemonHost host{url, url.substr(kUnix.size())};
  if (host.socket_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid host ", url, ": empty socket path"));
  }
  return host;
}

}  // namespace capsule::cli
