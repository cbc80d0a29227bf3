// The agent's secrets: secret ID → data, held only in SecretBytes (locked, wiped memory) for
// as long as the dispatcher says a task on this node needs them. Get hands out shared
// references so a Prepare in progress keeps its data alive; the bytes are wiped when the
// cache and every such holder have let go. Only IDs are ever listed. A secret may carry its
// Spec.Templating driver name (then a task gets its data expanded: secret_templating.h).
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/secret_bytes.h"

namespace capsule::agent {

class SecretCache {
 public:
  void Put(const std::string& id, SecretBytes data,
           std::optional<std::string> templating = std::nullopt);
  void Remove(const std::string& id);
  // Drops every secret whose ID is not in `keep`.
  void RetainOnly(const std::set<std::string>& keep);
  void Clear();

  std::shared_ptr<const SecretBytes> Get(const std::string& id) const;  // null if absent
  // The secret's Templating driver name; nullopt when it has none (or is absent).
  std::optional<std::string> TemplatingOf(const std::string& id) const;
  std::vector<std::string> Ids() const;  // sorted

 private:
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const SecretBytes>> secrets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> templating_ ABSL_GUARDED_BY(mu_);  // templated ones only
};

}  // namespace capsule::agent
