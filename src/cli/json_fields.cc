#include "cli/json_fields.h"

#include "cli/query.h"

namespace capsule::cli {

std::string PathEscape(const std::string& s) {
  std::string out;
  for (char c : QueryEscape(s)) out += c == '+' ? std::string("%20") : std::string(1, c);
  return out;
}

}  // namespace capsule::cli
