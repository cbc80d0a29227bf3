#include "manager/controlapi/secret.h"

#include "manager/controlapi/data_object.h"
#include "manager/controlapi/secret_versions.h"
#include "manager/controlapi/validation/validate.h"
#include "objects/secret_versions.h"

namespace capsule::controlapi {

SecretApi::SecretApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

StatusOr<std::string> SecretApi::Create(const SecretSpec& spec, const AuditContext& audit) {
  RETURN_IF_ERROR(ValidateName(spec.name));
  RETURN_IF_ERROR(ValidateSecretData(spec.data ? spec.data->size() : 0));
  if (spec.driver && !spec.driver->name.empty()) {
    return absl::InvalidArgumentError("secret drivers are not supported: " + spec.driver->name);
  }
  return CreateDataObject(store_, NewDataObject<Secret>(spec, clock_), *spec.data, audit);
}

Status SecretApi::Update(const std::string& id, int64_t version, const SecretSpec& spec) {
  if (spec.data) {
    // Data given must equal the current version's (a rotated secret's current data is not in
    // its record: objects/secret_versions.h). Version 1 is compared by UpdateDataObject.
    StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, id);
    if (absl::IsNotFound(cur.status())) return absl::NotFoundError("secret " + id + " not found");
    RETURN_IF_ERROR(cur.status());
    ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
    if (s.current_version != 1) {
      StatusOr<store::StoredRecord> data =
          store_.Get(kSecretVersionsKind, VersionObjectId(id, s.current_version));
      RETURN_IF_ERROR(data.status());
      if (!data->record.data.Equals(spec.data->span())) {
        return absl::InvalidArgumentError("only updates to Labels are allowed");
      }
      return UpdateDataObject<Secret>(store_, clock_, id, version, spec.name, spec.labels,
                                      std::nullopt);
    }
  }
  return UpdateDataObject<Secret>(store_, clock_, id, version, spec.name, spec.labels, spec.data);
}

Status SecretApi::Remove(const std::string& id, const AuditContext& audit) {
  // Every version goes with the secret. (A rotation racing this removal may leave the data
  // object of its new version behind; it names a secret that no longer exists.)
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::SecretEntry before = reads_.SecretById(id);
  RETURN_IF_ERROR(RemoveDataObject<Secret>(store_, reads_, id, audit));
  if (before) SecretVersionApi(store_, reads_, clock_).RemoveVersions(before->object);
  return absl::OkStatus();
}

StatusOr<store::SecretEntry> ResolveSecret(const store::ReadModel& reads, const std::string& ref) {
  return ResolveDataObject<Secret>(reads, ref);
}

}  // namespace capsule::controlapi
