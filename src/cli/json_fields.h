// Small helpers shared by the node and swarm commands: reading nested JSON fields and
// escaping an object reference for a URL path. (secret_ops.cc has private copies.)
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

namespace capsule::cli {

// The string at j[path[0]][path[1]]...; "" when absent or not a string.
std::string StringAt(const nlohmann::ordered_json& j, std::initializer_list<const char*> path);

// QueryEscape, with ' ' as %20 (a path keeps '+' literally).
std::string PathEscape(const std::string& s);

}  // namespace capsule::cli
