#include "cli/json_fields.h"

#include "cli/query.h"

namespace capsule::cli {

std::string StringAt(const nlohmann::ordered_json& j, std::initializer_list<const char*> path) {
  const nlohmann::ordered_json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

std::string PathEscape(const std::string& s) {
  std::string out;
  for (char c : QueryEscape(s)) out += c == '+' ? std::string("%20") : std::string(1, c);
  return out;
}

}  // namespace capsule::cli
