// ParsePullReference (declared in pull_reference.h).
#include "agent/registry/pull_reference.h"

#include <algorithm>
#include <vector>

namespace capsule::agent::registry {
namespace {

constexpr char kHub[] = "docker.io";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return IsLowerAlnum(c) || IsUpper(c) || c == '_'; };
  if (!word(t[0])) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool ValidComponent(const std::string& c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) {
    return IsLowerAlnum(ch) || ch == '.' || ch == '_' || ch == '-';
  });
}

bool ValidDomain(const std::string& d) {
  return !d.empty() && d.front() != ':' && d.back() != ':' &&
         std::all_of(d.begin(), d.end(), [](char c) {
           return IsLowerAlnum(c) || IsUpper(c) || c == '.' || c == '-' || c == ':';
         });
}

}  // namespace

bool IsSha256Digest(const std::string& d) {
  if (d.size() != 71 || d.compare(0, 7, "sha256:") != 0) return false;
  return std::all_of(d.begin() + 7, d.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string PullReference::Familiar() const {
  if (domain != kHub) return domain + "/" + path;
  if (path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos) {
    return path.substr(8);
  }
  return path;
}

std::string PullReference::String() const {
  std::string s = domain + "/" + path;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

StatusOr<PullReference> ParsePullReference(const std::string& image, const std::string& tag) {
  const Status bad = absl::InvalidArgumentError("invalid reference format");
  if (image.empty() || image.size() > 255) return bad;
  PullReference out;
  std::string name = image;
  if (const size_t at = name.find('@'); at != std::string::npos) {
    out.digest = name.substr(at + 1);
    name = name.substr(0, at);
    if (!IsSha256Digest(out.digest)) return bad;
  }
  const size_t last_slash = name.rfind('/');
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    out.tag = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!ValidTag(out.tag)) return bad;
  }
  if (out.tag.empty() && out.digest.empty() && !tag.empty()) {
    if (IsSha256Digest(tag)) {
      out.digest = tag;
    } else if (ValidTag(tag)) {
      out.tag = tag;
    } else {
      return bad;
    }
  }
  if (out.tag.empty() && out.digest.empty()) out.tag = "latest";
  std::vector<std::string> parts;
  for (size_t i = 0;;) {
    const size_t s = name.find('/', i);
    parts.push_back(name.substr(i, s == std::string::npos ? std::string::npos : s - i));
    if (s == std::string::npos) break;
    i = s + 1;
  }
  size_t first = 0;
  if (parts.size() > 1 &&
      (parts[0].find_first_of(".:") != std::string::npos || parts[0] == "localhost" ||
       std::any_of(parts[0].begin(), parts[0].end(), IsUpper))) {
    if (!ValidDomain(parts[0])) return bad;
    out.domain = parts[0];
    first = 1;
  } else {
    out.domain = kHub;
  }
  if (out.domain == "index.docker.io") out.domain = kHub;
  for (size_t k = first; k < parts.size(); ++k) {
    if (std::any_of(parts[k].begin(), parts[k].end(), IsUpper)) {
      return absl::InvalidArgumentError(
          "invalid reference format: repository name must be lowercase");
    }
    if (!ValidComponent(parts[k])) return bad;
    if (!out.path.empty()) out.path += "/";
    out.path += parts[k];
  }
  if (out.domain == kHub && first + 1 == parts.size()) out.path = "library/" + out.path;
  return out;
}

}  // namespace capsule::agent::registry
