// /networks: create, list (filters), inspect (by ID, name or ID prefix), delete. The control
// API's messages are final here (controlapi/network.h): no RpcError wrapping.
#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/network_spec_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/network.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

StatusOr<controlapi::NetworkApi*> Networks(Backend& backend,
                                           std::shared_ptr<const ManagerServices>* hold) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return mgr.status();
  *hold = *mgr;
  if ((*mgr)->networks == nullptr) return absl::InternalError("networks are not available");
  return (*mgr)->networks;
}

Response CreateNetwork(Backend& backend, const Request& req) {
  StatusOr<controlapi::NetworkCreateRequest> body = ParseNetworkCreate(req.body);
  if (!body.ok()) return ErrorResponse(body.status());
  std::shared_ptr<const ManagerServices> hold;
  StatusOr<controlapi::NetworkApi*> api = Networks(backend, &hold);
  if (!api.ok()) return ErrorResponse(api.status());
  StatusOr<std::string> id = (*api)->Create(*body);
  if (!id.ok()) return ErrorResponse(id.status());
  return JsonResponse(201, nlohmann::json{{"Id", *id}, {"Warning", ""}}.dump());
}

Response ListNetworks(Backend& backend, const Request& req) {
  http::Filters filters;
  auto it = req.query.find("filters");
  if (it != req.query.end() && !it->second.empty()) {
    StatusOr<http::Filters> parsed = http::ParseFilters(it->second);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    filters = *std::move(parsed);
  }
  Status valid = http::ValidateFilters(
      filters, {"dangling", "driver", "id", "label", "name", "scope", "type"});
  if (!valid.ok()) return ErrorResponse(valid);
  controlapi::NetworkFilters f;
  f.names = http::FilterValues(filters, "name");
  f.id_prefixes = http::FilterValues(filters, "id");
  f.labels = http::FilterValues(filters, "label");
  f.drivers = http::FilterValues(filters, "driver");
  f.scopes = http::FilterValues(filters, "scope");
  f.types = http::FilterValues(filters, "type");
  f.dangling = http::FilterValues(filters, "dangling");
  std::shared_ptr<const ManagerServices> hold;
  StatusOr<controlapi::NetworkApi*> api = Networks(backend, &hold);
  if (!api.ok()) return ErrorResponse(api.status());
  StatusOr<std::vector<controlapi::NetworkView>> list = (*api)->List(f);
  if (!list.ok()) return ErrorResponse(list.status());
  std::string body = "[";
  for (const controlapi::NetworkView& v : *list) {
    if (body.size() > 1) body += ',';
    body += v.json;
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectNetwork(Backend& backend, const Request& req, const Params& params) {
  std::shared_ptr<const ManagerServices> hold;
  StatusOr<controlapi::NetworkApi*> api = Networks(backend, &hold);
  if (!api.ok()) return ErrorResponse(api.status());
  const std::string& ref = params.at("id");
  StatusOr<controlapi::NetworkView> v = (*api)->Resolve(ref);
  if (!v.ok()) return ErrorResponse(v.status());
  auto scope = req.query.find("scope");
  if (scope != req.query.end() && !scope->second.empty() && scope->second != v->network.scope) {
    return ErrorResponse(absl::NotFoundError("network " + ref + " not found"));
  }
  return JsonResponse(200, v->json);
}

Response DeleteNetwork(Backend& backend, const Params& params) {
  std::shared_ptr<const ManagerServices> hold;
  StatusOr<controlapi::NetworkApi*> api = Networks(backend, &hold);
  if (!api.ok()) return ErrorResponse(api.status());
  Status s = (*api)->Remove(params.at("id"));
  if (!s.ok()) return ErrorResponse(s);
  return Response{204, {}, ""};
}

}  // namespace

void RegisterNetworkRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/networks/create",
           [&backend](const Request& r, const Params&) { return CreateNetwork(backend, r); });
  AddRoute(router, "GET", "/networks",
           [&backend](const Request& r, const Params&) { return ListNetworks(backend, r); });
  AddRoute(router, "GET", "/networks/{id}",
           [&backend](const Request& r, const Params& p) { return InspectNetwork(backend, r, p); });
  AddRoute(router, "DELETE", "/networks/{id}",
           [&backend](const Request&, const Params& p) { return DeleteNetwork(backend, p); });
}

}  // namespace capsule::dockerapi
