// /configs: create, list (filters), inspect, update (labels only), delete. As /secrets
// (data_object_routes.h), but a config's Data is shown by list and inspect.
#include "common/secret_bytes.h"
#include "dockerapi/data_object_routes.h"
#include "dockerapi/error_table.h"
#include "dockerapi/http/go_base64.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "dockerapi/secret_spec_json.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

controlapi::ConfigApi* ConfigsOf(const ManagerServices& m) { return m.configs; }

// The config's API JSON with its Data (base64, as Go renders []byte); the base64 copy is wiped.
std::string ConfigBody(const controlapi::ConfigWithData& c) {
  std::string data = http::EncodeStdBase64(c.data.span());
  std::string body = RenderConfig(c.config, c.version, data);
  WipeString(data);
  return body;
}

Response CreateConfig(Backend& backend, const Request& req, const Params& params) {
  StatusOr<controlapi::ConfigSpec> spec = ParseConfigSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  if (spec->templating && ApiVersionBelow(params, "1.37")) {
    return ErrorResponse(absl::InvalidArgumentError(
        "config templating is not supported on the specified API version: " +
        params.at("__version")));
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::string> id = (*mgr)->configs->Create(*spec);
  if (!id.ok()) return ErrorResponse(RpcError(id.status()));
  return JsonResponse(201, nlohmann::json{{"ID", *id}}.dump());
}

Response ListConfigs(Backend& backend, const Request& req) {
  // Docker's config filters have no `names` (swagger lists it; the engine refuses it).
  StatusOr<controlapi::SecretFilters> f = DataObjectFilters(req, {"id", "label", "name"});
  if (!f.ok()) return ErrorResponse(f.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::vector<controlapi::ConfigWithData>> configs = (*mgr)->configs->List(*f);
  if (!configs.ok()) return ErrorResponse(configs.status());
  std::string body = "[";
  for (const controlapi::ConfigWithData& c : *configs) {
    if (body.size() > 1) body += ',';
    body += ConfigBody(c);
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectConfig(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<controlapi::ConfigWithData> c = (*mgr)->configs->Inspect(params.at("id"));
  if (!c.ok()) return ErrorResponse(c.status());
  return JsonResponse(200, ConfigBody(*c));
}

Response UpdateConfig(Backend& backend, const Request& req, const Params& params) {
  return UpdateDataObjectRoute(backend, ConfigsOf, ParseConfigSpec, "config", req, params);
}

Response DeleteConfig(Backend& backend, const Params& params) {
  return DeleteDataObjectRoute(backend, ConfigsOf, params);
}

}  // namespace

void RegisterConfigRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/configs/create",
           [&backend](const Request& r, const Params& p) { return CreateConfig(backend, r, p); });
  AddRoute(router, "GET", "/configs",
           [&backend](const Request& r, const Params&) { return ListConfigs(backend, r); });
  AddRoute(router, "GET", "/configs/{id}",
           [&backend](const Request&, const Params& p) { return InspectConfig(backend, p); });
  AddRoute(router, "POST", "/configs/{id}/update",
           [&backend](const Request& r, const Params& p) { return UpdateConfig(backend, r, p); });
  AddRoute(router, "DELETE", "/configs/{id}",
           [&backend](const Request&, const Params& p) { return DeleteConfig(backend, p); });
}

}  // namespace capsule::dockerapi
