#include "manager/controlapi/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/ids.h"
#include "manager/controlapi/pull_auth.h"
#include "manager/controlapi/resolve.h"
#include "manager/controlapi/secret_versions.h"
#include "manager/controlapi/validation/service_validate.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {
namespace {

Status NotFound(const std::string& id) {
  return absl::NotFoundError("service " + id + " not found");
}

}  // namespace

ServiceApi::ServiceApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

namespace {

// "<noun> not found: <name>" / "<noun>s not found: a, b" for the references whose ID is not a
// stored object of that kind with that name (swarmkit's checkSecretExistence and
// checkConfigExistence).
template <typename Ref, typename Lookup, typename Fields>
Status CheckReferencesExist(const std::vector<Ref>& refs, const std::string& noun,
                            const Lookup& lookup, const Fields& id_and_name) {
  std::vector<std::string> missing;
  for (const Ref& r : refs) {
    auto [id, name] = id_and_name(r);
    auto e = lookup(id);
    if (!e || e->object.name != name) missing.push_back(name);
  }
  if (missing.empty()) return absl::OkStatus();
  std::string list;
  for (const std::string& n : missing) list += (list.empty() ? "" : ", ") + n;
  return absl::InvalidArgumentError(noun + (missing.size() == 1 ? "" : "s") +
                                    " not found: " + list);
}

// Names of the services whose current spec has a reference in `refs_of(container)` to `id`.
template <typename RefsOf>
std::vector<std::string> ServicesUsing(const store::ReadModel& reads, const std::string& id,
                                       const RefsOf& ref_ids_of) {
  std::vector<std::string> names;
  for (const store::ServiceEntry& e : reads.Services()) {
    std::vector<std::string> ids = ref_ids_of(e->object.spec.task_template.container);
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) names.push_back(e->object.spec.name);
  }
  return names;
}

}  // namespace

Status ServiceApi::CheckReferencedObjects(const ServiceSpec& spec) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  const ContainerSpec& c = spec.task_template.container;
  RETURN_IF_ERROR(CheckReferencesExist(
      c.secrets, "secret", [&](const std::string& id) { return reads_.SecretById(id); },
      [](const SecretReference& r) { return std::pair(r.secret_id, r.secret_name); }));
  return CheckReferencesExist(
      c.configs, "config", [&](const std::string& id) { return reads_.ConfigById(id); },
      [](const ConfigReference& r) { return std::pair(r.config_id, r.config_name); });
}

StatusOr<Service> ServiceApi::Create(ServiceSpec spec, const SecretBytes& registry_auth,
                                     const RefreshChanges& refresh) {
  if (spec.name.empty()) spec.name = RandomServiceName();
  RETURN_IF_ERROR(ValidateServiceSpec(spec));
  RETURN_IF_ERROR(CheckReferencedObjects(spec));
  Service s;
  RETURN_IF_ERROR(ApplyRefreshChanges(spec, refresh, &s.secret_refresh));
  s.id = NewId();
  s.created_at = s.updated_at = clock_.Now();
  s.spec = std::move(spec);
  s.spec_version = 0;  // = the revision of this write
  s.secret_versions = CurrentSecretVersions(reads_, s.spec);
  if (!registry_auth.empty()) {
    ASSIGN_OR_RETURN(s.pull_auth_id, CreatePullAuth(store_, s.id, registry_auth));
  }
  StatusOr<int64_t> rev =
      store_.Create({kServicesKind, s.id, s.spec.name}, {EncodeServiceMeta(s), {}});
  if (!rev.ok()) DeletePullAuth(store_, s.pull_auth_id);
  if (absl::IsAlreadyExists(rev.status())) {
    return absl::AlreadyExistsError("name conflicts with an existing object: service " +
                                    s.spec.name + " already exists");
  }
  RETURN_IF_ERROR(rev.status());
  s.spec_version = *rev;
  spdlog::info("service created: id={} name={}{}", s.id, s.spec.name,
               s.pull_auth_id.empty() ? "" : " (with registry credentials)");
  return s;
}

