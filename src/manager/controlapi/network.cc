#include "manager/controlapi/network.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <set>

#include "common/ids.h"
#include "manager/controlapi/resolve.h"
#include "manager/controlapi/validation/service_validate.h"
#include "manager/ipam/pool.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {
namespace {

const std::set<std::string>& LocalDrivers() {
  static const std::set<std::string> kDrivers = {"bridge", "host", "null", "macvlan", "ipvlan"};
  return kDrivers;
}

// An error of the swarm layer, as the engine prints it.
Status Swarm(const Status& s) {
  const char* code = "Unknown";
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      code = "InvalidArgument";
      break;
    case StatusCode::kAlreadyExists:
      code = "AlreadyExists";
      break;
    case StatusCode::kFailedPrecondition:
      code = "FailedPrecondition";
      break;
    case StatusCode::kResourceExhausted:
      code = "ResourceExhausted";
      break;
    case StatusCode::kNotFound:
      code = "NotFound";
      break;
    default:
      break;
  }
  return Status(s.code(),
                std::string("rpc error: code = ") + code + " desc = " + std::string(s.message()));
}

// 64 hex digits, stable for (node, name): the predefined networks' IDs (Docker makes random
// ones per daemon and keeps them; these stay the same across restarts of this node).
std::string LocalNetworkId(const std::string& node_id, const std::string& name) {
  std::string out;
  uint64_t h = 1469598103934665603ULL;
  for (int round = 0; round < 4; ++round) {
    for (char c : node_id + "/" + name + "/" + std::to_string(round)) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
    out += buf;
  }
  return out;
}

Network LocalNetwork(const std::string& node_id, const std::string& name, const std::string& driver,
                     TimePoint now) {
  Network n;
  n.id = LocalNetworkId(node_id, name);
  n.created_at = n.updated_at = now;
  n.name = name;
  n.driver = driver;
  n.scope = "local";
  return n;
}

}  // namespace

NetworkApi::NetworkApi(store::Store& store, const store::ReadModel& reads, const Clock& clock,
                       const std::string& node_id)
    : store_(store), reads_(reads), clock_(clock) {
  predefined_.push_back(LocalNetwork(node_id, "host", "host", clock.Now()));
  predefined_.push_back(LocalNetwork(node_id, "none", "null", clock.Now()));
}

std::vector<NetworkView> NetworkApi::Predefined() const {
  std::vector<NetworkView> out;
  for (const Network& n : predefined_) out.push_back({n, RenderNetwork(n), true});
  return out;
}

StatusOr<Network> NetworkApi::Allocate(const NetworkCreateRequest& req) const {
  Network n;
  n.name = req.name;
  n.labels = req.labels;
  n.driver = "overlay";
  n.options = req.options;
  n.options.erase(kVxlanOption);  // VXLAN IDs are the allocator's
  n.internal = req.internal;
  n.attachable = req.attachable;
  n.ingress = req.ingress;
  n.enable_ipv6 = req.enable_ipv6;
  n.ipam_options = req.ipam_options;
  n.ipam_spec = req.ipam_configs;

  std::vector<const Network*> existing;
  std::vector<store::NetworkEntry> entries = reads_.Networks();
  std::set<uint32_t> vxlans;
  for (const store::NetworkEntry& e : entries) {
    existing.push_back(&e->object);
    vxlans.insert(e->object.vxlan_ids.begin(), e->object.vxlan_ids.end());
  }
  const std::vector<ipam::Ipv4Prefix> in_use = ipam::SubnetsOf(existing);
  if (!req.ipam_configs.empty()) {
    ASSIGN_OR_RETURN(n.ipam, ipam::CompleteConfigs(req.ipam_configs));
    for (const IpamConfig& c : n.ipam) {
      StatusOr<ipam::Ipv4Prefix> subnet = ipam::ParseIpv4Prefix(c.subnet);
      if (!subnet.ok()) return subnet.status();
      for (const store::NetworkEntry& e : entries) {
        std::vector<ipam::Ipv4Prefix> theirs = ipam::SubnetsOf({&e->object});
        if (auto clash = ipam::FindOverlap({*subnet}, theirs)) {
          return absl::InvalidArgumentError(
              "ipam configuration: subnet " + c.subnet + " overlaps with subnet " +
              ipam::FormatPrefix(clash->second) + " of network " + e->object.name);
        }
      }
    }
  } else {
    store::ClusterEntry cluster = reads_.GetCluster();
    const ClusterSpec spec = cluster ? cluster->object.spec : ClusterSpec{};
    ASSIGN_OR_RETURN(ipam::Ipv4Prefix subnet,
                     ipam::AllocateSubnet(spec.default_addr_pool, spec.subnet_size, in_use));
    ASSIGN_OR_RETURN(n.ipam, ipam::CompleteConfigs({{ipam::FormatPrefix(subnet), "", ""}}));
  }
  for (size_t i = 0; i < n.ipam.size(); ++i) {
    const uint32_t id = ipam::NextVxlanId(vxlans);
    vxlans.insert(id);
    n.vxlan_ids.push_back(id);
  }
  return n;
}

