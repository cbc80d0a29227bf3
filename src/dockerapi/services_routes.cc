// /services: create, list (filters, status), inspect (insertDefaults), update (version,
// rollback, registryAuthFrom), delete. Spec conversion errors are the engine's own (400, no
// prefix); control API errors carry the swarm layer's "rpc error" prefix.
// Capsule's live refresh (docs/secret-versions.md) adds, beside Docker's routes (unchanged):
//   POST /capsule/services/create?secretRefresh={"pw":"signal:HUP"}        as /services/create
//   POST /capsule/services/{id}/update?version=N&secretRefresh={"pw":""}   as …/update
//   GET  /capsule/services/{id}   Docker's JSON plus "CapsuleSecretRefresh" {name: policy}
// secretRefresh maps a secret's name (as the service references it) to "signal:SIG", "none",
// or "" (remove); a bad value or name is refused (400) with nothing written.
#include <set>

#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/json_array_body.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "dockerapi/service_schema.h"
#include "manager/controlapi/secret_refresh.h"
#include "manager/controlapi/service.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(const std::string& s) {
  static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(s)) return true;
  if (kFalse.count(s)) return false;
  return std::nullopt;
}

StatusOr<bool> BoolQuery(const Request& req, const std::string& key) {
  auto it = req.query.find(key);
  if (it == req.query.end() || it->second.empty()) return false;
  std::optional<bool> b = ParseGoBool(it->second);
  if (!b) {
    return absl::InvalidArgumentError("invalid value for " + key + ": " + it->second +
                                      ": strconv.ParseBool: parsing \"" + it->second +
                                      "\": invalid syntax");
  }
  return *b;
}

StatusOr<http::Filters> FiltersQuery(const Request& req) {
  auto it = req.query.find("filters");
  if (it == req.query.end() || it->second.empty()) return http::Filters{};
  return http::ParseFilters(it->second);
}

// ServiceStatus, the last member of Docker's Service when listed with status=true.
std::string ServiceStatusJson(const controlapi::ServiceTaskCounts& c) {
  return Json{
      {"RunningTasks", c.running}, {"DesiredTasks", c.desired}, {"CompletedTasks", c.completed}}
      .dump();
}

controlapi::ServiceFilters ServiceFiltersOf(const http::Filters& f) {
  controlapi::ServiceFilters out;
  out.id_prefixes = http::FilterValues(f, "id");
  out.name_prefixes = http::FilterValues(f, "name");
  out.labels = http::FilterValues(f, "label");
  out.modes = http::FilterValues(f, "mode");
  out.runtimes = http::FilterValues(f, "runtime");
  return out;
}

// The X-Registry-Auth header of `--with-registry-auth` ("" when absent), copied into wiped
// memory; kept with the service like a secret (controlapi/pull_auth.h).
SecretBytes RegistryAuthHeader(const Request& req) {
  auto it = req.headers.find("x-registry-auth");
  if (it == req.headers.end()) return SecretBytes();
  return SecretBytes::CopyFrom(it->second);
}

// The secretRefresh query of the /capsule/services routes (empty when absent).
StatusOr<controlapi::RefreshChanges> RefreshQuery(const Request& req) {
  controlapi::RefreshChanges out;
  auto it = req.query.find("secretRefresh");
  if (it == req.query.end() || it->second.empty()) return out;
  nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        "secretRefresh: a JSON object {\"secret\": \"policy\"} is required");
  }
  for (const auto& [name, v] : j.items()) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError("secretRefresh: the policy of " + name +
                                        " is not a string");
    }
    out[name] = v.get<std::string>();
  }
  return out;
}

Response CreateService(Backend& backend, const Request& req, bool capsule = false) {
  controlapi::RefreshChanges refresh;
  if (capsule) {
    StatusOr<controlapi::RefreshChanges> q = RefreshQuery(req);
    if (!q.ok()) return ErrorResponse(q.status());
    refresh = *std::move(q);
  }
  StatusOr<ServiceSpec> spec = ReadServiceSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  if ((*mgr)->networks != nullptr) {  // network names → IDs (messages final: network.h)
    if (Status n = (*mgr)->networks->ResolveAttachments(&*spec); !n.ok()) return ErrorResponse(n);
  }
  StatusOr<Service> s =
      (*mgr)->services->Create(*std::move(spec), RegistryAuthHeader(req), refresh);
  if (!s.ok()) return ErrorResponse(RpcError(s.status()));
  return JsonResponse(201, Json{{"ID", s->id}}.dump());
}

