// The read side of SecretApi (declared in secret.h): list and resolve, from the read model.
#include "manager/controlapi/data_object.h"
#include "manager/controlapi/secret.h"

namespace capsule::controlapi {

StatusOr<std::vector<store::SecretEntry>> SecretApi::List(const SecretFilters& f) const {
  return ListDataObjects<Secret>(reads_, f);
}

StatusOr<store::SecretEntry> SecretApi::Resolve(const std::string& ref) const {
  return ResolveSecret(reads_, ref);
}

}  // namespace capsule::controlapi
