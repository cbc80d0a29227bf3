// Small helpers shared by the command files: reading nested JSON fields and escaping an
// object reference for a URL path.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace capsule::cli {

// The string at j[path[0]][path[1]]...; "" when absent or not a string. J is
// nlohmann::json or nlohmann::ordered_json.
template <typename J>
std::string StringAt(const J& j, std::initializer_list<const char*> path) {
  const J* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->template get<std::string>() : "";
}

// QueryEscape, with ' ' as %20 (a path keeps '+' literally).
std::string PathEscape(const std::string& s);

}  // namespace capsule::cli
