// /tasks: list (filters) and inspect. Tasks are read from the read model; the orchestrator and
// the dispatcher write them.
#include <algorithm>

#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/task.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The engine's task filters after its transformation: services and nodes given by name or
// ID prefix become IDs (an unknown one fails the request, as the engine's lookup does).
struct TaskFilters {
  std::vector<std::string> names;  // prefixes of "<service>.<slot>.<id>"
  std::vector<std::string> ids;    // prefixes
  std::vector<std::string> service_ids;
  std::vector<std::string> node_ids;
  std::vector<TaskState> desired;
  bool up_to_date = false;
  bool runtime_container = true;  // the runtime filter admits "container" (or is absent)
  const http::Filters* raw = nullptr;
};

StatusOr<TaskFilters> ResolveFilters(const store::ReadModel& reads, const http::Filters& f) {
  TaskFilters out;
  out.raw = &f;
  out.names = http::FilterValues(f, "name");
  out.ids = http::FilterValues(f, "id");
  for (const std::string& s : http::FilterValues(f, "service")) {
    ASSIGN_OR_RETURN(store::ServiceEntry e, controlapi::ResolveService(reads, s));
    out.service_ids.push_back(e->object.id);
  }
  for (const std::string& n : http::FilterValues(f, "node")) {
    ASSIGN_OR_RETURN(store::NodeEntry e, controlapi::ResolveNode(reads, n));
    out.node_ids.push_back(e->object.id);
  }
  out.up_to_date = !http::FilterValues(f, "_up-to-date").empty();
  const std::vector<std::string>& runtimes = http::FilterValues(f, "runtime");
  out.runtime_container = runtimes.empty() || std::find(runtimes.begin(), runtimes.end(),
                                                        "container") != runtimes.end();
  for (const std::string& s : http::FilterValues(f, "desired-state")) {
    if (s.empty()) continue;
    std::optional<TaskState> st = ParseTaskState(store::AsciiLower(s));
    if (!st) return absl::InternalError("Invalid desired-state filter: '" + s + "'");
    out.desired.push_back(*st);
  }
  return out;
}

bool Matches(const store::ReadModel& reads, const Task& t, const TaskFilters& f) {
  auto contains = [](const std::vector<std::string>& set, const std::string& v) {
    return set.empty() || std::find(set.begin(), set.end(), v) != set.end();
  };
  auto any_prefix = [](const std::vector<std::string>& prefixes, const std::string& v) {
    return prefixes.empty() || std::any_of(prefixes.begin(), prefixes.end(),
                                           [&](const auto& p) { return HasPrefix(v, p); });
  };
  if (!f.runtime_container) return false;
  if (!any_prefix(f.ids, t.id) || !contains(f.service_ids, t.service_id) ||
      !contains(f.node_ids, t.node_id)) {
    return false;
  }
  if (!f.desired.empty() &&
      std::find(f.desired.begin(), f.desired.end(), t.desired_state) == f.desired.end()) {
    return false;
  }
  store::ServiceEntry svc = reads.ServiceById(t.service_id);
  if (!f.names.empty() &&
      !any_prefix(f.names, controlapi::TaskName(t, svc ? svc->object.spec.name : ""))) {
    return false;
  }
  // swarmkit matches `label` against the labels of the task's service.
  if (!http::FilterValues(*f.raw, "label").empty() &&
      !(svc && http::MatchKVList(*f.raw, "label", svc->object.spec.labels))) {
    return false;
  }
  // As swarmkit: up to date = not dirty (same TaskTemplate; a change of Replicas alone leaves
  // tasks up to date, so `service scale` converges).
  if (f.up_to_date) {
    if (!svc) return false;
    store::NodeEntry node = t.node_id.empty() ? nullptr : reads.NodeById(t.node_id);
    if (orchestrator::IsTaskDirty(svc->object, t, node ? &node->object : nullptr)) return false;
  }
  return true;
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
  const store::ReadModel& reads = *(*mgr)->reads;
  Status fresh = reads.WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);
  StatusOr<TaskFilters> f = ResolveFilters(reads, filters);
  if (!f.ok()) return ErrorResponse(f.status());

  std::vector<store::TaskEntry> tasks;
  if (f->service_ids.size() == 1) {
    tasks = reads.TasksOfService(f->service_ids.front());
  } else if (f->service_ids.empty() && f->node_ids.size() == 1) {
    tasks = reads.TasksOnNode(f->node_ids.front());
  } else {
    tasks = reads.Tasks();
  }
  std::string body = "[";
  for (const store::TaskEntry& e : tasks) {
    if (!Matches(reads, e->object, *f)) continue;
    if (body.size() > 1) body += ',';
    body += e->json;
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectTask(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::TaskEntry> e = controlapi::ResolveTask(*(*mgr)->reads, params.at("id"));
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
