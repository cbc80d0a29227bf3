// /tasks: list (filters) and inspect. The orchestrator and the dispatcher write tasks; these
// routes read them through the control API.
#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/json_array_body.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/task.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

controlapi::TaskFilters TaskFiltersOf(const http::Filters& f) {
  controlapi::TaskFilters out;
  out.name_prefixes = http::FilterValues(f, "name");
  out.id_prefixes = http::FilterValues(f, "id");
  out.services = http::FilterValues(f, "service");
  out.nodes = http::FilterValues(f, "node");
  out.desired_states = http::FilterValues(f, "desired-state");
  out.labels = http::FilterValues(f, "label");
  out.up_to_date = !http::FilterValues(f, "_up-to-date").empty();
  out.runtimes = http::FilterValues(f, "runtime");
  return out;
}

Response ListTasks(Backend& backend, const Request& req) {
  http::Filters filters;
  if (auto it = req.query.find("filters"); it != req.query.end() && !it->second.empty()) {
    StatusOr<http::Filters> parsed = http::ParseFilters(it->second);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    filters = *std::move(parsed);
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status valid = http::ValidateFilters(filters, {"_up-to-date", "desired-state", "id", "label",
                                                 "name", "node", "runtime", "service"});
  if (!valid.ok()) return ErrorResponse(valid);
  StatusOr<std::vector<store::TaskEntry>> tasks = (*mgr)->tasks->List(TaskFiltersOf(filters));
  if (!tasks.ok()) return ErrorResponse(tasks.status());
  return JsonArrayResponse(*std::move(tasks));
}

Response InspectTask(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::TaskEntry> e = (*mgr)->tasks->Resolve(params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  return JsonResponse(200, (*e)->json);
}

}  // namespace

void RegisterTaskRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "GET", "/tasks",
           [&backend](const Request& r, const Params&) { return ListTasks(backend, r); });
  AddRoute(router, "GET", "/tasks/{id}",
           [&backend](const Request&, const Params& p) { return InspectTask(backend, p); });
}

}  // namespace capsule::dockerapi
