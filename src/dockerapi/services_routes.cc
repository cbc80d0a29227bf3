// /services: create, list (filters, status), inspect (insertDefaults), update (version,
// rollback, registryAuthFrom), delete. Spec conversion errors are the engine's own (400, no
// prefix); control API errors carry the swarm layer's "rpc error" prefix.
#include <algorithm>
#include <set>

#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "dockerapi/service_schema.h"
#include "manager/controlapi/service.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

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

// swarmkit's defaults.Service merged into unset fields (GET ...?insertDefaults=true).
Service WithDefaults(Service s) {
  ServiceSpec& spec = s.spec;
  if (!spec.task_template.container.stop_grace_period_ns) {
    spec.task_template.container.stop_grace_period_ns = 10000000000LL;
  }
  if (spec.task_template.resources.is_null()) {
    spec.task_template.resources =
        Json{{"Limits", Json::object()}, {"Reservations", Json::object()}};
  }
  if (!spec.task_template.restart_policy) spec.task_template.restart_policy = RestartPolicy{};
  if (!spec.update_config) spec.update_config = UpdateConfig{};
  if (!spec.rollback_config) spec.rollback_config = UpdateConfig{};
  if (spec.endpoint_spec.is_null()) spec.endpoint_spec = Json{{"Mode", "vip"}};
  return s;
}

// ServiceStatus as swarmkit's ListServiceStatuses counts it.
std::string ServiceStatusJson(const store::ReadModel& reads, const Service& s) {
  uint64_t running = 0, desired = s.spec.global ? 0 : s.spec.replicas;
  for (const store::TaskEntry& t : reads.TasksOfService(s.id)) {
    if (t->object.status.state == TaskState::kRunning) ++running;
    if (s.spec.global && t->object.desired_state == TaskState::kRunning) ++desired;
  }
  return Json{{"RunningTasks", running}, {"DesiredTasks", desired}, {"CompletedTasks", 0}}.dump();
}

bool Matches(const Service& s, const http::Filters& f) {
  auto any_prefix = [](const std::vector<std::string>& prefixes, const std::string& v) {
    return prefixes.empty() || std::any_of(prefixes.begin(), prefixes.end(),
                                           [&](const auto& p) { return HasPrefix(v, p); });
  };
  std::vector<std::string> name_prefixes;
  for (const std::string& p : http::FilterValues(f, "name")) {
    name_prefixes.push_back(store::AsciiLower(p));
  }
  const std::vector<std::string>& modes = http::FilterValues(f, "mode");
  const std::string mode = s.spec.global ? "global" : "replicated";
  const std::vector<std::string>& runtimes = http::FilterValues(f, "runtime");
  return any_prefix(name_prefixes, store::AsciiLower(s.spec.name)) &&
         any_prefix(http::FilterValues(f, "id"), s.id) &&
         http::MatchKVList(f, "label", s.spec.labels) &&
         (modes.empty() || std::find(modes.begin(), modes.end(), mode) != modes.end()) &&
         (runtimes.empty() ||
          std::find(runtimes.begin(), runtimes.end(), "container") != runtimes.end());
}

Response CreateService(Backend& backend, const Request& req) {
  StatusOr<ServiceSpec> spec = ReadServiceSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<Service> s = (*mgr)->services->Create(*std::move(spec));
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
  const store::ReadModel& reads = *(*mgr)->reads;
  Status fresh = reads.WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);

  std::vector<store::ServiceEntry> services = reads.Services();  // ID order
  if (!http::FilterValues(*filters, "name").empty()) {
    // swarmkit walks its lower-cased name index when name prefixes are given.
    std::stable_sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
      return store::AsciiLower(a->object.spec.name) < store::AsciiLower(b->object.spec.name);
    });
  }
  std::string body = "[";
  for (const store::ServiceEntry& e : services) {
    if (!Matches(e->object, *filters)) continue;
    if (body.size() > 1) body += ',';
    if (status) {
      // ServiceStatus is the last member of Docker's Service.
      body.append(e->json, 0, e->json.size() - 1);
      body += ",\"ServiceStatus\":" + ServiceStatusJson(reads, e->object) + "}";
    } else {
      body += e->json;
    }
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectService(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<bool> defaults = BoolQuery(req, "insertDefaults");
  if (!defaults.ok()) return ErrorResponse(defaults.status());
  StatusOr<store::ServiceEntry> e = controlapi::ResolveService(*(*mgr)->reads, params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  if (*defaults) {
    return JsonResponse(200, ServiceJson(WithDefaults((*e)->object), (*e)->mod_revision).dump());
  }
  return JsonResponse(200, (*e)->json);
}

Response UpdateService(Backend& backend, const Request& req, const Params& params) {
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, ServiceSpecSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  StatusOr<uint64_t> version = VersionQuery(req, "service");
  if (!version.ok()) return ErrorResponse(version.status());
  StatusOr<ServiceSpec> spec = ParseServiceSpec(Json::parse(body->dump()));
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::ServiceEntry> e = controlapi::ResolveService(*(*mgr)->reads, params.at("id"));
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
  Status s = (*mgr)->services->Update((*e)->object.id, static_cast<int64_t>(*version), *spec,
                                      rollback == "previous");
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return JsonResponse(200, "{}");
}

Response DeleteService(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::ServiceEntry> e = controlapi::ResolveService(*(*mgr)->reads, params.at("id"));
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
}

}  // namespace capsule::dockerapi
