#include "manager/controlapi/list_filters.h"

#include <algorithm>

namespace capsule::controlapi {
namespace {

// One label filter value ("key" or "key=value") against an object's labels.
bool MatchLabel(const std::string& filter, const Labels& labels) {
  const size_t eq = filter.find('=');
  auto it = labels.find(filter.substr(0, eq));
  if (it == labels.end()) return false;
  return eq == std::string::npos || it->second == filter.substr(eq + 1);
}

}  // namespace

bool MatchLabels(const std::vector<std::string>& filters, const Labels& labels) {
  if (filters.empty()) return true;
  if (labels.empty()) return false;
  return std::all_of(filters.begin(), filters.end(),
                     [&](const std::string& f) { return MatchLabel(f, labels); });
}

bool MatchAnyPrefix(const std::vector<std::string>& prefixes, const std::string& s) {
  return prefixes.empty() ||
         std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return s.compare(0, p.size(), p) == 0; });
}

bool MatchAny(const std::vector<std::string>& values, const std::string& v) {
  return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace capsule::controlapi
