#include "objects/network.h"

#include "objects/json_reader.h"

namespace capsule {
namespace {

using objects_internal::ApiTime;

Status Corrupt() { return absl::DataLossError("stored network object is malformed"); }

Json IpamConfigsJson(const std::vector<IpamConfig>& configs, const char* range_key) {
  Json out = Json::array();
  for (const IpamConfig& c : configs) {
    Json j = Json::object();
    if (!c.subnet.empty()) j["Subnet"] = c.subnet;
    if (!c.ip_range.empty()) j[range_key] = c.ip_range;
    if (!c.gateway.empty()) j["Gateway"] = c.gateway;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<IpamConfig> ParseIpamConfigs(const Json& j) {
  std::vector<IpamConfig> out;
  if (!j.is_array()) return out;
  for (const Json& c : j) {
    if (!c.is_object()) continue;
    out.push_back({c.value("Subnet", ""), c.value("IPRange", ""), c.value("Gateway", "")});
  }
  return out;
}

std::map<std::string, std::string> StringMap(const Json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_object()) return {};
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j[key].items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::string VxlanList(const Network& n) {
  std::string out;
  for (uint32_t id : n.vxlan_ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

// DriverState.Options / the resource's Options: the VXLAN IDs, then the user's options (a
// Go map: sorted by key).
Json DriverStateOptions(const Network& n) {
  std::map<std::string, std::string> opts;
  if (!n.vxlan_ids.empty()) opts[kVxlanOption] = VxlanList(n);
  for (const auto& [k, v] : n.options) opts[k] = v;
  return opts;
}

}  // namespace

std::string EncodeNetworkMeta(const Network& n) {
  Json j = {{"ID", n.id},
            {"CreatedAt", ToUnixNanos(n.created_at)},
            {"UpdatedAt", ToUnixNanos(n.updated_at)},
            {"Name", n.name},
            {"Labels", n.labels},
            {"Driver", n.driver},
            {"Scope", n.scope},
            {"Options", n.options},
            {"Internal", n.internal},
            {"Attachable", n.attachable},
            {"Ingress", n.ingress},
            {"EnableIPv6", n.enable_ipv6},
            {"IPAMDriver", n.ipam_driver},
            {"IPAMOptions", n.ipam_options},
            {"IPAMSpec", IpamConfigsJson(n.ipam_spec, "IPRange")},
            {"IPAM", IpamConfigsJson(n.ipam, "IPRange")},
            {"VXLAN", n.vxlan_ids}};
  return j.dump();
}

StatusOr<Network> DecodeNetworkMeta(std::string_view meta) {
  Json j = Json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string() || !j.contains("Name") ||
      !j["Name"].is_string()) {
    return Corrupt();
  }
  Network n;
  n.id = j["ID"].get<std::string>();
  n.name = j["Name"].get<std::string>();
  const Json& created = j.contains("CreatedAt") ? j["CreatedAt"] : Json(0);
  const Json& updated = j.contains("UpdatedAt") ? j["UpdatedAt"] : Json(0);
  if (!created.is_number_integer() || !updated.is_number_integer()) return Corrupt();
  n.created_at = FromUnixNanos(created.get<int64_t>());
  n.updated_at = FromUnixNanos(updated.get<int64_t>());
  n.labels = StringMap(j, "Labels");
  n.driver = j.value("Driver", "overlay");
  n.scope = j.value("Scope", "swarm");
  n.options = StringMap(j, "Options");
  n.internal = j.value("Internal", false);
  n.attachable = j.value("Attachable", false);
  n.ingress = j.value("Ingress", false);
  n.enable_ipv6 = j.value("EnableIPv6", false);
  n.ipam_driver = j.value("IPAMDriver", "default");
  n.ipam_options = StringMap(j, "IPAMOptions");
  n.ipam_spec = ParseIpamConfigs(j.value("IPAMSpec", Json::array()));
  n.ipam = ParseIpamConfigs(j.value("IPAM", Json::array()));
  if (j.contains("VXLAN") && j["VXLAN"].is_array()) {
    for (const Json& v : j["VXLAN"]) {
      if (!v.is_number_unsigned()) return Corrupt();
      n.vxlan_ids.push_back(v.get<uint32_t>());
    }
  }
  return n;
}

std::string RenderNetwork(const Network& n) {
  const bool local = n.scope == "local";
  Json ipam = {{"Driver", n.ipam_driver},
               {"Options", n.ipam_options.empty() ? Json(nullptr) : Json(n.ipam_options)},
               {"Config", IpamConfigsJson(n.ipam, "IPRange")}};
  Json j = {{"Name", n.name},
            {"Id", n.id},
            {"Created", ApiTime(n.created_at)},
            {"Scope", n.scope},
            {"Driver", n.driver},
            {"EnableIPv6", n.enable_ipv6},
            {"IPAM", std::move(ipam)},
            {"Internal", n.internal},
            {"Attachable", n.attachable},
            {"Ingress", n.ingress},
            {"ConfigFrom", {{"Network", ""}}},
            {"ConfigOnly", false},
            {"Containers", local ? Json::object() : Json(nullptr)},
            {"Options", DriverStateOptions(n)}};
  j["Labels"] = (local || !n.labels.empty()) ? Json(n.labels) : Json(nullptr);
  return j.dump();
}

Json NetworkObjectJson(const Network& n, int64_t version) {
  Json driver = {{"Name", n.driver}};
  if (!n.options.empty()) driver["Options"] = n.options;
  Json spec = {{"Name", n.name}, {"Labels", n.labels}, {"DriverConfiguration", driver}};
  if (n.internal) spec["Internal"] = true;
  if (n.attachable) spec["Attachable"] = true;
  if (n.ingress) spec["Ingress"] = true;
  if (!n.ipam_spec.empty()) {
    spec["IPAMOptions"] = {{"Driver", {{"Name", n.ipam_driver}}},
                           {"Configs", IpamConfigsJson(n.ipam_spec, "Range")}};
  }
  spec["Scope"] = n.scope;
  Json state = {{"Name", n.driver}};
  Json opts = DriverStateOptions(n);
  if (!opts.empty()) state["Options"] = std::move(opts);
  return {{"ID", n.id},
          {"Version", {{"Index", version}}},
          {"CreatedAt", ApiTime(n.created_at)},
          {"UpdatedAt", ApiTime(n.updated_at)},
          {"Spec", std::move(spec)},
          {"DriverState", std::move(state)},
          {"IPAMOptions",
           {{"Driver", {{"Name", n.ipam_driver}}}, {"Configs", IpamConfigsJson(n.ipam, "Range")}}}};
}

}  // namespace capsule
