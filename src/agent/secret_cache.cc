#include "agent/secret_cache.h"

namespace capsule::agent {

void SecretCache::Put(const std::string& id, SecretBytes data,
                      std::optional<std::string> templating) {
  auto bytes = std::make_shared<const SecretBytes>(std::move(data));
  MutexLock lock(mu_);
  secrets_[id] = std::move(bytes);
  if (templating) {
    templating_[id] = *std::move(templating);
  } else {
    templating_.erase(id);
  }
}

void SecretCache::Remove(const std::string& id) {
  std::shared_ptr<const SecretBytes> dropped;  // wiped outside the lock
  MutexLock lock(mu_);
  auto it = secrets_.find(id);
  if (it == secrets_.end()) return;
  dropped = std::move(it->second);
  secrets_.erase(it);
  templating_.erase(id);
}

void SecretCache::RetainOnly(const std::set<std::string>& keep) {
  MutexLock lock(mu_);
  for (auto it = secrets_.begin(); it != secrets_.end();) {
    it = keep.count(it->first) > 0 ? std::next(it) : secrets_.erase(it);
  }
  for (auto it = templating_.begin(); it != templating_.end();) {
    it = keep.count(it->first) > 0 ? std::next(it) : templating_.erase(it);
  }
}

void SecretCache::Clear() {
  std::map<std::string, std::shared_ptr<const SecretBytes>> dropped;
  MutexLock lock(mu_);
  dropped.swap(secrets_);
  templating_.clear();
}

std::optional<std::string> SecretCache::TemplatingOf(const std::string& id) const {
  MutexLock lock(mu_);
  auto it = templating_.find(id);
  if (it == templating_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const SecretBytes> SecretCache::Get(const std::string& id) const {
  MutexLock lock(mu_);
  auto it = secrets_.find(id);
  return it == secrets_.end() ? nullptr : it->second;
}

std::vector<std::string> SecretCache::Ids() const {
  MutexLock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, data] : secrets_) ids.push_back(id);
  return ids;
}

}  // namespace capsule::agent
