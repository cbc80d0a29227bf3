#include "agent/spec_templating.h"

#include <sys/utsname.h>

namespace capsule::agent {

Status ExpandContainerSpec(const tmpl::SwarmTask& context, std::vector<std::string>* env,
                           std::string* hostname) {
  std::vector<std::string> expanded;
  for (const std::string& entry : *env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      expanded.push_back(entry);
      continue;
    }
    absl::StatusOr<tmpl::Str> v =
        tmpl::ExpandSpecString(context, std::string_view(entry).substr(eq + 1));
    if (!v.ok()) {
      std::string quoted;
      for (char c : entry) {
        if (c == '"' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
      }
      return absl::InvalidArgumentError("expanding env failed: expanding env \"" + quoted +
                                        "\": " + std::string(v.status().message()));
    }
    expanded.push_back(entry.substr(0, eq + 1) + std::string(*v));
  }
  absl::StatusOr<tmpl::Str> h = tmpl::ExpandSpecString(context, *hostname);
  if (!h.ok()) {
    return absl::InvalidArgumentError("expanding hostname failed: " +
                                      std::string(h.status().message()));
  }
  *env = std::move(expanded);
  *hostname = std::string(*h);
  return absl::OkStatus();
}

tmpl::SwarmNode LocalNodeDescription(const std::string& hostname) {
  tmpl::SwarmNode n;
  n.hostname = hostname;
  n.os = "linux";
  struct utsname u {};
  if (uname(&u) == 0) n.architecture = u.machine;
  return n;
}

}  // namespace capsule::agent
