#include "manager/controlapi/secret_window.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace capsule::controlapi {

std::set<int64_t> VersionsToWipe(const Secret& secret, int64_t keep,
                                 const std::set<int64_t>& in_use) {
  std::vector<int64_t> others;
  for (const SecretVersion& v : secret.versions) {
    if (v.number != secret.current_version) others.push_back(v.number);
  }
  std::sort(others.begin(), others.end(), std::greater<>());
  std::set<int64_t> wipe;
  for (size_t i = 0; i < others.size(); ++i) {
    const bool in_window = static_cast<int64_t>(i) < std::max<int64_t>(0, keep);
    if (!in_window && in_use.count(others[i]) == 0) wipe.insert(others[i]);
  }
  return wipe;
}

}  // namespace capsule::controlapi
