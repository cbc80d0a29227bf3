#include "cli/json_indent.h"

#include <nlohmann/json.hpp>

namespace capsule::cli {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

StatusOr<std::string> IndentJson(const std::string& raw, const std::string& indent) {
  if (!nlohmann::json::accept(raw)) {
    return absl::InvalidArgumentError("invalid JSON from the daemon");
  }
  std::string out;
  out.reserve(raw.size() * 2);
  int depth = 0;
  auto newline = [&] {
    out += '\n';
    for (int d = 0; d < depth; ++d) out += indent;
  };
  const size_t n = raw.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = raw[i];
    if (IsSpace(c)) continue;
    switch (c) {
      case '"': {
        size_t j = i + 1;
        while (j < n && raw[j] != '"') j += (raw[j] == '\\') ? 2 : 1;
        out.append(raw, i, j - i + 1);
        i = j;
        break;
      }
      case '{':
      case '[': {
        size_t j = i + 1;
        while (j < n && IsSpace(raw[j])) ++j;
        const char close = c == '{' ? '}' : ']';
        out += c;
        if (j < n && raw[j] == close) {
          out += close;
          i = j;
        } else {
          ++depth;
          newline();
        }
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace capsule::cli
