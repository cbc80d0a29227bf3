// Shared by the service-spec and secret-reference fuzz targets: secret references the
// manager accepts must be accepted by the agent that mounts them, at sane destinations.
#pragma once

#include <string>
#include <vector>

#include "agent/executor/secret_mount.h"
#include "fuzz_check.h"
#include "objects/service.h"

namespace capsule::fuzz {

// refs passed ValidateSecretReferences. The agent's SecretDestinations must accept them
// (else the service is accepted and its tasks fail forever) and give absolute, clean,
// distinct paths; relative targets land under /run/secrets/.
inline void CheckAgentAcceptsRefs(const std::vector<SecretReference>& refs) {
  std::vector<agent::SecretFile> files;
  for (size_t i = 0; i < refs.size(); ++i) {
    agent::SecretFile f;
    f.secret_id = "secret" + std::to_string(i);  // IDs are the manager's own (alphanumeric)
    f.target = refs[i].target;
    files.push_back(f);
  }
  StatusOr<std::vector<std::string>> dests = agent::SecretDestinations(files);
  FUZZ_CHECK(dests.ok(), "manager accepted references the agent refuses: %s",
             dests.status().ToString().c_str());
  for (size_t i = 0; i < dests->size(); ++i) {
    const std::string& d = (*dests)[i];
    FUZZ_CHECK(!d.empty() && d[0] == '/', "destination not absolute: %s", d.c_str());
    FUZZ_CHECK(d.find("//") == std::string::npos && d.back() != '/', "unclean: %s", d.c_str());
    FUZZ_CHECK(d.find("/../") == std::string::npos && d.find("/./") == std::string::npos &&
                   d.substr(d.size() >= 3 ? d.size() - 3 : 0) != "/.." &&
                   d.substr(d.size() >= 2 ? d.size() - 2 : 0) != "/.",
               "dot component: %s", d.c_str());
    FUZZ_CHECK(d.find('\0') == std::string::npos, "NUL in destination");
    if (refs[i].target[0] != '/') {
      FUZZ_CHECK(d.rfind("/run/secrets/", 0) == 0, "relative target outside /run/secrets: %s",
                 d.c_str());
    }
  }
}

}  // namespace capsule::fuzz
