#include "manager/controlapi/secret.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "manager/controlapi/resolve.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/validation/validate.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {

SecretApi::SecretApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

StatusOr<std::string> SecretApi::Create(const SecretSpec& spec) {
  RETURN_IF_ERROR(ValidateName(spec.name));
  RETURN_IF_ERROR(ValidateSecretData(spec.data ? spec.data->size() : 0));
  if (spec.driver && !spec.driver->name.empty()) {
    return absl::InvalidArgumentError("secret drivers are not supported: " + spec.driver->name);
  }
  Secret s;
  s.id = NewId();
  s.created_at = s.updated_at = clock_.Now();
  s.name = spec.name;
  s.labels = spec.labels;
  s.templating = spec.templating;
  store::Record rec{EncodeSecretMeta(s), SecretBytes::CopyFrom(spec.data->span())};
  StatusOr<int64_t> rev = store_.Create({kSecretsKind, s.id, s.name}, rec);
  if (absl::IsAlreadyExists(rev.status())) {
    return absl::AlreadyExistsError("secret " + spec.name + " already exists");
  }
  RETURN_IF_ERROR(rev.status());
  spdlog::info("secret created: id={} name={}", s.id, s.name);
  return s.id;
}

Status SecretApi::Update(const std::string& id, int64_t version, const SecretSpec& spec) {
  std::string name;
  StatusOr<int64_t> rev = store::UpdateAtVersion(
      store_, kSecretsKind, id, version,
      [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur.record.meta));
        if (s.name != spec.name || (spec.data && !cur.record.data.Equals(spec.data->span()))) {
          return absl::InvalidArgumentError("only updates to Labels are allowed");
        }
        s.labels = spec.labels;
        s.updated_at = clock_.Now();
        cur.record.meta = EncodeSecretMeta(s);  // the data stays as stored
        name = s.name;
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("secret " + id + " not found");
  RETURN_IF_ERROR(rev.status());
  spdlog::info("secret updated: id={} name={}", id, name);
  return absl::OkStatus();
}

Status SecretApi::Remove(const std::string& id) {
  std::string name;
  StatusOr<int64_t> rev = store::RetryOnConflict([&]() -> StatusOr<int64_t> {
    RETURN_IF_ERROR(reads_.WaitFresh());
    store::SecretEntry e = reads_.SecretById(id);
    if (!e) return absl::NotFoundError("secret " + id + " not found");
    // swarmkit refuses while a service spec references it (tasks are not considered).
    // Not one transaction with service writes: a service created concurrently may still
    // reference a secret removed here (its tasks then fail to get it).
    std::vector<std::string> users = ServicesUsingSecret(reads_, id);
    if (!users.empty()) {
      std::string list;
      for (const std::string& n : users) list += (list.empty() ? "" : ", ") + n;
      return absl::InvalidArgumentError("secret '" + e->object.name +
                                        "' is in use by the following " +
                                        (users.size() == 1 ? "service: " : "services: ") + list);
    }
    name = e->object.name;
    // Aborted if it changed since the read model's copy (a label update): look again.
    return store_.Delete({kSecretsKind, id, e->object.name}, e->mod_revision);
  });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("secret " + id + " not found");
  RETURN_IF_ERROR(rev.status());
  spdlog::info("secret removed: id={} name={}", id, name);
  return absl::OkStatus();
}

StatusOr<store::SecretEntry> ResolveSecret(const store::ReadModel& reads, const std::string& ref) {
  RETURN_IF_ERROR(reads.WaitFresh());
  if (store::SecretEntry e = reads.SecretById(ref)) return e;
  if (store::SecretEntry e = reads.SecretByName(ref)) return e;
  return UniqueIdPrefix(reads.Secrets(), "secret", ref,
                        absl::NotFoundError("secret " + ref + " not found"));
}

}  // namespace capsule::controlapi
