// /secrets: create, list (filters), inspect, update (labels only), delete.
#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/json_array_body.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "dockerapi/secret_spec_json.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

Response CreateSecret(Backend& backend, const Request& req) {
  StatusOr<controlapi::SecretSpec> spec = ParseSecretSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::string> id = (*mgr)->secrets->Create(*spec);
  if (!id.ok()) return ErrorResponse(RpcError(id.status()));
  return JsonResponse(201, nlohmann::json{{"ID", *id}}.dump());
}

Response ListSecrets(Backend& backend, const Request& req) {
  http::Filters filters;
  auto it = req.query.find("filters");
  if (it != req.query.end() && !it->second.empty()) {
    StatusOr<http::Filters> parsed = http::ParseFilters(it->second);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    filters = *std::move(parsed);
  }
  Status valid = http::ValidateFilters(filters, {"id", "label", "name", "names"});
  if (!valid.ok()) return ErrorResponse(valid);
  controlapi::SecretFilters f;
  f.names = http::FilterValues(filters, "names");
  f.name_prefixes = http::FilterValues(filters, "name");
  f.id_prefixes = http::FilterValues(filters, "id");
  f.labels = http::FilterValues(filters, "label");
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::vector<store::SecretEntry>> secrets = (*mgr)->secrets->List(f);
  if (!secrets.ok()) return ErrorResponse(secrets.status());
  return JsonArrayResponse(*std::move(secrets));
}

Response InspectSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = (*mgr)->secrets->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  return JsonResponse(200, (*e)->json);
}

Response UpdateSecret(Backend& backend, const Request& req, const Params& params) {
  StatusOr<controlapi::SecretSpec> spec = ParseSecretSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  uint64_t version = 0;
  auto v = req.query.find("version");
  if (v == req.query.end() || !ParseUint64(v->second, &version) || version > INT64_MAX) {
    return ErrorResponse(absl::InvalidArgumentError("invalid secret version"));
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = (*mgr)->secrets->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->secrets->Update((*e)->object.id, static_cast<int64_t>(version), *spec);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{200, {}, ""};
}

Response DeleteSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = (*mgr)->secrets->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->secrets->Remove((*e)->object.id);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{204, {}, ""};
}

}  // namespace

void RegisterSecretRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/secrets/create",
           [&backend](const Request& r, const Params&) { return CreateSecret(backend, r); });
  AddRoute(router, "GET", "/secrets",
           [&backend](const Request& r, const Params&) { return ListSecrets(backend, r); });
  AddRoute(router, "GET", "/secrets/{id}",
           [&backend](const Request&, const Params& p) { return InspectSecret(backend, p); });
  AddRoute(router, "POST", "/secrets/{id}/update",
           [&backend](const Request& r, const Params& p) { return UpdateSecret(backend, r, p); });
  AddRoute(router, "DELETE", "/secrets/{id}",
           [&backend](const Request&, const Params& p) { return DeleteSecret(backend, p); });
}

}  // namespace capsule::dockerapi
