#include "manager/controlapi/validation/service_validate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <type_traits>

namespace capsule::controlapi {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// swarmkit's alphaNumeric key pattern: ^(?i)[a-z_][a-z0-9\-_.]+$
bool ValidConstraintKey(const std::string& k) {
  if (k.size() < 2) return false;
  if (!(std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  for (size_t i = 1; i < k.size(); ++i) {
    char c = k[i];
    if (!(IsAlnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// swarmkit's value pattern: ^(?i)[a-z0-9:\-_\s\.\*\(\)\?\+\[\]\\\^\$\|\/]+$
bool ValidConstraintValue(const std::string& v) {
  if (v.empty()) return false;
  static const std::string kExtra = ":-_ \t\n\r\v\f.*()?+[]\\^$|/";
  for (char c : v) {
    if (!IsAlnum(c) && kExtra.find(c) == std::string::npos) return false;
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

bool SupportedConstraintKey(const std::string& key) {
  const std::string k = Lower(key);
  if (k == "node.id" || k == "node.hostname" || k == "node.role") return true;
  const std::string labels = "node.labels.";
  return k.size() > labels.size() && k.compare(0, labels.size(), labels) == 0;
}

// The mount rules below are the same for secrets and configs; `kind` names which in messages.
Status InvalidTarget(const std::string& kind, const std::string& target, const char* why) {
  return absl::InvalidArgumentError("invalid " + kind + " target '" + target + "': " + why);
}

// Capsule's own rule (ARCHITECTURE.md): no '.', '..' or empty path components. A leading '/'
// makes the target absolute and is not an empty component.
Status ValidateTargetPath(const std::string& kind, const std::string& target) {
  // The agent refuses these when it mounts (agent/executor/secret_mount.cc): refuse them here,
  // or the service is accepted and its tasks fail forever. (Found by tests/fuzz.)
  if (target.find('\0') != std::string::npos)
    return InvalidTarget(kind, target, "contains a NUL byte");
  size_t start = target.empty() || target[0] != '/' ? 0 : 1;
  if (start == target.size()) return InvalidTarget(kind, target, "empty file name");
  while (true) {
    size_t slash = target.find('/', start);
    std::string part =
        target.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty()) return InvalidTarget(kind, target, "empty path component");
    if (part == "." || part == "..") {
      return InvalidTarget(kind, target, "'.' and '..' path components are not allowed");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return absl::OkStatus();
}

// ---- image references (distribution/reference grammar) ------------------------------------

// path-component: [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool ValidPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain: label ("." label)* (":" port)? where label = [a-zA-Z0-9] ([a-zA-Z0-9-]* [a-zA-Z0-9])?
bool ValidDomain(std::string_view d) {
  size_t colon = d.find(':');
  std::string_view host = d.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return IsAlnum(c) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool ValidDigest(std::string_view d) {
  size_t colon = d.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= d.size()) return false;
  for (char c : d.substr(colon + 1)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return d.size() - colon - 1 >= 32;
}

bool ValidReference(std::string_view ref) {
  if (ref.empty() || ref.size() > 255 + 128 + 80) return false;
  std::string_view name = ref;
  size_t at = ref.find('@');
  if (at != std::string_view::npos) {
    if (!ValidDigest(ref.substr(at + 1))) return false;
    name = ref.substr(0, at);
  }
  // The tag is what follows the last ':' after the last '/'.
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    if (!ValidTag(name.substr(colon + 1))) return false;
    name = name.substr(0, colon);
  }
  if (name.empty() || name.size() > 255) return false;
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t s = name.find('/', start);
    parts.push_back(name.substr(start, s == std::string_view::npos ? s : s - start));
    if (s == std::string_view::npos) break;
    start = s + 1;
  }
  size_t first = 0;
  if (parts.size() > 1) {
    std::string_view d = parts[0];
    bool looks_like_domain = d.find('.') != std::string_view::npos ||
                             d.find(':') != std::string_view::npos || d == "localhost" ||
                             Lower(std::string(d)) != std::string(d);
    if (looks_like_domain) {
      if (!ValidDomain(d)) return false;
      first = 1;
    }
  }
  for (size_t i = first; i < parts.size(); ++i) {
    if (!ValidPathComponent(parts[i])) return false;
  }
  return true;
}

}  // namespace

Status ValidateServiceName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("meta: name must be provided");
  // ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$ : alphanumeric at both ends, '-' and '_' inside.
  bool ok = IsAlnum(name.front()) && IsAlnum(name.back());
  for (char c : name) ok = ok && (IsAlnum(c) || c == '-' || c == '_');
  if (!ok) return absl::InvalidArgumentError("name must be valid as a DNS name component");
  if (name.size() > 63) return absl::InvalidArgumentError("name must be 63 characters or fewer");
  return absl::OkStatus();
}

Status ValidateConstraints(const std::vector<std::string>& constraints) {
  for (const std::string& e : constraints) {
    size_t pos = std::string::npos;
    size_t op_len = 2;
    for (const char* op : {"==", "!="}) {
      pos = e.find(op);
      if (pos != std::string::npos) break;
    }
    if (pos == std::string::npos) {
      return absl::UnknownError("constraint expected one operator from ==, !=");
    }
    std::string key = Trim(std::string_view(e).substr(0, pos));
    if (!ValidConstraintKey(key)) return absl::UnknownError("key '" + key + "' is invalid");
    std::string value = Trim(std::string_view(e).substr(pos + op_len));
    if (!ValidConstraintValue(value)) {
      return absl::UnknownError("value '" + value + "' is invalid");
    }
    if (!SupportedConstraintKey(key)) {
      return absl::InvalidArgumentError("constraint key '" + key +
                                        "' is not supported: use node.id, node.hostname, "
                                        "node.role or node.labels.<label>");
    }
  }
  return absl::OkStatus();
}

namespace {

const std::string& RefId(const SecretReference& r) { return r.secret_id; }
const std::string& RefName(const SecretReference& r) { return r.secret_name; }
const std::string& RefId(const ConfigReference& r) { return r.config_id; }
const std::string& RefName(const ConfigReference& r) { return r.config_name; }

// swarmkit's checks of secret and config references, keyed by the destination in the task
// (`dir` + "/" + a relative target), so "password" and "/run/secrets/password" conflict as
// they would at mount time. `targets` (destination → name) holds the destinations already
// taken; references without a file target (a config's Runtime) take none.
template <typename Ref>
Status ValidateFileReferences(const std::vector<Ref>& refs, const std::string& kind,
                              const std::string& dir, std::map<std::string, std::string>* targets) {
  for (const Ref& r : refs) {
    if (RefId(r).empty() || RefName(r).empty()) {
      return absl::InvalidArgumentError("malformed " + kind + " reference");
    }
    bool has_target = r.has_file;
    if constexpr (std::is_same_v<Ref, ConfigReference>) has_target = has_target || r.has_runtime;
    if (!has_target) {
      return absl::InvalidArgumentError("malformed " + kind + " reference, no target provided");
    }
    if (!r.has_file) continue;
    if (r.target.empty()) {
      return absl::InvalidArgumentError("malformed file " + kind +
                                        " reference, invalid target file name provided");
    }
    const std::string dest = r.target[0] == '/' ? r.target : dir + "/" + r.target;
    auto prev = targets->find(dest);
    if (prev != targets->end()) {
      return absl::InvalidArgumentError(kind + " references '" + prev->second + "' and '" +
                                        RefName(r) + "' have a conflicting target: '" + r.target +
                                        "'");
    }
    RETURN_IF_ERROR(ValidateTargetPath(kind, r.target));
    targets->emplace(dest, RefName(r));
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidateSecretReferences(const std::vector<SecretReference>& refs) {
  std::map<std::string, std::string> targets;
  return ValidateFileReferences(refs, "secret", "/run/secrets", &targets);
}

Status ValidateConfigReferences(const std::vector<ConfigReference>& refs,
                                const std::vector<SecretReference>& secrets) {
  std::map<std::string, std::string> targets;
  for (const SecretReference& r : secrets) {
    if (!r.target.empty()) {
      targets.emplace(r.target[0] == '/' ? r.target : "/run/secrets/" + r.target, r.secret_name);
    }
  }
  return ValidateFileReferences(refs, "config", "", &targets);
}

Status ValidateImage(const std::string& image) {
  if (image.empty()) {
    return absl::InvalidArgumentError("ContainerSpec: image reference must be provided");
  }
  if (!ValidReference(image)) {
    return absl::InvalidArgumentError("ContainerSpec: \"" + image +
                                      "\" is not a valid repository/tag");
  }
  return absl::OkStatus();
}

std::string GoFormatG(double v) {
  if (v == 0) return "0";
  char buf[64];
  int digits = 1;  // the fewest significant digits that read back as v
  for (; digits < 17; ++digits) {
    snprintf(buf, sizeof(buf), "%.*e", digits - 1, v);
    if (strtod(buf, nullptr) == v) break;
  }
  snprintf(buf, sizeof(buf), "%.*e", digits - 1, v);
  const int exp = atoi(strchr(buf, 'e') + 1);
  if (exp < -4 || exp >= 6) return buf;  // Go: shortest %g switches at precision 6
  snprintf(buf, sizeof(buf), "%.*f", std::max(digits - 1 - exp, 0), v);
  return buf;
}

namespace {

Status ValidateResourceValues(int64_t nano_cpus, int64_t memory_bytes) {
  if (nano_cpus != 0 && nano_cpus < 1000000) {
    return absl::InvalidArgumentError("invalid cpu value " +
                                      GoFormatG(static_cast<double>(nano_cpus) / 1e9) +
                                      ": Must be at least 0.001");
  }
  if (memory_bytes != 0 && memory_bytes < 4 * 1024 * 1024) {
    return absl::InvalidArgumentError("invalid memory value " + std::to_string(memory_bytes) +
                                      ": Must be at least 4MiB");
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidateResources(const ResourceRequirements& resources) {
  if (resources.limits) {
    const ResourceLimits& l = *resources.limits;
    RETURN_IF_ERROR(ValidateResourceValues(l.nano_cpus, l.memory_bytes));
    if (l.pids < 0) {
      return absl::InvalidArgumentError("invalid pids value " + std::to_string(l.pids) +
                                        ": Must be at least 0");
    }
  }
  if (resources.reservations) {
    const ResourceReservations& r = *resources.reservations;
    RETURN_IF_ERROR(ValidateResourceValues(r.nano_cpus, r.memory_bytes));
  }
  return absl::OkStatus();
}

Status ValidateServiceSpec(const ServiceSpec& spec) {
  RETURN_IF_ERROR(ValidateServiceName(spec.name));
  const TaskSpec& t = spec.task_template;
  if (t.resources) RETURN_IF_ERROR(ValidateResources(*t.resources));  // swarmkit checks it first
  if (t.restart_policy) {
    if (t.restart_policy->delay_ns < 0) {
      return absl::InvalidArgumentError("TaskSpec: restart-delay cannot be negative");
    }
    if (t.restart_policy->window_ns < 0) {
      return absl::InvalidArgumentError("TaskSpec: restart-window cannot be negative");
    }
  }
  RETURN_IF_ERROR(ValidateConstraints(t.placement.constraints));
  RETURN_IF_ERROR(ValidateSecretReferences(t.container.secrets));
  RETURN_IF_ERROR(ValidateConfigReferences(t.container.configs, t.container.secrets));
  RETURN_IF_ERROR(ValidateImage(t.container.image));
  if (!spec.global && spec.replicas > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError("Number of replicas must be non-negative");
  }
  if (spec.update_config) {
    const UpdateConfig& u = *spec.update_config;
    if (u.delay_ns < 0) {
      return absl::InvalidArgumentError("TaskSpec: update-delay cannot be negative");
    }
    if (u.monitor_ns < 0) {
      return absl::InvalidArgumentError("TaskSpec: update-monitor cannot be negative");
    }
    if (u.max_failure_ratio < 0 || u.max_failure_ratio > 1) {
      return absl::InvalidArgumentError(
          "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1");
    }
  }
  return absl::OkStatus();
}

std::string RandomServiceName() {
  static constexpr std::array<const char*, 24> kLeft = {
      "admiring", "agitated", "amazing", "angry",    "awesome", "blissful",  "bold",    "brave",
      "charming", "clever",   "cool",    "dazzling", "eager",   "ecstatic",  "elegant", "festive",
      "gallant",  "gifted",   "happy",   "jolly",    "keen",    "nostalgic", "quirky",  "vibrant"};
  static constexpr std::array<const char*, 24> kRight = {
      "albattani", "bardeen", "bohr",    "curie",   "darwin",   "einstein", "euler",   "fermat",
      "feynman",   "galileo", "hopper",  "hypatia", "kepler",   "lovelace", "meitner", "newton",
      "noether",   "pasteur", "ritchie", "shannon", "thompson", "turing",   "wozniak", "yonath"};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> l(0, kLeft.size() - 1), r(0, kRight.size() - 1);
  return std::string(kLeft[l(rng)]) + "_" + kRight[r(rng)];
}

}  // namespace capsule::controlapi
