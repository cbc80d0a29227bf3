// /secrets: create, list (filters), inspect, update (labels only), delete.
#include <spdlog/spdlog.h>

#include <set>

#include "manager/dockerapi/error_table.h"
#include "manager/dockerapi/http/filters.h"
#include "manager/dockerapi/http/go_base64.h"
#include "manager/dockerapi/request_json.h"
#include "manager/dockerapi/route_helpers.h"
#include "manager/dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;
using http::Params;
using http::Request;
using http::Response;

const http::GoSchema& SecretSpecSchema() {
  static const auto* schema = [] {
    auto driver = std::make_shared<http::GoSchema>(http::GoSchema{
        "Driver", "swarm.Driver",
        {{"Name", GoKind::kString, nullptr, ""}, {"Options", GoKind::kStringMap, nullptr, ""}}});
    return new http::GoSchema{"SecretSpec",
                              "swarm.SecretSpec",
                              {{"Name", GoKind::kString, nullptr, ""},
                               {"Labels", GoKind::kStringMap, nullptr, ""},
                               {"Data", GoKind::kBytes, nullptr, ""},
                               {"Driver", GoKind::kStruct, driver, ""},
                               {"Templating", GoKind::kStruct, driver, ""}}};
  }();
  return *schema;
}

std::optional<Driver> DriverField(const nlohmann::json& spec, std::string_view name) {
  const nlohmann::json* f = http::GoField(spec, name);
  if (f == nullptr || !f->is_object()) return std::nullopt;
  return Driver{StringField(*f, "Name"), StringMapField(*f, "Options")};
}

// The SecretSpec of a create/update body. Data is decoded straight into SecretBytes and the
// base64 text inside the parsed JSON is wiped.
StatusOr<controlapi::SecretSpec> ParseSecretSpec(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json v, ReadJsonBody(body, SecretSpecSchema()));
  controlapi::SecretSpec spec;
  spec.name = StringField(v, "Name");
  spec.labels = StringMapField(v, "Labels");
  spec.driver = DriverField(v, "Driver");
  spec.templating = DriverField(v, "Templating");
  auto* data = const_cast<nlohmann::json*>(http::GoField(v, "Data"));
  if (data != nullptr && data->is_string()) {
    StatusOr<SecretBytes> bytes = http::DecodeStdBase64(data->get_ref<const std::string&>());
    WipeString(data->get_ref<std::string&>());
    if (!bytes.ok()) return absl::InvalidArgumentError(std::string(bytes.status().message()));
    spec.data = *std::move(bytes);
  }
  return spec;
}

bool HasPrefixIn(const std::string& s, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const std::string& p : prefixes) {
    if (s.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

bool EqualsOneOf(const std::string& s, const std::vector<std::string>& values) {
  if (values.empty()) return true;
  for (const std::string& v : values) {
    if (s == v) return true;
  }
  return false;
}

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
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status fresh = (*mgr)->reads->WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);

  const std::vector<std::string>& names = http::FilterValues(filters, "names");
  const std::vector<std::string>& name_prefixes = http::FilterValues(filters, "name");
  const std::vector<std::string>& id_prefixes = http::FilterValues(filters, "id");
  std::string body = "[";
  for (const store::SecretEntry& e : (*mgr)->reads->Secrets()) {
    const Secret& s = e->object;
    if (!EqualsOneOf(s.name, names) || !HasPrefixIn(s.name, name_prefixes) ||
        !HasPrefixIn(s.id, id_prefixes) || !http::MatchKVList(filters, "label", s.labels)) {
      continue;
    }
    if (body.size() > 1) body += ',';
    body += e->json;
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
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
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->secrets->Update((*e)->object.id, static_cast<int64_t>(version), *spec);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{200, {}, ""};
}

Response DeleteSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
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
  AddRoute(router, "POST", "/secrets/{id}/update", [&backend](const Request& r, const Params& p) {
    return UpdateSecret(backend, r, p);
  });
  AddRoute(router, "DELETE", "/secrets/{id}",
             [&backend](const Request&, const Params& p) { return DeleteSecret(backend, p); });
}

}  // namespace capsule::dockerapi
