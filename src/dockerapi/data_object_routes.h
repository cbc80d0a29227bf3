// What the /secrets and /configs routes share (their handlers have the same steps; only the
// control API object, the spec parser and the kind's name differ). Internal to dockerapi.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "dockerapi/backend.h"
#include "dockerapi/error_table.h"
#include "dockerapi/http/server.h"
#include "dockerapi/route_helpers.h"
#include "manager/controlapi/list_filters.h"

namespace capsule::dockerapi {

// The `filters` query of a list: each key must be in `accepted` (else 400 "Invalid filter
// '<key>'"); parse errors as http::ParseFilters.
StatusOr<controlapi::SecretFilters> DataObjectFilters(const http::Request& req,
                                                      const std::vector<std::string>& accepted);

// `api_of(services)` picks the control API object (SecretApi or ConfigApi) of the manager.

// POST /<kind>s/{id}/update: parses the body with `parse`, reads ?version= (else 400
// "invalid <noun> version"), then (on a manager) resolves {id} and calls Update. 200 with an
// empty body.
template <typename ApiOf, typename Parse>
http::Response UpdateDataObjectRoute(Backend& backend, const ApiOf& api_of, const Parse& parse,
                                     const std::string& noun, const http::Request& req,
                                     const http::Params& params) {
  auto spec = parse(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  uint64_t version = 0;
  auto v = req.query.find("version");
  if (v == req.query.end() || !ParseUint64(v->second, &version) || version > INT64_MAX) {
    return ErrorResponse(absl::InvalidArgumentError("invalid " + noun + " version"));
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  auto& api = *api_of(**mgr);
  auto e = api.Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = api.Update((*e)->object.id, static_cast<int64_t>(version), *spec);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return http::Response{200, {}, ""};
}

// DELETE /<kind>s/{id}: (on a manager) resolves {id} and calls Remove. 204.
template <typename ApiOf>
http::Response DeleteDataObjectRoute(Backend& backend, const ApiOf& api_of,
                                     const http::Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  auto& api = *api_of(**mgr);
  auto e = api.Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = api.Remove((*e)->object.id);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return http::Response{204, {}, ""};
}

}  // namespace capsule::dockerapi