StatusOr<std::string> NetworkApi::Create(const NetworkCreateRequest& req) {
  // The daemon's checks.
  if (req.name.empty()) return absl::UnknownError("invalid name: " + req.name);
  const std::string driver = req.driver.empty() ? "bridge" : req.driver;
  if (driver != "overlay") {
    if (LocalDrivers().count(driver) == 0) {
      return absl::NotFoundError("plugin \"" + driver + "\" not found");
    }
    return absl::InvalidArgumentError("network driver " + driver +
                                      " is not supported: Capsule creates swarm-scoped overlay "
                                      "networks only");
  }
  if (req.scope == "local") {
    return absl::PermissionDeniedError("cannot downgrade network scope for overlay networks");
  }
  if (req.config_only || !req.config_from.empty()) {
    return absl::InvalidArgumentError("config-only networks are not supported by Capsule");
  }
  std::lock_guard<std::mutex> lock(create_mu_);
  RETURN_IF_ERROR(reads_.WaitFresh());
  for (const NetworkView& p : Predefined()) {
    if (p.network.name == req.name) {
      return absl::AlreadyExistsError("network with name " + req.name + " already exists");
    }
  }
  if (store::NetworkEntry e = reads_.NetworkByName(req.name); e && e->object.name == req.name) {
    return absl::AlreadyExistsError("network with name " + req.name + " already exists");
  }
  for (const IpamConfig& c : req.ipam_configs) {
    if (ipam::LooksLikeIpv6(c.subnet)) continue;  // refused by the swarm layer below
    if (StatusOr<ipam::Ipv4Prefix> p = ipam::ParseIpv4Prefix(c.subnet); !p.ok()) {
      return absl::UnknownError("Invalid subnet " + c.subnet + " : " +
                                std::string(p.status().message()));
    }
  }

  // The swarm layer's.
  if (Status name = ValidateServiceName(req.name); !name.ok()) return Swarm(name);
  if (!req.ipam_driver.empty() && req.ipam_driver != "default") {
    return Swarm(absl::InvalidArgumentError("error during lookup of plugin " + req.ipam_driver));
  }
  if (req.ingress) {
    for (const store::NetworkEntry& e : reads_.Networks()) {
      if (e->object.ingress) {
        return Swarm(
            absl::AlreadyExistsError("ingress network (" + e->object.id + ") is already present"));
      }
    }
  }
  StatusOr<Network> n = Allocate(req);
  if (!n.ok()) return Swarm(n.status());
  n->id = NewId();
  n->created_at = n->updated_at = clock_.Now();
  StatusOr<int64_t> rev =
      store_.Create({kNetworksKind, n->id, n->name}, {EncodeNetworkMeta(*n), {}});
  if (absl::IsAlreadyExists(rev.status())) {
    return Swarm(absl::UnknownError("name conflicts with an existing object"));
  }
  RETURN_IF_ERROR(rev.status());
  spdlog::info("network created: id={} name={} subnet={}", n->id, n->name,
               n->ipam.empty() ? "" : n->ipam.front().subnet);
  return n->id;
}

