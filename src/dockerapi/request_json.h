// Reading request bodies as the Docker engine does (Go's json.Decoder): the same error
// messages, EOF → "got EOF while reading request body", all as InvalidArgument (400).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "dockerapi/http/go_json.h"

namespace capsule::dockerapi {

// Decodes `body` and checks it against `schema` (type errors as Go reports them).
StatusOr<nlohmann::json> ReadJsonBody(const std::string& body, const http::GoSchema& schema);

// Labels from an optional map[string]string field (absent/null → empty).
std::map<std::string, std::string> StringMapField(const nlohmann::json& obj, std::string_view name);
std::string StringField(const nlohmann::json& obj, std::string_view name);

}  // namespace capsule::dockerapi
