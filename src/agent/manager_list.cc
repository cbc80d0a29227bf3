#include "agent/manager_list.h"

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <span>

#include "common/errno_status.h"
#include "common/file_read.h"
#include "crypto/secure_file.h"

namespace capsule::agent {
namespace {

// A list file far larger than any swarm's managers is not ours.
constexpr size_t kMaxListFileBytes = 64 * 1024;

}  // namespace

ManagerList::ManagerList(std::vector<RemoteManager> initial) {
  for (RemoteManager& m : initial) {
    if (m.addr.empty() || Find(m.addr) != nullptr) continue;
    entries_.push_back({std::move(m), 0});
  }
}

ManagerList::Entry* ManagerList::Find(const std::string& addr) {
  for (Entry& e : entries_) {
    if (e.manager.addr == addr) return &e;
  }
  return nullptr;
}

const ManagerList::Entry* ManagerList::Find(const std::string& addr) const {
  for (const Entry& e : entries_) {
    if (e.manager.addr == addr) return &e;
  }
  return nullptr;
}

bool ManagerList::Replace(const std::vector<RemoteManager>& managers) {
  std::vector<Entry> next;
  for (const RemoteManager& m : managers) {
    if (m.addr.empty()) continue;
    bool duplicate = std::any_of(next.begin(), next.end(),
                                 [&](const Entry& e) { return e.manager.addr == m.addr; });
    if (duplicate) continue;
    const Entry* known = Find(m.addr);
    next.push_back({m, known != nullptr ? known->weight : 0});
  }
  if (next.empty()) return false;
  bool changed = next.size() != entries_.size();
  for (size_t i = 0; !changed && i < next.size(); ++i) {
    changed = !(next[i].manager == entries_[i].manager);
  }
  entries_ = std::move(next);
  return changed;
}

void ManagerList::ObserveSuccess(const std::string& addr) {
  if (Entry* e = Find(addr)) e->weight = std::min(e->weight + kSuccessWeight, kMaxWeight);
}

void ManagerList::ObserveFailure(const std::string& addr) {
  if (Entry* e = Find(addr)) e->weight = std::max(e->weight - kFailureWeight, kMinWeight);
}

std::string ManagerList::Pick(const std::string& avoid) const {
  const Entry* best = nullptr;
  for (const Entry& e : entries_) {
    if (e.manager.addr == avoid) continue;
    if (best == nullptr || e.weight > best->weight) best = &e;
  }
  if (best != nullptr) return best->manager.addr;
  return entries_.empty() ? "" : entries_.front().manager.addr;
}

std::vector<RemoteManager> ManagerList::Ordered(const std::string& first) const {
  std::vector<RemoteManager> out;
  if (const Entry* e = Find(first)) out.push_back(e->manager);
  for (const Entry& e : entries_) {
    if (e.manager.addr != first) out.push_back(e.manager);
  }
  return out;
}

int ManagerList::WeightOf(const std::string& addr) const {
  const Entry* e = Find(addr);
  return e != nullptr ? e->weight : 0;
}

Status SaveManagerList(const std::string& path, const std::string& cluster_id,
                       const std::vector<RemoteManager>& managers) {
  nlohmann::json list = nlohmann::json::array();
  for (const RemoteManager& m : managers) list.push_back({{"NodeID", m.node_id}, {"Addr", m.addr}});
  const nlohmann::json j = {{"ClusterID", cluster_id}, {"Managers", list}};
  const std::string text = j.dump(2) + "\n";
  return crypto::WriteFileAtomic(
      path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0600,
      /*replace=*/true);
}

StatusOr<std::vector<RemoteManager>> LoadManagerList(const std::string& path,
                                                     const std::string& cluster_id) {
  StatusOr<std::string> text = ReadWholeFile(path);
  if (absl::IsNotFound(text.status())) return std::vector<RemoteManager>();
  RETURN_IF_ERROR(text.status());
  if (text->size() > kMaxListFileBytes) {
    return absl::DataLossError("manager list " + path + " is too large");
  }
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("Managers") || !j["Managers"].is_array() ||
      !j.contains("ClusterID") || !j["ClusterID"].is_string()) {
    return absl::DataLossError("manager list " + path + " is malformed");
  }
  std::vector<RemoteManager> out;
  if (j["ClusterID"].get<std::string>() != cluster_id) return out;
  for (const nlohmann::json& m : j["Managers"]) {
    if (!m.is_object() || !m.contains("Addr") || !m["Addr"].is_string()) {
      return absl::DataLossError("manager list " + path + " is malformed");
    }
    const bool has_id = m.contains("NodeID") && m["NodeID"].is_string();
    out.push_back({has_id ? m["NodeID"].get<std::string>() : "", m["Addr"].get<std::string>()});
  }
  return out;
}

}  // namespace capsule::agent
