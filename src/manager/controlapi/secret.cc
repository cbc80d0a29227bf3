#include "manager/controlapi/secret.h"

#include "manager/controlapi/data_object.h"
#include "manager/controlapi/validation/validate.h"

namespace capsule::controlapi {

SecretApi::SecretApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

StatusOr<std::string> SecretApi::Create(const SecretSpec& spec) {
  RETURN_IF_ERROR(ValidateName(spec.name));
  RETURN_IF_ERROR(ValidateSecretData(spec.data ? spec.data->size() : 0));
  if (spec.driver && !spec.driver->name.empty()) {
    return absl::InvalidArgumentError("secret drivers are not supported: " + spec.driver->name);
  }
  return CreateDataObject(store_, NewDataObject<Secret>(spec, clock_), *spec.data);
}

Status SecretApi::Update(const std::string& id, int64_t version, const SecretSpec& spec) {
  return UpdateDataObject<Secret>(store_, clock_, id, version, spec.name, spec.labels, spec.data);
}

Status SecretApi::Remove(const std::string& id) {
  return RemoveDataObject<Secret>(store_, reads_, id);
}

StatusOr<store::SecretEntry> ResolveSecret(const store::ReadModel& reads, const std::string& ref) {
  return ResolveDataObject<Secret>(reads, ref);
}

}  // namespace capsule::controlapi
