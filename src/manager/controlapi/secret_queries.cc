// The read side of SecretApi (declared in secret.h): list and resolve, from the read model.
#include <algorithm>
#include <set>

#include "manager/controlapi/secret.h"

namespace capsule::controlapi {
namespace {

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool Matches(const Secret& s, const SecretFilters& f) {
  const std::string lname = store::AsciiLower(s.name);
  bool name_ok = f.names.empty() || std::any_of(f.names.begin(), f.names.end(), [&](const auto& n) {
                   return store::AsciiLower(n) == lname;
                 });
  bool prefix_ok = f.name_prefixes.empty() ||
                   std::any_of(f.name_prefixes.begin(), f.name_prefixes.end(), [&](const auto& p) {
                     return HasPrefix(lname, store::AsciiLower(p));
                   });
  return name_ok && prefix_ok && MatchAnyPrefix(f.id_prefixes, s.id) &&
         MatchLabels(f.labels, s.labels);
}

}  // namespace

StatusOr<std::vector<store::SecretEntry>> SecretApi::List(const SecretFilters& f) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<store::SecretEntry> all = reads_.Secrets();  // ordered by ID
  std::vector<store::SecretEntry> walk;
  if (!f.names.empty()) {
    for (const std::string& n : f.names) {
      if (store::SecretEntry e = reads_.SecretByName(n)) walk.push_back(e);
    }
  } else if (!f.name_prefixes.empty()) {
    std::vector<store::SecretEntry> by_name = all;
    std::stable_sort(by_name.begin(), by_name.end(), [](const auto& a, const auto& b) {
      return store::AsciiLower(a->object.name) < store::AsciiLower(b->object.name);
    });
    for (const std::string& p : f.name_prefixes) {
      const std::string lp = store::AsciiLower(p);
      for (const store::SecretEntry& e : by_name) {
        if (HasPrefix(store::AsciiLower(e->object.name), lp)) walk.push_back(e);
      }
    }
  } else if (!f.id_prefixes.empty()) {
    for (const std::string& p : f.id_prefixes) {
      for (const store::SecretEntry& e : all) {
        if (HasPrefix(e->object.id, p)) walk.push_back(e);
      }
    }
  } else {
    walk = std::move(all);
  }

  // Filtered in place, in walk order. Only a walk of several names or prefixes can hold an
  // entry twice; the common walk of every secret needs no set of 10,000 IDs per list.
  const bool may_repeat = !f.names.empty()           ? f.names.size() > 1
                          : !f.name_prefixes.empty() ? f.name_prefixes.size() > 1
                                                     : f.id_prefixes.size() > 1;
  std::set<std::string> seen;
  std::erase_if(walk, [&](const store::SecretEntry& e) {
    return !Matches(e->object, f) || (may_repeat && !seen.insert(e->object.id).second);
  });
  return walk;
}

StatusOr<store::SecretEntry> SecretApi::Resolve(const std::string& ref) const {
  return ResolveSecret(reads_, ref);
}

}  // namespace capsule::controlapi
