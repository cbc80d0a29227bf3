#include "dockerapi/secret_spec_json.h"

#include <memory>

#include "dockerapi/http/go_base64.h"
#include "dockerapi/request_json.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;

std::shared_ptr<const http::GoSchema> DriverSchema() {
  static const auto driver = std::make_shared<http::GoSchema>(http::GoSchema{
      "Driver",
      "swarm.Driver",
      {{"Name", GoKind::kString, nullptr, ""}, {"Options", GoKind::kStringMap, nullptr, ""}}});
  return driver;
}

const http::GoSchema& SecretSpecSchema() {
  static const auto* schema =
      new http::GoSchema{"SecretSpec",
                         "swarm.SecretSpec",
                         {{"Name", GoKind::kString, nullptr, ""},
                          {"Labels", GoKind::kStringMap, nullptr, ""},
                          {"Data", GoKind::kBytes, nullptr, ""},
                          {"Driver", GoKind::kStruct, DriverSchema(), ""},
                          {"Templating", GoKind::kStruct, DriverSchema(), ""}}};
  return *schema;
}

// swarm.ConfigSpec: a SecretSpec without Driver.
const http::GoSchema& ConfigSpecSchema() {
  static const auto* schema =
      new http::GoSchema{"ConfigSpec",
                         "swarm.ConfigSpec",
                         {{"Name", GoKind::kString, nullptr, ""},
                          {"Labels", GoKind::kStringMap, nullptr, ""},
                          {"Data", GoKind::kBytes, nullptr, ""},
                          {"Templating", GoKind::kStruct, DriverSchema(), ""}}};
  return *schema;
}

std::optional<Driver> DriverField(const nlohmann::json& spec, std::string_view name) {
  const nlohmann::json* f = http::GoField(spec, name);
  if (f == nullptr || !f->is_object()) return std::nullopt;
  return Driver{StringField(*f, "Name"), StringMapField(*f, "Options")};
}

}  // namespace

namespace {

// Both specs, read with `schema` (a field the schema lacks stays unset).
StatusOr<controlapi::SecretSpec> ParseDataObjectSpec(const std::string& body,
                                                     const http::GoSchema& schema) {
  ASSIGN_OR_RETURN(nlohmann::json v, ReadJsonBody(body, schema));
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

}  // namespace

StatusOr<controlapi::SecretSpec> ParseSecretSpec(const std::string& body) {
  return ParseDataObjectSpec(body, SecretSpecSchema());
}

StatusOr<controlapi::ConfigSpec> ParseConfigSpec(const std::string& body) {
  ASSIGN_OR_RETURN(controlapi::SecretSpec s, ParseDataObjectSpec(body, ConfigSpecSchema()));
  controlapi::ConfigSpec spec;
  static_cast<controlapi::DataObjectSpec&>(spec) = std::move(s);  // no Driver in the schema
  return spec;
}

}  // namespace capsule::dockerapi
