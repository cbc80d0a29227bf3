// The read model's networks (declared in read_model.h): applied from the watch like secrets,
// with the Docker API JSON rendered once.
#include <spdlog/spdlog.h>

#include "store/read_model.h"

namespace capsule::store {

// Called with mu_ held exclusively.
void ReadModel::PutNetwork(const ObjectMeta& m) {
  StatusOr<Network> n = DecodeNetworkMeta(m.meta);
  if (!n.ok()) {
    spdlog::error("read model: network {}: {}", m.id, n.status().ToString());
    return;
  }
  EraseNetwork(m.id);
  auto entry = std::make_shared<Versioned<Network>>();
  entry->json = RenderNetwork(*n);
  entry->object = *std::move(n);
  entry->create_revision = m.create_revision;
  entry->mod_revision = m.mod_revision;
  network_names_[AsciiLower(entry->object.name)] = m.id;
  networks_[m.id] = std::move(entry);
}

// Called with mu_ held exclusively.
void ReadModel::EraseNetwork(const std::string& id) {
  auto it = networks_.find(id);
  if (it == networks_.end()) return;
  network_names_.erase(AsciiLower(it->second->object.name));
  networks_.erase(it);
}

std::vector<NetworkEntry> ReadModel::Networks() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  std::vector<NetworkEntry> out;
  out.reserve(networks_.size());
  for (const auto& [id, e] : networks_) out.push_back(e);
  return out;
}

NetworkEntry ReadModel::NetworkById(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = networks_.find(id);
  return it == networks_.end() ? nullptr : it->second;
}

NetworkEntry ReadModel::NetworkByName(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = network_names_.find(AsciiLower(name));
  if (it == network_names_.end()) return nullptr;
  auto n = networks_.find(it->second);
  return n == networks_.end() ? nullptr : n->second;
}

}  // namespace capsule::store