Status ServiceApi::Update(const std::string& id, int64_t version, const ServiceSpec& spec,
                          bool rollback, const PullAuthUpdate& auth,
                          const RefreshChanges& refresh) {
  RETURN_IF_ERROR(ValidateServiceSpec(spec));
  std::string name;
  // New credentials are stored first; the service then names them (or, on failure, they go).
  std::string new_auth;
  if (!auth.header.empty() && !rollback) {
    ASSIGN_OR_RETURN(new_auth, CreatePullAuth(store_, id, auth.header));
  }
  std::vector<std::string> unreferenced;  // credentials the written service no longer names
  StatusOr<int64_t> rev = store::UpdateAtVersion(
      store_, kServicesKind, id, version,
      [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Service s, DecodeServiceMeta(cur.record.meta));
        if (s.spec_version == 0) s.spec_version = cur.mod_revision;
        RETURN_IF_ERROR(CheckReferencedObjects(spec));
        if (s.spec.global != spec.global) {
          return absl::UnimplementedError("service mode change is not allowed");
        }
        if (s.spec.name != spec.name) {
          return absl::UnimplementedError("renaming services is not supported");
        }
        if (cur.mod_revision != version) return store::OutOfSequence();

        const TimePoint now = clock_.Now();
        if (rollback) {
          if (!s.previous_spec) {
            return absl::FailedPreconditionError("service " + id +
                                                 " does not have a previous spec");
          }
          std::swap(s.spec, *s.previous_spec);
          std::swap(s.spec_version, s.previous_spec_version);
          std::swap(s.pull_auth_id, s.previous_pull_auth_id);
          if (s.spec_version == 0) s.spec_version = cur.mod_revision;  // should not happen
          s.update_status =
              UpdateStatus{"rollback_started", now, {}, "manually requested rollback"};
        } else {
          s.previous_spec = std::move(s.spec);
          s.previous_spec_version = s.spec_version;
          // As the engine: the header's credentials, else those of registryAuthFrom's spec
          // (the current one by default), so an update without the header keeps them.
          const std::string old_previous = std::exchange(s.previous_pull_auth_id, s.pull_auth_id);
          if (!new_auth.empty()) {
            s.pull_auth_id = new_auth;
          } else if (auth.from == PullAuthFrom::kPreviousSpec) {
            s.pull_auth_id = old_previous;
          }
          unreferenced.clear();
          if (old_previous != s.pull_auth_id && old_previous != s.previous_pull_auth_id) {
            unreferenced.push_back(old_previous);
          }
          s.spec = spec;
          s.spec_version = 0;  // = the revision of this write
          s.update_status.reset();
        }
        // Capsule's secret versions: the tasks of the new (or restored) spec mount the
        // current version of each secret it references.
        s.secret_versions = CurrentSecretVersions(reads_, s.spec);
        s.previous_secret_versions.reset();
        // Live refresh: policies follow the secrets the spec (still) mounts in /run/secrets.
        if (size_t n = PruneRefreshPolicies(s.spec, &s.secret_refresh); n > 0) {
          spdlog::info("service {}: {} secret refresh policy(ies) dropped with their secrets", id,
                       n);
        }
        RETURN_IF_ERROR(ApplyRefreshChanges(s.spec, refresh, &s.secret_refresh));
        s.updated_at = now;
        cur.record.meta = EncodeServiceMeta(s);
        name = s.spec.name;
        return store::Mutation::kWrite;
      });
  if (!rev.ok()) DeletePullAuth(store_, new_auth);
  if (absl::IsNotFound(rev.status())) return NotFound(id);
  RETURN_IF_ERROR(rev.status());
  for (const std::string& gone : unreferenced) DeletePullAuth(store_, gone);
  spdlog::info("service {}: id={} name={}", rollback ? "rolled back" : "updated", id, name);
  return absl::OkStatus();
}

Status ServiceApi::Remove(const std::string& id) {
  std::string name;
  std::vector<std::string> auths;
  StatusOr<int64_t> rev = store::RetryOnConflict([&]() -> StatusOr<int64_t> {
    ASSIGN_OR_RETURN(store::StoredRecord cur, store_.Get(kServicesKind, id));
    ASSIGN_OR_RETURN(Service s, DecodeServiceMeta(cur.record.meta));
    name = s.spec.name;
    auths = {s.pull_auth_id, s.previous_pull_auth_id};
    // Aborted if a status write came in between: read again.
    return store_.Delete({kServicesKind, id, s.spec.name}, cur.mod_revision);
  });
  if (absl::IsNotFound(rev.status())) return NotFound(id);
  RETURN_IF_ERROR(rev.status());
  for (const std::string& a : auths) DeletePullAuth(store_, a);
  spdlog::info("service removed: id={} name={}", id, name);
  return absl::OkStatus();
}

StatusOr<store::ServiceEntry> ResolveService(const store::ReadModel& reads,
                                             const std::string& ref) {
  RETURN_IF_ERROR(reads.WaitFresh());
  if (store::ServiceEntry e = reads.ServiceById(ref)) return e;
  // The engine lists by name: swarm's name index is case-insensitive, its final filter exact.
  if (store::ServiceEntry e = reads.ServiceByName(ref); e && e->object.spec.name == ref) return e;
  return UniqueIdPrefix(reads.Services(), "service", ref, NotFound(ref));
}

std::vector<std::string> ServicesUsingSecret(const store::ReadModel& reads,
                                             const std::string& secret_id) {
  return ServicesUsing(reads, secret_id, [](const ContainerSpec& c) {
    std::vector<std::string> ids;
    for (const SecretReference& r : c.secrets) ids.push_back(r.secret_id);
    return ids;
  });
}

std::vector<std::string> ServicesUsingConfig(const store::ReadModel& reads,
                                             const std::string& config_id) {
  return ServicesUsing(reads, config_id, [](const ContainerSpec& c) {
    std::vector<std::string> ids;
    for (const ConfigReference& r : c.configs) ids.push_back(r.config_id);
    return ids;
  });
}

}  // namespace capsule::controlapi
