// The read side of ServiceApi (declared in service.h): list, resolve, inspect and task counts,
// from the read model.
#include <algorithm>

#include "manager/controlapi/service.h"

namespace capsule::controlapi {
namespace {

bool Matches(const Service& s, const ServiceFilters& f) {
  std::vector<std::string> name_prefixes;
  for (const std::string& p : f.name_prefixes) name_prefixes.push_back(store::AsciiLower(p));
  return MatchAnyPrefix(name_prefixes, store::AsciiLower(s.spec.name)) &&
         MatchAnyPrefix(f.id_prefixes, s.id) && MatchLabels(f.labels, s.spec.labels) &&
         MatchAny(f.modes, s.spec.global ? "global" : "replicated") &&
         MatchAny(f.runtimes, "container");
}

// swarmkit's defaults.Service merged into unset fields.
Service WithDefaults(Service s) {
  ServiceSpec& spec = s.spec;
  if (!spec.task_template.container.stop_grace_period_ns) {
    spec.task_template.container.stop_grace_period_ns = 10000000000LL;
  }
  if (!spec.task_template.resources) {
    spec.task_template.resources = ResourceRequirements{ResourceLimits{}, ResourceReservations{}};
  }
  if (!spec.task_template.restart_policy) spec.task_template.restart_policy = RestartPolicy{};
  if (!spec.update_config) spec.update_config = UpdateConfig{};
  if (!spec.rollback_config) spec.rollback_config = UpdateConfig{};
  if (spec.endpoint_spec.is_null()) spec.endpoint_spec = Json{{"Mode", "vip"}};
  return s;
}

}  // namespace

StatusOr<std::vector<store::ServiceEntry>> ServiceApi::List(const ServiceFilters& filters) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<store::ServiceEntry> services = reads_.Services();  // ID order
  if (!filters.name_prefixes.empty()) {
    // swarmkit walks its lower-cased name index when name prefixes are given.
    std::stable_sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
      return store::AsciiLower(a->object.spec.name) < store::AsciiLower(b->object.spec.name);
    });
  }
  std::vector<store::ServiceEntry> out;
  for (const store::ServiceEntry& e : services) {
    if (Matches(e->object, filters)) out.push_back(e);
  }
  return out;
}

StatusOr<store::ServiceEntry> ServiceApi::Resolve(const std::string& ref) const {
  return ResolveService(reads_, ref);
}

StatusOr<store::ServiceEntry> ServiceApi::Inspect(const std::string& ref,
                                                  bool insert_defaults) const {
  ASSIGN_OR_RETURN(store::ServiceEntry e, ResolveService(reads_, ref));
  if (!insert_defaults) return e;
  auto with = std::make_shared<store::Versioned<Service>>(*e);
  with->object = WithDefaults(e->object);
  with->json = ServiceJson(with->object, with->mod_revision).dump();
  return store::ServiceEntry(std::move(with));
}

ServiceTaskCounts ServiceApi::TaskCounts(const Service& s) const {
  ServiceTaskCounts counts;
  counts.desired = s.spec.global ? 0 : s.spec.replicas;
  for (const store::TaskEntry& t : reads_.TasksOfService(s.id)) {
    if (t->object.status.state == TaskState::kRunning) ++counts.running;
    if (s.spec.global && t->object.desired_state == TaskState::kRunning) ++counts.desired;
  }
  return counts;
}

}  // namespace capsule::controlapi
