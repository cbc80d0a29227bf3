#include "dockerapi/http/filters.h"

#include <nlohmann/json.hpp>
#include <set>

#include "dockerapi/http/go_json.h"

namespace capsule::http {
namespace {

using nlohmann::json;

std::string ValueTypeError(const json& v, const char* go_type) {
  return "json: cannot unmarshal " + GoJsonTypeName(v) + " into Go value of type " + go_type;
}

// json.Unmarshal into map[string]map[string]bool; "" if it fits.
std::string CheckCurrentForm(const json& v) {
  if (v.is_null()) return "";
  if (!v.is_object()) return ValueTypeError(v, "map[string]map[string]bool");
  for (const auto& [key, inner] : v.items()) {
    if (inner.is_null()) continue;
    if (!inner.is_object()) return ValueTypeError(inner, "map[string]bool");
    for (const auto& [k, b] : inner.items()) {
      if (!b.is_null() && !b.is_boolean()) return ValueTypeError(b, "bool");
    }
  }
  return "";
}

// json.Unmarshal into map[string][]string; "" if it fits.
std::string CheckLegacyForm(const json& v) {
  if (v.is_null()) return "";
  if (!v.is_object()) return ValueTypeError(v, "map[string][]string");
  for (const auto& [key, inner] : v.items()) {
    if (inner.is_null()) continue;
    if (!inner.is_array()) return ValueTypeError(inner, "[]string");
    for (const auto& s : inner) {
      if (!s.is_null() && !s.is_string()) return ValueTypeError(s, "string");
    }
  }
  return "";
}

}  // namespace

StatusOr<Filters> ParseFilters(const std::string& raw) {
  Filters out;
  if (raw.empty()) return out;
  auto parsed = UnmarshalGoJson(raw);
  if (!parsed.ok()) return absl::InternalError(std::string(parsed.status().message()));
  const json& v = *parsed;
  const std::string current_err = CheckCurrentForm(v);
  if (current_err.empty()) {
    if (v.is_null()) return out;
    for (const auto& [key, inner] : v.items()) {
      auto& values = out[key];
      if (inner.is_null()) continue;
      // Docker's Get returns every key of the inner map, whatever its bool.
      for (const auto& [value, b] : inner.items()) values.push_back(value);
    }
    return out;
  }
  if (!CheckLegacyForm(v).empty()) return absl::InternalError(current_err);
  if (v.is_null()) return out;
  for (const auto& [key, inner] : v.items()) {
    std::set<std::string> values;
    if (inner.is_array()) {
      for (const auto& s : inner) values.insert(s.is_string() ? s.get<std::string>() : "");
    }
    out[key].assign(values.begin(), values.end());
  }
  return out;
}

Status ValidateFilters(const Filters& filters, const std::vector<std::string>& allowed) {
  for (const auto& [key, values] : filters) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok) return absl::InvalidArgumentError("Invalid filter '" + key + "'");
  }
  return absl::OkStatus();
}

const std::vector<std::string>& FilterValues(const Filters& filters, const std::string& key) {
  static const std::vector<std::string> kEmpty;
  auto it = filters.find(key);
  return it == filters.end() ? kEmpty : it->second;
}

}  // namespace capsule::http
