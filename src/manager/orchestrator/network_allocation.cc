#include "manager/orchestrator/network_allocation.h"

#include <algorithm>
#include <map>

#include "common/log.h"
#include "manager/ipam/pool.h"

namespace capsule::orchestrator {
namespace {

struct NetworkState {
  store::NetworkEntry entry;
  ipam::NetworkAddresses addresses;
};

using Networks = std::map<std::string, NetworkState>;

bool UsesVip(const ServiceSpec& spec) {
  return !(spec.endpoint_spec.is_object() && spec.endpoint_spec.value("Mode", "") == "dnsrr");
}

bool Attached(const Task& t, const std::string& network_id) {
  for (const NetworkAttachment& a : t.networks_attachments) {
    if (a.network_id == network_id) return true;
  }
  return false;
}

// The service's VIPs as they should be: existing ones kept, missing ones allocated (a
// network whose pool is full gets none now and is tried again next pass).
std::vector<VirtualIp> WantedVips(const Service& s, Networks& nets) {
  std::vector<VirtualIp> out;
  if (!UsesVip(s.spec)) return out;
  for (const NetworkAttachmentConfig& c : EffectiveNetworks(s.spec)) {
    auto n = nets.find(c.target);
    if (n == nets.end()) continue;
    const VirtualIp* have = nullptr;
    for (const VirtualIp& v : s.virtual_ips) {
      if (v.network_id == c.target) have = &v;
    }
    if (have != nullptr) {
      out.push_back(*have);
      continue;
    }
    StatusOr<std::string> addr = n->second.addresses.Allocate();
    if (!addr.ok()) {
      spdlog::warn("service {}: {}", s.id, std::string(addr.status().message()));
      continue;
    }
    out.push_back({c.target, *addr});
  }
  return out;
}

bool SameVips(const std::vector<VirtualIp>& a, const std::vector<VirtualIp>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].network_id != b[i].network_id || a[i].addr != b[i].addr) return false;
  }
  return true;
}

}  // namespace

std::vector<NetworkAttachmentConfig> EffectiveNetworks(const ServiceSpec& spec) {
  const auto& list =
      spec.task_template.networks.empty() ? spec.networks : spec.task_template.networks;
  std::vector<NetworkAttachmentConfig> out;
  std::set<std::string> seen;
  for (const NetworkAttachmentConfig& c : list) {
    if (seen.insert(c.target).second) out.push_back(c);
  }
  return out;
}

bool TaskDead(const Task& t) {
  return t.desired_state > TaskState::kRunning && t.status.state > TaskState::kRunning;
}

std::set<std::string> AllocateNetworks(WorkingSet& ws,
                                       const std::vector<store::NetworkEntry>& networks,
                                       TimePoint now) {
  std::set<std::string> waiting;
  if (networks.empty()) return waiting;
  Networks nets;
  for (const store::NetworkEntry& e : networks) {
    nets.emplace(e->object.id, NetworkState{e, ipam::NetworkAddresses(e->object)});
  }
  // What is taken: the VIPs of existing services, the addresses of live tasks.
  bool any_attached = false;
  for (const auto& [id, ref] : ws.services()) {
    for (const VirtualIp& v : ref.service.virtual_ips) {
      if (auto n = nets.find(v.network_id); n != nets.end()) n->second.addresses.MarkUsed(v.addr);
    }
    any_attached = any_attached || !EffectiveNetworks(ref.service.spec).empty();
  }
  if (!any_attached) return waiting;
  for (const auto& [id, t] : ws.tasks()) {
    if (TaskDead(t)) continue;
    for (const NetworkAttachment& a : t.networks_attachments) {
      auto n = nets.find(a.network_id);
      if (n == nets.end()) continue;
      for (const std::string& addr : a.addresses) n->second.addresses.MarkUsed(addr);
    }
  }

  // Services first (Docker's VIP is the lower address), in ID order.
  std::vector<std::string> service_ids;
  for (const auto& [id, ref] : ws.services()) service_ids.push_back(id);
  for (const std::string& id : service_ids) {
    Service s = ws.services().at(id).service;
    std::vector<VirtualIp> want = WantedVips(s, nets);
    if (SameVips(want, s.virtual_ips)) continue;
    s.virtual_ips = std::move(want);
    ws.UpdateService(s);
  }

  // Then tasks that still need an address, oldest first.
  std::vector<const Task*> todo;
  for (const auto& [id, t] : ws.tasks()) {
    if (TaskDead(t) || t.status.state > TaskState::kPending) continue;
    if (ws.services().count(t.service_id) == 0) continue;
    todo.push_back(&t);
  }
  std::stable_sort(todo.begin(), todo.end(),
                   [](const Task* a, const Task* b) { return a->created_at < b->created_at; });
  std::vector<Task> copies;
  for (const Task* t : todo) copies.push_back(*t);
  for (Task& t : copies) {
    const Service& s = ws.services().at(t.service_id).service;
    bool changed = false;
    for (const NetworkAttachmentConfig& c : EffectiveNetworks(s.spec)) {
      auto n = nets.find(c.target);
      if (n == nets.end() || Attached(t, c.target)) continue;
      StatusOr<std::string> addr = n->second.addresses.Allocate();
      if (!addr.ok()) {
        waiting.insert(t.id);
        spdlog::debug("task {}: {}", t.id, std::string(addr.status().message()));
        continue;
      }
      const store::NetworkEntry& e = n->second.entry;
      t.networks_attachments.push_back(
          {e->object.id, NetworkObjectJson(e->object, e->mod_revision), {*addr}});
      changed = true;
    }
    if (waiting.count(t.id) != 0) {
      // All or nothing: give back what this pass took, the task waits.
      for (const NetworkAttachment& a : t.networks_attachments) {
        if (Attached(*ws.task(t.id), a.network_id)) continue;
        for (const std::string& addr : a.addresses) nets.at(a.network_id).addresses.Release(addr);
      }
      continue;
    }
    if (changed) {
      t.updated_at = now;
      ws.UpdateTask(t);
    }
  }
  return waiting;
}

}  // namespace capsule::orchestrator
