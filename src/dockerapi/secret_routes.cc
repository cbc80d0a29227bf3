// /secrets: create, list (filters), inspect, update (labels only), delete.
#include "dockerapi/audit_routes.h"
#include "dockerapi/data_object_routes.h"
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
  // The audit event is written with the secret (controlapi/audited_write.h).
  StatusOr<std::string> id = (*mgr)->secrets->Create(*spec, AuditContextOf(**mgr, req));
  if (!id.ok()) return ErrorResponse(RpcError(id.status()));
  return JsonResponse(201, nlohmann::json{{"ID", *id}}.dump());
}

Response ListSecrets(Backend& backend, const Request& req) {
  StatusOr<controlapi::SecretFilters> f = DataObjectFilters(req, {"id", "label", "name", "names"});
  if (!f.ok()) return ErrorResponse(f.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::vector<store::SecretEntry>> secrets = (*mgr)->secrets->List(*f);
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

controlapi::SecretApi* SecretsOf(const ManagerServices& m) { return m.secrets; }

Response UpdateSecret(Backend& backend, const Request& req, const Params& params) {
  return UpdateDataObjectRoute(backend, SecretsOf, ParseSecretSpec, "secret", req, params);
}

Response DeleteSecret(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = (*mgr)->secrets->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  // The audit event is written with the removal (controlapi/audited_write.h).
  Status s = (*mgr)->secrets->Remove((*e)->object.id, AuditContextOf(**mgr, req));
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return http::Response{204, {}, ""};
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
           [&backend](const Request& r, const Params& p) { return DeleteSecret(backend, r, p); });
}

}  // namespace capsule::dockerapi
