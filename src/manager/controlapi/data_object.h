// Secrets and configs are the same kind of object to the control API: a unique name, labels
// and data sealed in the store with the object (store/record.h). The operations both share
// are written once here over a kind's traits (DataKind<Secret>, DataKind<Config>); SecretApi
// (secret.h) and ConfigApi (config.h) add what differs (drivers, a config's data in answers).
// Internal to controlapi. Every function is thread-safe (the store and read model are).
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/secret_bytes.h"
#include "manager/controlapi/audited_write.h"
#include "manager/controlapi/list_filters.h"
#include "manager/controlapi/resolve.h"
#include "manager/controlapi/service.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/read_modify_write.h"
#include "store/store.h"

namespace capsule::controlapi {

template <typename T>
struct DataKind;

template <>
struct DataKind<Secret> {
  static constexpr const char* kKind = kSecretsKind;
  static constexpr const char* kNoun = "secret";
  static std::string Encode(const Secret& s) { return EncodeSecretMeta(s); }
  static StatusOr<Secret> Decode(std::string_view meta) { return DecodeSecretMeta(meta); }
  static std::vector<store::SecretEntry> All(const store::ReadModel& r) { return r.Secrets(); }
  static store::SecretEntry ById(const store::ReadModel& r, const std::string& id) {
    return r.SecretById(id);
  }
  static store::SecretEntry ByName(const store::ReadModel& r, const std::string& name) {
    return r.SecretByName(name);
  }
  static std::vector<std::string> Users(const store::ReadModel& r, const std::string& id) {
    return ServicesUsingSecret(r, id);
  }
};

template <>
struct DataKind<Config> {
  static constexpr const char* kKind = kConfigsKind;
  static constexpr const char* kNoun = "config";
  static std::string Encode(const Config& c) { return EncodeConfigMeta(c); }
  static StatusOr<Config> Decode(std::string_view meta) { return DecodeConfigMeta(meta); }
  static std::vector<store::ConfigEntry> All(const store::ReadModel& r) { return r.Configs(); }
  static store::ConfigEntry ById(const store::ReadModel& r, const std::string& id) {
    return r.ConfigById(id);
  }
  static store::ConfigEntry ByName(const store::ReadModel& r, const std::string& name) {
    return r.ConfigByName(name);
  }
  static std::vector<std::string> Users(const store::ReadModel& r, const std::string& id) {
    return ServicesUsingConfig(r, id);
  }
};

template <typename T>
using DataEntry = std::shared_ptr<const store::Versioned<T>>;

// A new object of `spec`'s name, labels and templating, with a fresh ID, created now.
template <typename T, typename Spec>
T NewDataObject(const Spec& spec, const Clock& clock) {
  T o;
  o.id = NewId();
  o.created_at = o.updated_at = clock.Now();
  o.name = spec.name;
  o.labels = spec.labels;
  o.templating = spec.templating;
  return o;
}

// Stores a new object (NewDataObject) with `data`; with a recorder in `audit`, its "create"
// event goes in the same write (audited_write.h).
// AlreadyExists "<noun> <name> already exists".
template <typename T>
StatusOr<std::string> CreateDataObject(store::Store& store, const T& object,
                                       const SecretBytes& data, const AuditContext& audit = {}) {
  using K = DataKind<T>;
  store::Record rec{K::Encode(object), SecretBytes::CopyFrom(data.span())};
  StatusOr<int64_t> rev = WriteAudited(store,
                                       {store::WriteRequest::Kind::kCreate,
                                        {K::kKind, object.id, object.name},
                                        0,
                                        std::move(rec),
                                        {}},
                                       audit, audit::Action::kCreate);
  if (absl::IsAlreadyExists(rev.status())) {
    return absl::AlreadyExistsError(std::string(K::kNoun) + " " + object.name + " already exists");
  }
  RETURN_IF_ERROR(rev.status());
  spdlog::info("{} created: id={} name={}", K::kNoun, object.id, object.name);
  return object.id;
}

// Labels only: InvalidArgument "only updates to Labels are allowed" when the name differs or
// data is given and differs (identical data is accepted); NotFound "<noun> <id> not found";
// Unknown "update out of sequence".
template <typename T>
Status UpdateDataObject(store::Store& store, const Clock& clock, const std::string& id,
                        int64_t version, const std::string& name, const Labels& labels,
                        const std::optional<SecretBytes>& data) {
  using K = DataKind<T>;
  StatusOr<int64_t> rev = store::UpdateAtVersion(
      store, K::kKind, id, version, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(T o, K::Decode(cur.record.meta));
        if (o.name != name || (data && !cur.record.data.Equals(data->span()))) {
          return absl::InvalidArgumentError("only updates to Labels are allowed");
        }
        o.labels = labels;
        o.updated_at = clock.Now();
        cur.record.meta = K::Encode(o);  // the data stays as stored
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) {
    return absl::NotFoundError(std::string(K::kNoun) + " " + id + " not found");
  }
  RETURN_IF_ERROR(rev.status());
  spdlog::info("{} updated: id={} name={}", K::kNoun, id, name);
  return absl::OkStatus();
}

// NotFound "<noun> <id> not found"; InvalidArgument "<noun> '<name>' is in use by the
// following service: <svc>" / "... following services: <a>, <b>"; Unknown "update out of
// sequence" (changed concurrently on every attempt).
// With a recorder in `audit`, the "remove" event goes in the same write (audited_write.h).
template <typename T>
Status RemoveDataObject(store::Store& store, const store::ReadModel& reads, const std::string& id,
                        const AuditContext& audit = {}) {
  using K = DataKind<T>;
  const std::string noun = K::kNoun;
  std::string name;
  StatusOr<int64_t> rev = store::RetryOnConflict([&]() -> StatusOr<int64_t> {
    RETURN_IF_ERROR(reads.WaitFresh());
    DataEntry<T> e = K::ById(reads, id);
    if (!e) return absl::NotFoundError(noun + " " + id + " not found");
    // swarmkit refuses while a service spec references it (tasks are not considered).
    // Not one transaction with service writes: a service created concurrently may still
    // reference an object removed here (its tasks then fail to get it).
    std::vector<std::string> users = K::Users(reads, id);
    if (!users.empty()) {
      std::string list;
      for (const std::string& n : users) list += (list.empty() ? "" : ", ") + n;
      return absl::InvalidArgumentError(noun + " '" + e->object.name +
                                        "' is in use by the following " +
                                        (users.size() == 1 ? "service: " : "services: ") + list);
    }
    name = e->object.name;
    // Aborted if it changed since the read model's copy (a label update): look again.
    return WriteAudited(store,
                        {store::WriteRequest::Kind::kDelete,
                         {K::kKind, id, e->object.name},
                         e->mod_revision,
                         {},
                         {}},
                        audit, audit::Action::kRemove);
  });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError(noun + " " + id + " not found");
  RETURN_IF_ERROR(rev.status());
  spdlog::info("{} removed: id={} name={}", noun, id, name);
  return absl::OkStatus();
}

// Docker's lookup by full ID, then exact name, then unique ID prefix (no gRPC prefix):
// NotFound "<noun> <ref> not found"; InvalidArgument "<noun> <ref> is ambiguous (N matches
// found)".
template <typename T>
StatusOr<DataEntry<T>> ResolveDataObject(const store::ReadModel& reads, const std::string& ref) {
  using K = DataKind<T>;
  RETURN_IF_ERROR(reads.WaitFresh());
  if (DataEntry<T> e = K::ById(reads, ref)) return e;
  if (DataEntry<T> e = K::ByName(reads, ref)) return e;
  return UniqueIdPrefix(K::All(reads), K::kNoun, ref,
                        absl::NotFoundError(std::string(K::kNoun) + " " + ref + " not found"));
}

namespace data_object_internal {

inline bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

template <typename T>
bool Matches(const T& o, const SecretFilters& f) {
  const std::string lname = store::AsciiLower(o.name);
  bool name_ok = f.names.empty() || std::any_of(f.names.begin(), f.names.end(), [&](const auto& n) {
                   return store::AsciiLower(n) == lname;
                 });
  bool prefix_ok = f.name_prefixes.empty() ||
                   std::any_of(f.name_prefixes.begin(), f.name_prefixes.end(), [&](const auto& p) {
                     return HasPrefix(lname, store::AsciiLower(p));
                   });
  return name_ok && prefix_ok && MatchAnyPrefix(f.id_prefixes, o.id) &&
         MatchLabels(f.labels, o.labels);
}

}  // namespace data_object_internal

// Swarm's listing: the first non-empty filter among names, name prefixes and ID prefixes
// chooses the index walked (names in filter order, name prefixes in lower-cased name order,
// ID prefixes in ID order; unfiltered in ID order); then every filter must match, and each
// object appears once. Names compare case-insensitively, IDs exactly.
template <typename T>
StatusOr<std::vector<DataEntry<T>>> ListDataObjects(const store::ReadModel& reads,
                                                    const SecretFilters& f) {
  using K = DataKind<T>;
  using data_object_internal::HasPrefix;
  RETURN_IF_ERROR(reads.WaitFresh());
  std::vector<DataEntry<T>> all = K::All(reads);  // ordered by ID
  std::vector<DataEntry<T>> walk;
  if (!f.names.empty()) {
    for (const std::string& n : f.names) {
      if (DataEntry<T> e = K::ByName(reads, n)) walk.push_back(e);
    }
  } else if (!f.name_prefixes.empty()) {
    std::vector<DataEntry<T>> by_name = all;
    std::stable_sort(by_name.begin(), by_name.end(), [](const auto& a, const auto& b) {
      return store::AsciiLower(a->object.name) < store::AsciiLower(b->object.name);
    });
    for (const std::string& p : f.name_prefixes) {
      const std::string lp = store::AsciiLower(p);
      for (const DataEntry<T>& e : by_name) {
        if (HasPrefix(store::AsciiLower(e->object.name), lp)) walk.push_back(e);
      }
    }
  } else if (!f.id_prefixes.empty()) {
    for (const std::string& p : f.id_prefixes) {
      for (const DataEntry<T>& e : all) {
        if (HasPrefix(e->object.id, p)) walk.push_back(e);
      }
    }
  } else {
    walk = std::move(all);
  }

  // Filtered in place, in walk order. Only a walk of several names or prefixes can hold an
  // entry twice; the common walk of every object needs no set of 10,000 IDs per list.
  const bool may_repeat = !f.names.empty()           ? f.names.size() > 1
                          : !f.name_prefixes.empty() ? f.name_prefixes.size() > 1
                                                     : f.id_prefixes.size() > 1;
  std::set<std::string> seen;
  std::erase_if(walk, [&](const DataEntry<T>& e) {
    return !data_object_internal::Matches(e->object, f) ||
           (may_repeat && !seen.insert(e->object.id).second);
  });
  return walk;
}

}  // namespace capsule::controlapi