Status NetworkApi::Remove(const std::string& ref) {
  ASSIGN_OR_RETURN(NetworkView v, Resolve(ref));
  if (v.predefined) {
    return absl::PermissionDeniedError(v.network.name +
                                       " is a pre-defined network and cannot be removed");
  }
  const std::string id = v.network.id;
  StatusOr<int64_t> rev = store::RetryOnConflict([&]() -> StatusOr<int64_t> {
    RETURN_IF_ERROR(reads_.WaitFresh());
    store::NetworkEntry e = reads_.NetworkById(id);
    if (!e) return absl::NotFoundError("network " + ref + " not found");
    std::vector<std::string> users = ServicesUsingNetwork(reads_, id);
    if (!users.empty()) {
      return Swarm(absl::FailedPreconditionError("network " + id + " is in use by service " +
                                                 users.front()));
    }
    return store_.Delete({kNetworksKind, id, e->object.name}, e->mod_revision);
  });
  RETURN_IF_ERROR(rev.status());
  spdlog::info("network removed: id={} name={}", id, v.network.name);
  return absl::OkStatus();
}

Status NetworkApi::ResolveAttachments(ServiceSpec* spec) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  auto resolve = [&](NetworkAttachmentConfig& c) -> Status {
    std::vector<NetworkView> all = Predefined();
    for (const store::NetworkEntry& e : reads_.Networks()) all.push_back({e->object, "", false});
    const NetworkView* found = nullptr;
    for (const NetworkView& v : all) {
      if (v.network.id == c.target) found = &v;
    }
    if (found == nullptr) {
      for (const NetworkView& v : all) {
        if (v.network.name == c.target) found = &v;
      }
    }
    if (found == nullptr) {
      std::vector<const NetworkView*> matches;
      for (const NetworkView& v : all) {
        if (v.network.id.compare(0, c.target.size(), c.target) == 0) matches.push_back(&v);
      }
      if (matches.size() > 1) {
        return absl::InvalidArgumentError("network " + c.target + " is ambiguous (" +
                                          std::to_string(matches.size()) + " matches found)");
      }
      if (matches.empty()) return absl::UnknownError("network " + c.target + " not found");
      found = matches.front();
    }
    if (found->network.scope != "swarm") {
      return absl::PermissionDeniedError(
          "The network " + c.target +
          " cannot be used with services. Only networks scoped to the swarm can be used, such "
          "as those created with the overlay driver.");
    }
    if (found->network.ingress) {
      return Swarm(absl::InvalidArgumentError(
          "Service cannot be explicitly attached to the ingress network \"" + found->network.name +
          "\""));
    }
    c.target = found->network.id;
    return absl::OkStatus();
  };
  for (NetworkAttachmentConfig& c : spec->task_template.networks) RETURN_IF_ERROR(resolve(c));
  for (NetworkAttachmentConfig& c : spec->networks) RETURN_IF_ERROR(resolve(c));
  return absl::OkStatus();
}

StatusOr<std::string> CreateIngressNetwork(store::Store& store, const ClusterSpec& spec,
                                           TimePoint now) {
  Network n;
  n.id = NewId();
  n.created_at = n.updated_at = now;
  n.name = "ingress";
  n.ingress = true;
  ASSIGN_OR_RETURN(ipam::Ipv4Prefix subnet,
                   ipam::AllocateSubnet(spec.default_addr_pool, spec.subnet_size, {}));
  ASSIGN_OR_RETURN(n.ipam, ipam::CompleteConfigs({{ipam::FormatPrefix(subnet), "", ""}}));
  n.vxlan_ids.push_back(ipam::NextVxlanId({}));
  RETURN_IF_ERROR(store.Create({kNetworksKind, n.id, n.name}, {EncodeNetworkMeta(n), {}}).status());
  return n.id;
}

std::vector<std::string> ServicesUsingNetwork(const store::ReadModel& reads,
                                              const std::string& network_id) {
  std::vector<std::string> out;
  for (const store::ServiceEntry& e : reads.Services()) {
    const ServiceSpec& spec = e->object.spec;
    bool uses = false;
    for (const auto* list : {&spec.task_template.networks, &spec.networks}) {
      for (const NetworkAttachmentConfig& c : *list) uses = uses || c.target == network_id;
    }
    if (uses) out.push_back(e->object.id);
  }
  return out;
}

}  // namespace capsule::controlapi
