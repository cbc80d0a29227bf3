// ParseReference (declared in reference.h).
#include "agent/images/reference.h"

#include <algorithm>
#include <vector>

namespace capsule::agent {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!word(t[0])) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

// One path component: [a-z0-9]+ separated by '.', '_', '__' or '-'+.
bool ValidComponent(const std::string& c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return IsLowerAlnum(ch) || ch == '.' || ch == '_' || ch == '-';
  });
}

bool ValidDomain(const std::string& d) {
  return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) {
    return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':';
  });
}

}  // namespace

StatusOr<Reference> ParseReference(const std::string& ref) {
  const Status bad = absl::InvalidArgumentError("invalid reference format");
  if (ref.empty() || ref.size() > 255 || ref.find('@') != std::string::npos) return bad;
  Reference out;
  const size_t last_slash = ref.rfind('/');
  const size_t colon = ref.rfind(':');
  std::string name = ref;
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    name = ref.substr(0, colon);
    out.tag = ref.substr(colon + 1);
    if (!ValidTag(out.tag)) return bad;
  } else {
    out.tag = "latest";
  }
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    const size_t s = name.find('/', i);
    parts.push_back(name.substr(i, s == std::string::npos ? std::string::npos : s - i));
    if (s == std::string::npos) break;
    i = s + 1;
  }
  // The first part is a registry domain when it has a '.' or ':' or is "localhost".
  size_t first = 0;
  if (parts.size() > 1 &&
      (parts[0].find_first_of(".:") != std::string::npos || parts[0] == "localhost" ||
       std::any_of(parts[0].begin(), parts[0].end(),
                   [](char c) { return c >= 'A' && c <= 'Z'; }))) {
    if (!ValidDomain(parts[0])) return bad;
    first = 1;
  }
  for (size_t k = first; k < parts.size(); ++k) {
    if (std::any_of(parts[k].begin(), parts[k].end(),
                    [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return absl::InvalidArgumentError(
          "invalid reference format: repository name must be lowercase");
    }
    if (!ValidComponent(parts[k])) return bad;
  }
  out.repo = name;
  for (const char* prefix :
       {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    const std::string p = prefix;
    if (out.repo.rfind(p, 0) == 0 && out.repo.size() > p.size()) {
      out.repo = out.repo.substr(p.size());
      break;
    }
  }
  return out;
}

}  // namespace capsule::agent
