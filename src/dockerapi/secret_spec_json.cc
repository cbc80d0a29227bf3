#include "dockerapi/secret_spec_json.h"

#include <memory>

#include "dockerapi/http/go_base64.h"
#include "dockerapi/request_json.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;

const http::GoSchema& SecretSpecSchema() {
  static const auto* schema = [] {
    auto driver = std::make_shared<http::GoSchema>(http::GoSchema{
        "Driver",
        "swarm.Driver",
        {{"Name", GoKind::kString, nullptr, ""}, {"Options", GoKind::kStringMap, nullptr, ""}}});
    return new http::GoSchema{"SecretSpec",
                              "swarm.SecretSpec",
                              {{"Name", GoKind::kString, nullptr, ""},
                               {"Labels", GoKind::kStringMap, nullptr, ""},
                               {"Data", GoKind::kBytes, nullptr, ""},
                               {"Driver", GoKind::kStruct, driver, ""},
                               {"Templating", GoKind::kStruct, driver, ""}}};
  }();
  return *schema;
}

std::optional<Driver> DriverField(const nlohmann::json& spec, std::string_view name) {
  const nlohmann::json* f = http::GoField(spec, name);
  if (f == nullptr || !f->is_object()) return std::nullopt;
  return Driver{StringField(*f, "Name"), StringMapField(*f, "Options")};
}

}  // namespace

StatusOr<controlapi::SecretSpec> ParseSecretSpec(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json v, ReadJsonBody(body, SecretSpecSchema()));
  controlapi::SecretSpec spec;
  spec.name = StringField(v, "Name");
  spec.labels = StringMapField(v, "Labels");
  spec.driver = DriverField(v, "Driver");
  spec.templating = DriverField(v, "Templating");
  auto* data = const_cast<nlohmann::json*>(http::GoField(v, "Data"));
  if (data != nullptr && data->is_string()) {
    StatusOr<SecretBytes> bytes = http::DecodeStdBase64(data->get_ref<const std::string&>());
    WipeString(data->get_ref<std::string&>());
    if (!bytes.ok()) return absl::InvalidArgumentError(std::string(bytes.status().message()));
    spec.data = *std::move(bytes);
  }
  return spec;
}

}  // namespace capsule::dockerapi
