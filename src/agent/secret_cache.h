// The agent's secrets: secret ID → data, held only in SecretBytes (locked, wiped memory) for
// as long as the dispatcher says a task on this node needs them. Get hands out shared
// references so a Prepare in progress keeps its data alive; the bytes are wiped when the
// cache and every such holder have let go. Only IDs are ever listed. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/secret_bytes.h"

namespace capsule::agent {

class SecretCache {
 public:
  void Put(const std::string& id, SecretBytes data);
  void Remove(const std::string& id);
  // Drops every secret whose ID is not in `keep`.
  void RetainOnly(const std::set<std::string>& keep);
  void Clear();

  std::shared_ptr<const SecretBytes> Get(const std::string& id) const;  // null if absent
  std::vector<std::string> Ids() const;                                 // sorted

 private:
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<const SecretBytes>> secrets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace capsule::agent
