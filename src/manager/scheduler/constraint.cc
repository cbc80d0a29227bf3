#include "manager/scheduler/constraint.h"

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

namespace capsule::scheduler {
namespace {

constexpr std::string_view kNodeLabelPrefix = "node.labels.";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool IsAlpha(char c) { return (Lower(c) >= 'a' && Lower(c) <= 'z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// swarmkit: ^(?i)[a-z_][a-z0-9\-_.]+$
bool ValidKey(std::string_view k) {
  if (k.size() < 2) return false;
  if (!IsAlpha(k[0]) && k[0] != '_') return false;
  for (char c : k.substr(1)) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// swarmkit: ^(?i)[a-z0-9:\-_\s\.\*\(\)\?\+\[\]\\\^\$\|\/]+$
bool ValidValue(std::string_view v) {
  if (v.empty()) return false;
  static constexpr std::string_view kSpecial = ":-_.*()?+[]\\^$|/ \t\n\f\r";
  for (char c : v) {
    if (!IsAlpha(c) && !IsDigit(c) && kSpecial.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool Match(const Constraint& c, std::string_view what) {
  const bool equal = EqualFold(c.value, what);
  return c.op == Constraint::Op::kEq ? equal : !equal;
}

// node.ip: an address or an IPv4 CIDR block, against the node's advertise address.
bool IpMatch(const Constraint& c, const std::string& addr) {
  const size_t slash = c.value.find('/');
  if (slash == std::string::npos) return Match(c, addr);
  in_addr net{}, ip{};
  const std::string net_str = c.value.substr(0, slash);
  int bits = -1;
  try {
    bits = std::stoi(c.value.substr(slash + 1));
  } catch (...) {
    bits = -1;
  }
  bool inside = false;
  if (bits >= 0 && bits <= 32 && inet_pton(AF_INET, net_str.c_str(), &net) == 1 &&
      inet_pton(AF_INET, addr.c_str(), &ip) == 1) {
    const uint32_t mask = bits == 0 ? 0 : htonl(~uint32_t{0} << (32 - bits));
    inside = (net.s_addr & mask) == (ip.s_addr & mask);
  }
  return c.op == Constraint::Op::kEq ? inside : !inside;
}

}  // namespace

StatusOr<std::vector<Constraint>> ParseConstraints(const std::vector<std::string>& exprs) {
  std::vector<Constraint> out;
  out.reserve(exprs.size());
  for (const std::string& e : exprs) {
    Constraint c;
    size_t at = e.find("==");
    if (at != std::string::npos) {
      c.op = Constraint::Op::kEq;
    } else {
      at = e.find("!=");
      if (at == std::string::npos) {
        return absl::InvalidArgumentError(
            std::string("constraint expected one operator from ==, !="));
      }
      c.op = Constraint::Op::kNotEq;
    }
    c.key = Trim(std::string_view(e).substr(0, at));
    if (!ValidKey(c.key)) return absl::InvalidArgumentError("key '" + c.key + "' is invalid");
    c.value = Trim(std::string_view(e).substr(at + 2));
    if (!ValidValue(c.value)) {
      return absl::InvalidArgumentError("value '" + c.value + "' is invalid");
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool ConstraintMatches(const Constraint& c, const Node& node) {
  if (EqualFold(c.key, "node.id")) return Match(c, node.id);
  if (EqualFold(c.key, "node.hostname")) return Match(c, node.hostname);
  if (EqualFold(c.key, "node.role")) return Match(c, node.role);
  if (EqualFold(c.key, "node.ip")) return IpMatch(c, node.addr);
  if (EqualFold(c.key, "node.platform.os")) return Match(c, node.os);
  if (EqualFold(c.key, "node.platform.arch")) return Match(c, node.architecture);
  if (c.key.size() > kNodeLabelPrefix.size() &&
      EqualFold(std::string_view(c.key).substr(0, kNodeLabelPrefix.size()), kNodeLabelPrefix)) {
    // The label name itself is case-sensitive; a missing label is "".
    auto it = node.labels.find(c.key.substr(kNodeLabelPrefix.size()));
    return Match(c, it == node.labels.end() ? std::string_view() : std::string_view(it->second));
  }
  return false;  // a key swarmkit does not know never matches
}

bool NodeMatches(const std::vector<Constraint>& constraints, const Node& node) {
  for (const Constraint& c : constraints) {
    if (!ConstraintMatches(c, node)) return false;
  }
  return true;
}

}  // namespace capsule::scheduler
