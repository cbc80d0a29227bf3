// The read side of NetworkApi (declared in network.h): list with filters and the engine's
// lookup, from the read model plus this node's predefined networks.
#include <algorithm>

#include "manager/controlapi/list_filters.h"
#include "manager/controlapi/network.h"

namespace capsule::controlapi {
namespace {

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool NameMatches(const NetworkView& v, const std::vector<std::string>& names) {
  if (names.empty()) return true;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    // The engine asks swarm for exact names; its own (local) networks match by substring.
    return v.predefined ? v.network.name.find(n) != std::string::npos : v.network.name == n;
  });
}

}  // namespace

StatusOr<std::vector<NetworkView>> NetworkApi::List(const NetworkFilters& f) const {
  for (const std::string& t : f.types) {
    if (t != "custom" && t != "builtin") {
      return absl::UnknownError("invalid filter: 'type'='" + t + "'");
    }
  }
  bool want_dangling = false;
  bool dangling_filter = false;
  for (const std::string& d : f.dangling) {
    if (d == "true" || d == "1") {
      want_dangling = dangling_filter = true;
    } else if (d == "false" || d == "0") {
      dangling_filter = true;
    } else {
      return absl::InvalidArgumentError("Invalid filter: 'dangling'='" + d + "'");
    }
  }
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<NetworkView> all;
  for (const store::NetworkEntry& e : reads_.Networks()) {
    all.push_back({e->object, e->json, false});
  }
  for (NetworkView& p : Predefined()) all.push_back(std::move(p));
  std::vector<NetworkView> out;
  for (NetworkView& v : all) {
    const Network& n = v.network;
    if (!NameMatches(v, f.names) || !MatchAnyPrefix(f.id_prefixes, n.id) ||
        !MatchLabels(f.labels, n.labels) || !MatchAny(f.drivers, n.driver) ||
        !MatchAny(f.scopes, n.scope) || !MatchAny(f.types, v.predefined ? "builtin" : "custom")) {
      continue;
    }
    if (dangling_filter) {
      const bool dangling = !v.predefined && ServicesUsingNetwork(reads_, n.id).empty();
      if (dangling != want_dangling) continue;
    }
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<NetworkView> NetworkApi::Resolve(const std::string& ref) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<NetworkView> all;
  for (const store::NetworkEntry& e : reads_.Networks()) {
    all.push_back({e->object, e->json, false});
  }
  for (NetworkView& p : Predefined()) all.push_back(std::move(p));
  for (const NetworkView& v : all) {
    if (v.network.id == ref) return v;
  }
  std::vector<const NetworkView*> by_name;
  std::vector<const NetworkView*> by_prefix;
  for (const NetworkView& v : all) {
    if (v.network.name == ref) by_name.push_back(&v);
    if (!ref.empty() && HasPrefix(v.network.id, ref)) by_prefix.push_back(&v);
  }
  if (by_name.size() == 1) return *by_name.front();
  if (by_name.size() > 1) {
    return absl::InvalidArgumentError(std::to_string(by_name.size()) +
                                      " matches found based on name: network " + ref +
                                      " is ambiguous");
  }
  if (by_prefix.size() == 1) return *by_prefix.front();
  if (by_prefix.size() > 1) {
    return absl::InvalidArgumentError(std::to_string(by_prefix.size()) +
                                      " matches found based on ID prefix: network " + ref +
                                      " is ambiguous");
  }
  return absl::NotFoundError("network " + ref + " not found");
}

}  // namespace capsule::controlapi
