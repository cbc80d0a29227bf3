#include "manager/controlapi/task.h"

#include "manager/controlapi/resolve.h"

namespace capsule::controlapi {

std::string TaskName(const Task& task, const std::string& service_name) {
  const std::string slot = task.slot != 0 ? std::to_string(task.slot) : task.node_id;
  return service_name + "." + slot + "." + task.id;
}

StatusOr<store::TaskEntry> ResolveTask(const store::ReadModel& reads, const std::string& ref) {
  RETURN_IF_ERROR(reads.WaitFresh());
  if (store::TaskEntry e = reads.TaskById(ref)) return e;
  Status not_found = absl::NotFoundError("task " + ref + " not found");
  std::vector<store::TaskEntry> all = reads.Tasks();
  std::vector<store::TaskEntry> named;
  for (const store::TaskEntry& e : all) {
    store::ServiceEntry s = reads.ServiceById(e->object.service_id);
    if (TaskName(e->object, s ? s->object.spec.name : "") == ref) named.push_back(e);
  }
  if (named.size() == 1) return named.front();
  if (named.size() > 1) {
    return absl::InvalidArgumentError("task " + ref + " is ambiguous (" +
                                      std::to_string(named.size()) + " matches found)");
  }
  return UniqueIdPrefix(all, "task", ref, not_found);
}

}  // namespace capsule::controlapi
