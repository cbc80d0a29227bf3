#include "agent/config_files.h"

namespace capsule::agent {

std::string ConfigDestination(const ConfigReference& ref) {
  if (!ref.target.empty() && ref.target[0] == '/') return ref.target;
  return "/" + ref.target;
}

std::shared_ptr<const SecretBytes> ConfigData(const SecretCache& cache, const Task& /*task*/,
                                              const ConfigReference& ref) {
  return cache.Get(ref.config_id);
}

}  // namespace capsule::agent
