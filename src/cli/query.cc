#include "cli/query.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"

namespace capsule::cli {

std::string QueryEscape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EncodeQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += QueryEscape(key);
    out += '=';
    out += QueryEscape(value);
  }
  return out;
}

Status AddFilterFlag(const std::string& flag, FilterArgs* args) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError("bad format of filter (expected name=value)");
  }
  std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(flag.substr(0, eq)));
  std::string value(absl::StripAsciiWhitespace(flag.substr(eq + 1)));
  (*args)[name].push_back(value);
  return absl::OkStatus();
}

std::string FiltersToJson(const FilterArgs& args) {
  if (args.empty()) return "";
  nlohmann::json j = nlohmann::json::object();  // std::map: keys come out sorted, as Go's
  for (const auto& [name, values] : args) {
    nlohmann::json set = nlohmann::json::object();
    for (const std::string& v : values) set[v] = true;
    j[name] = set;
  }
  return j.dump();
}

}  // namespace capsule::cli
