#include "dockerapi/network_spec_json.h"

#include <memory>

#include "dockerapi/request_json.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;
using S = http::GoSchema;

const S& NetworkCreateSchema() {
  static const S* schema = [] {
    auto config = std::make_shared<S>(S{"IPAMConfig",
                                        "network.IPAMConfig",
                                        {{"Subnet", GoKind::kString, nullptr, ""},
                                         {"IPRange", GoKind::kString, nullptr, ""},
                                         {"Gateway", GoKind::kString, nullptr, ""},
                                         {"AuxiliaryAddresses", GoKind::kStringMap, nullptr, ""}}});
    auto ipam =
        std::make_shared<S>(S{"IPAM",
                              "network.IPAM",
                              {{"Driver", GoKind::kString, nullptr, ""},
                               {"Options", GoKind::kStringMap, nullptr, ""},
                               {"Config", GoKind::kStructSlice, config, "[]network.IPAMConfig"}}});
    auto from = std::make_shared<S>(S{
        "ConfigReference", "network.ConfigReference", {{"Network", GoKind::kString, nullptr, ""}}});
    return new S{"NetworkCreateRequest",
                 "types.NetworkCreateRequest",
                 {{"Name", GoKind::kString, nullptr, ""},
                  {"CheckDuplicate", GoKind::kBool, nullptr, ""},
                  {"Driver", GoKind::kString, nullptr, ""},
                  {"Scope", GoKind::kString, nullptr, ""},
                  {"EnableIPv6", GoKind::kBool, nullptr, ""},
                  {"IPAM", GoKind::kStruct, ipam, "network.IPAM"},
                  {"Internal", GoKind::kBool, nullptr, ""},
                  {"Attachable", GoKind::kBool, nullptr, ""},
                  {"Ingress", GoKind::kBool, nullptr, ""},
                  {"ConfigOnly", GoKind::kBool, nullptr, ""},
                  {"ConfigFrom", GoKind::kStruct, from, "network.ConfigReference"},
                  {"Options", GoKind::kStringMap, nullptr, ""},
                  {"Labels", GoKind::kStringMap, nullptr, ""}}};
  }();
  return *schema;
}

bool BoolField(const nlohmann::json& obj, std::string_view name) {
  const nlohmann::json* f = http::GoField(obj, name);
  return f != nullptr && f->is_boolean() && f->get<bool>();
}

}  // namespace

StatusOr<controlapi::NetworkCreateRequest> ParseNetworkCreate(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json v, ReadJsonBody(body, NetworkCreateSchema()));
  controlapi::NetworkCreateRequest r;
  if (!v.is_object()) return r;  // "null": every field zero, as Go leaves it
  r.name = StringField(v, "Name");
  r.driver = StringField(v, "Driver");
  r.scope = StringField(v, "Scope");
  r.labels = StringMapField(v, "Labels");
  r.options = StringMapField(v, "Options");
  r.check_duplicate = BoolField(v, "CheckDuplicate");
  r.internal = BoolField(v, "Internal");
  r.attachable = BoolField(v, "Attachable");
  r.ingress = BoolField(v, "Ingress");
  r.enable_ipv6 = BoolField(v, "EnableIPv6");
  r.config_only = BoolField(v, "ConfigOnly");
  if (const nlohmann::json* from = http::GoField(v, "ConfigFrom"); from && from->is_object()) {
    r.config_from = StringField(*from, "Network");
  }
  if (const nlohmann::json* ipam = http::GoField(v, "IPAM"); ipam && ipam->is_object()) {
    r.ipam_driver = StringField(*ipam, "Driver");
    r.ipam_options = StringMapField(*ipam, "Options");
    if (const nlohmann::json* configs = http::GoField(*ipam, "Config");
        configs && configs->is_array()) {
      for (const nlohmann::json& c : *configs) {
        if (!c.is_object()) {
          r.ipam_configs.push_back({});
          continue;
        }
        r.ipam_configs.push_back(
            {StringField(c, "Subnet"), StringField(c, "IPRange"), StringField(c, "Gateway")});
      }
    }
  }
  return r;
}

}  // namespace capsule::dockerapi
