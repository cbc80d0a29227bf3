#include "manager/controlapi/config.h"

#include "manager/controlapi/data_object.h"
#include "manager/controlapi/validation/validate.h"

namespace capsule::controlapi {

ConfigApi::ConfigApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

StatusOr<std::string> ConfigApi::Create(const ConfigSpec& spec) {
  RETURN_IF_ERROR(ValidateName(spec.name));
  RETURN_IF_ERROR(ValidateConfigData(spec.data ? spec.data->size() : 0));
  return CreateDataObject(store_, NewDataObject<Config>(spec, clock_), *spec.data);
}

Status ConfigApi::Update(const std::string& id, int64_t version, const ConfigSpec& spec) {
  return UpdateDataObject<Config>(store_, clock_, id, version, spec.name, spec.labels, spec.data);
}

Status ConfigApi::Remove(const std::string& id) {
  return RemoveDataObject<Config>(store_, reads_, id);
}

StatusOr<std::vector<ConfigWithData>> ConfigApi::List(const SecretFilters& filters) const {
  ASSIGN_OR_RETURN(std::vector<store::ConfigEntry> entries,
                   ListDataObjects<Config>(reads_, filters));
  std::vector<ConfigWithData> out;
  out.reserve(entries.size());
  for (const store::ConfigEntry& e : entries) {
    StatusOr<ConfigWithData> c = Read(e->object.id);
    if (absl::IsNotFound(c.status())) continue;  // removed since the listing
    RETURN_IF_ERROR(c.status());
    out.push_back(*std::move(c));
  }
  return out;
}

StatusOr<store::ConfigEntry> ConfigApi::Resolve(const std::string& ref) const {
  return ResolveConfig(reads_, ref);
}

StatusOr<ConfigWithData> ConfigApi::Inspect(const std::string& ref) const {
  ASSIGN_OR_RETURN(store::ConfigEntry e, Resolve(ref));
  StatusOr<ConfigWithData> c = Read(e->object.id);
  if (absl::IsNotFound(c.status())) return absl::NotFoundError("config " + ref + " not found");
  return c;
}

StatusOr<ConfigWithData> ConfigApi::Read(const std::string& id) const {
  ASSIGN_OR_RETURN(store::StoredRecord rec, store_.Get(kConfigsKind, id));
  ASSIGN_OR_RETURN(Config c, DecodeConfigMeta(rec.record.meta));
  return ConfigWithData{std::move(c), rec.mod_revision, std::move(rec.record.data)};
}

StatusOr<store::ConfigEntry> ResolveConfig(const store::ReadModel& reads, const std::string& ref) {
  return ResolveDataObject<Config>(reads, ref);
}

}  // namespace capsule::controlapi
