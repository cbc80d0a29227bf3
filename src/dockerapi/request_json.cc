#include "dockerapi/request_json.h"

namespace capsule::dockerapi {

StatusOr<nlohmann::json> ReadJsonBody(const std::string& body, const http::GoSchema& schema) {
  StatusOr<nlohmann::json> v = http::DecodeGoJson(body);
  if (!v.ok()) {
    if (http::IsGoEof(v.status())) {
      return absl::InvalidArgumentError("got EOF while reading request body");
    }
    return absl::InvalidArgumentError(std::string(v.status().message()));
  }
  Status types = http::CheckGoTypes(*v, schema);
  if (!types.ok()) return absl::InvalidArgumentError(std::string(types.message()));
  return v;
}

std::map<std::string, std::string> StringMapField(const nlohmann::json& obj,
                                                  std::string_view name) {
  std::map<std::string, std::string> out;
  const nlohmann::json* f = http::GoField(obj, name);
  if (f == nullptr || !f->is_object()) return out;
  for (const auto& [k, v] : f->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::string StringField(const nlohmann::json& obj, std::string_view name) {
  const nlohmann::json* f = http::GoField(obj, name);
  return (f != nullptr && f->is_string()) ? f->get<std::string>() : std::string();
}

}  // namespace capsule::dockerapi
