#include "dockerapi/data_object_routes.h"

#include "dockerapi/http/filters.h"

namespace capsule::dockerapi {

StatusOr<controlapi::SecretFilters> DataObjectFilters(const http::Request& req,
                                                      const std::vector<std::string>& accepted) {
  http::Filters filters;
  auto it = req.query.find("filters");
  if (it != req.query.end() && !it->second.empty()) {
    ASSIGN_OR_RETURN(filters, http::ParseFilters(it->second));
  }
  RETURN_IF_ERROR(http::ValidateFilters(filters, accepted));
  controlapi::SecretFilters f;
  f.names = http::FilterValues(filters, "names");
  f.name_prefixes = http::FilterValues(filters, "name");
  f.id_prefixes = http::FilterValues(filters, "id");
  f.labels = http::FilterValues(filters, "label");
  return f;
}

}  // namespace capsule::dockerapi
