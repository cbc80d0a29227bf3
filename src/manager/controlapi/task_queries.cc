// TaskApi (declared in task.h): the tasks list, lookups and the tasks whose logs are served,
// from the read model.
#include <algorithm>

#include "manager/controlapi/node.h"
#include "manager/controlapi/resolve.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/task.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::controlapi {
namespace {

// The filters after the engine's transformation: services and nodes given by reference
// become IDs (an unknown one fails the request, as the engine's lookup does).
struct ResolvedFilters {
  const TaskFilters* in = nullptr;
  std::vector<std::string> service_ids;
  std::vector<std::string> node_ids;
  std::vector<TaskState> desired;
};

StatusOr<ResolvedFilters> ResolveFilters(const store::ReadModel& reads, const TaskFilters& f) {
  ResolvedFilters out;
  out.in = &f;
  for (const std::string& s : f.services) {
    ASSIGN_OR_RETURN(store::ServiceEntry e, ResolveService(reads, s));
    out.service_ids.push_back(e->object.id);
  }
  for (const std::string& n : f.nodes) {
    ASSIGN_OR_RETURN(store::NodeEntry e, ResolveNode(reads, n));
    out.node_ids.push_back(e->object.id);
  }
  for (const std::string& s : f.desired_states) {
    if (s.empty()) continue;
    std::optional<TaskState> st = ParseTaskState(store::AsciiLower(s));
    if (!st) return absl::InternalError("Invalid desired-state filter: '" + s + "'");
    out.desired.push_back(*st);
  }
  return out;
}

bool Matches(const store::ReadModel& reads, const Task& t, const ResolvedFilters& f) {
  if (!MatchAny(f.in->runtimes, "container")) return false;
  if (!MatchAnyPrefix(f.in->id_prefixes, t.id) || !MatchAny(f.service_ids, t.service_id) ||
      !MatchAny(f.node_ids, t.node_id)) {
    return false;
  }
  if (!f.desired.empty() &&
      std::find(f.desired.begin(), f.desired.end(), t.desired_state) == f.desired.end()) {
    return false;
  }
  store::ServiceEntry svc = reads.ServiceById(t.service_id);
  if (!f.in->name_prefixes.empty() &&
      !MatchAnyPrefix(f.in->name_prefixes, TaskName(t, svc ? svc->object.spec.name : ""))) {
    return false;
  }
  // swarmkit matches `label` against the labels of the task's service.
  if (!f.in->labels.empty() && !(svc && MatchLabels(f.in->labels, svc->object.spec.labels))) {
    return false;
  }
  // As swarmkit: up to date = not dirty (same TaskTemplate; a change of Replicas alone leaves
  // tasks up to date, so `service scale` converges).
  if (f.in->up_to_date) {
    if (!svc) return false;
    store::NodeEntry node = t.node_id.empty() ? nullptr : reads.NodeById(t.node_id);
    if (orchestrator::IsTaskDirty(svc->object, t, node ? &node->object : nullptr)) return false;
  }
  return true;
}

}  // namespace

TaskApi::TaskApi(const store::ReadModel& reads) : reads_(reads) {}

StatusOr<std::vector<store::TaskEntry>> TaskApi::List(const TaskFilters& filters) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  ASSIGN_OR_RETURN(ResolvedFilters f, ResolveFilters(reads_, filters));
  std::vector<store::TaskEntry> tasks;
  if (f.service_ids.size() == 1) {
    tasks = reads_.TasksOfService(f.service_ids.front());
  } else if (f.service_ids.empty() && f.node_ids.size() == 1) {
    tasks = reads_.TasksOnNode(f.node_ids.front());
  } else {
    tasks = reads_.Tasks();
  }
  std::vector<store::TaskEntry> out;
  for (const store::TaskEntry& e : tasks) {
    if (Matches(reads_, e->object, f)) out.push_back(e);
  }
  return out;
}

StatusOr<store::TaskEntry> TaskApi::Resolve(const std::string& ref) const {
  return ResolveTask(reads_, ref);
}

StatusOr<std::vector<store::TaskEntry>> TaskApi::TasksOfService(
    const std::string& service_ref) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::ServiceEntry service = reads_.ServiceById(service_ref);
  if (!service) service = reads_.ServiceByName(service_ref);
  if (!service) {
    ASSIGN_OR_RETURN(service,
                     UniqueIdPrefix(reads_.Services(), "service", service_ref,
                                    absl::NotFoundError("service " + service_ref + " not found")));
  }
  return reads_.TasksOfService(service->object.id);
}

StatusOr<store::TaskEntry> TaskApi::ResolveById(const std::string& ref) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  if (store::TaskEntry task = reads_.TaskById(ref)) return task;
  return UniqueIdPrefix(reads_.Tasks(), "task", ref,
                        absl::NotFoundError("task " + ref + " not found"));
}

}  // namespace capsule::controlapi