Response ListServices(Backend& backend, const Request& req, const Params& params) {
  StatusOr<http::Filters> filters = FiltersQuery(req);
  if (!filters.ok()) return ErrorResponse(filters.status());
  // `status` exists from API 1.41 on; older clients' value is ignored.
  bool status = false;
  auto v = params.find("__version");
  if (v == params.end() || v->second.empty() || v->second == kApiVersion) {
    StatusOr<bool> b = BoolQuery(req, "status");
    if (!b.ok()) return ErrorResponse(b.status());
    status = *b;
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status valid = http::ValidateFilters(*filters, {"id", "label", "mode", "name", "runtime"});
  if (!valid.ok()) return ErrorResponse(valid);
  const controlapi::ServiceApi& api = *(*mgr)->services;
  StatusOr<std::vector<store::ServiceEntry>> services = api.List(ServiceFiltersOf(*filters));
  if (!services.ok()) return ErrorResponse(services.status());
  if (!status) return JsonArrayResponse(*std::move(services));
  // Each service's JSON with its ServiceStatus as the last member; the counts are taken now.
  struct Listed {
    store::ServiceEntry entry;
    controlapi::ServiceTaskCounts counts;
  };
  auto listed = std::make_shared<std::vector<Listed>>();
  listed->reserve(services->size());
  for (store::ServiceEntry& e : *services) {
    controlapi::ServiceTaskCounts counts = api.TaskCounts(e->object);
    listed->push_back({std::move(e), counts});
  }
  return JsonArrayResponse(listed->size(), [listed](size_t i, std::string* out) {
    const Listed& l = (*listed)[i];
    out->append(l.entry->json, 0, l.entry->json.size() - 1);
    out->append(",\"ServiceStatus\":").append(ServiceStatusJson(l.counts)).push_back('}');
  });
}

Response InspectService(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<bool> defaults = BoolQuery(req, "insertDefaults");
  if (!defaults.ok()) return ErrorResponse(defaults.status());
  StatusOr<store::ServiceEntry> e = (*mgr)->services->Inspect(params.at("id"), *defaults);
  if (!e.ok()) return ErrorResponse(e.status());
  return JsonResponse(200, (*e)->json);
}

Response UpdateService(Backend& backend, const Request& req, const Params& params,
                       bool capsule = false) {
  controlapi::RefreshChanges refresh;
  if (capsule) {
    StatusOr<controlapi::RefreshChanges> q = RefreshQuery(req);
    if (!q.ok()) return ErrorResponse(q.status());
    refresh = *std::move(q);
  }
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, ServiceSpecSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  StatusOr<uint64_t> version = VersionQuery(req, "service");
  if (!version.ok()) return ErrorResponse(version.status());
  StatusOr<ServiceSpec> spec = ParseServiceSpec(Json::parse(body->dump()));
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::ServiceEntry> e = (*mgr)->services->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());

  // The engine's own checks (plain errors → 500), before the swarm layer's.
  auto q = [&req](const char* k) {
    auto it = req.query.find(k);
    return it == req.query.end() ? std::string() : it->second;
  };
  const std::string auth_from = q("registryAuthFrom");
  if (auth_from == "previous-spec") {
    if (!(*e)->object.previous_spec) {
      return ErrorResponse(absl::InternalError("service does not have a previous spec"));
    }
  } else if (!auth_from.empty() && auth_from != "spec") {
    return ErrorResponse(absl::InternalError("unsupported registryAuthFrom value"));
  }
  const std::string rollback = q("rollback");
  if (!rollback.empty() && rollback != "none" && rollback != "previous") {
    return ErrorResponse(absl::InternalError("unrecognized rollback option " + rollback));
  }
  if (*version > static_cast<uint64_t>(INT64_MAX)) {
    return ErrorResponse(RpcError(absl::UnknownError("update out of sequence")));
  }
  if ((*mgr)->networks != nullptr) {  // network names → IDs (messages final: network.h)
    if (Status n = (*mgr)->networks->ResolveAttachments(&*spec); !n.ok()) return ErrorResponse(n);
  }
  controlapi::PullAuthUpdate auth;
  auth.header = RegistryAuthHeader(req);
  if (auth_from == "previous-spec") auth.from = controlapi::PullAuthFrom::kPreviousSpec;
  Status s = (*mgr)->services->Update((*e)->object.id, static_cast<int64_t>(*version), *spec,
                                      rollback == "previous", auth, refresh);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return JsonResponse(200, "{}");
}

// GET /capsule/services/{id}[?insertDefaults=]: Docker's JSON (as GET /services/{id}) plus
// the refresh policies by secret name.
Response InspectCapsuleService(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<bool> defaults = BoolQuery(req, "insertDefaults");
  if (!defaults.ok()) return ErrorResponse(defaults.status());
  StatusOr<store::ServiceEntry> e = (*mgr)->services->Inspect(params.at("id"), *defaults);
  if (!e.ok()) return ErrorResponse(e.status());
  nlohmann::ordered_json j = nlohmann::ordered_json::parse((*e)->json);
  j["CapsuleSecretRefresh"] =
      controlapi::RefreshPoliciesByName((*e)->object.spec, (*e)->object.secret_refresh);
  return JsonResponse(200, j.dump());
}

Response DeleteService(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::ServiceEntry> e = (*mgr)->services->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->services->Remove((*e)->object.id);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{200, {}, ""};
}

}  // namespace

void RegisterServiceRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/services/create",
           [&backend](const Request& r, const Params&) { return CreateService(backend, r); });
  AddRoute(router, "GET", "/services",
           [&backend](const Request& r, const Params& p) { return ListServices(backend, r, p); });
  AddRoute(router, "GET", "/services/{id}",
           [&backend](const Request& r, const Params& p) { return InspectService(backend, r, p); });
  AddRoute(router, "POST", "/services/{id}/update",
           [&backend](const Request& r, const Params& p) { return UpdateService(backend, r, p); });
  AddRoute(router, "DELETE", "/services/{id}",
           [&backend](const Request&, const Params& p) { return DeleteService(backend, p); });
  AddRoute(router, "POST", "/capsule/services/create", [&backend](const Request& r, const Params&) {
    return CreateService(backend, r, /*capsule=*/true);
  });
  AddRoute(router, "POST", "/capsule/services/{id}/update",
           [&backend](const Request& r, const Params& p) {
             return UpdateService(backend, r, p, /*capsule=*/true);
           });
  AddRoute(router, "GET", "/capsule/services/{id}", [&backend](const Request& r, const Params& p) {
    return InspectCapsuleService(backend, r, p);
  });
}

}  // namespace capsule::dockerapi
