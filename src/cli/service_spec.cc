#include "cli/service_spec.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/daemon_error.h"
#include "cli/json_fields.h"
#include "cli/query.h"
#include "cli/secret_ops.h"

namespace capsule::cli {
namespace {

// swarmkit's defaults (api/defaults), which the CLI copies into a spec it creates.
constexpr int64_t kDefaultRestartDelay = 5'000'000'000;
constexpr int64_t kDefaultUpdateMonitor = 5'000'000'000;

std::string EnvKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }

OrderedJson LabelsObject(const std::vector<std::string>& kvs) {
  OrderedJson out = OrderedJson::object();
  for (const auto& [k, v] : ParseLabels(kvs)) out[k] = v;  // sorted, as Go's map encoding
  return out;
}

// Object member `key` of `j`, created as {} when absent or not an object.
OrderedJson& ObjectAt(OrderedJson& j, const char* key) {
  if (!j.contains(key) || !j[key].is_object()) j[key] = OrderedJson::object();
  return j[key];
}

bool AnyRestartFlag(const ServiceFlags& f) {
  return f.restart_condition || f.restart_delay || f.restart_max_attempts || f.restart_window;
}

bool AnyUpdateConfigFlag(const ServiceFlags& f) {
  return f.update_parallelism || f.update_delay || f.update_monitor || f.update_failure_action ||
         f.update_order;
}

OrderedJson DefaultRestartPolicy() {
  return OrderedJson{{"Condition", "any"}, {"Delay", kDefaultRestartDelay}, {"MaxAttempts", 0}};
}

OrderedJson DefaultUpdateConfig() {
  return OrderedJson{{"Parallelism", 1},
                     {"FailureAction", "pause"},
                     {"Monitor", kDefaultUpdateMonitor},
                     {"MaxFailureRatio", 0},
                     {"Order", "stop-first"}};
}

// Sets `key` keeping Go's field order for the keys docker writes (an absent key goes before
// the first present key that follows it in `order`).
void SetOrdered(OrderedJson& obj, const std::string& key, OrderedJson value,
                const std::vector<std::string>& order) {
  if (obj.contains(key)) {
    obj[key] = std::move(value);
    return;
  }
  auto pos = std::find(order.begin(), order.end(), key);
  OrderedJson out = OrderedJson::object();
  bool placed = false;
  for (auto& [k, v] : obj.items()) {
    auto kpos = std::find(order.begin(), order.end(), k);
    if (!placed && pos != order.end() && kpos != order.end() && kpos > pos) {
      out[key] = value;
      placed = true;
    }
    out[k] = v;
  }
  if (!placed) out[key] = std::move(value);
  obj = std::move(out);
}

void ApplyRestartFlags(const ServiceFlags& f, OrderedJson& policy) {
  static const std::vector<std::string> kOrder = {"Condition", "Delay", "MaxAttempts", "Window"};
  if (f.restart_condition) SetOrdered(policy, "Condition", *f.restart_condition, kOrder);
  if (f.restart_delay) SetOrdered(policy, "Delay", *f.restart_delay, kOrder);
  if (f.restart_max_attempts) SetOrdered(policy, "MaxAttempts", *f.restart_max_attempts, kOrder);
  if (f.restart_window) SetOrdered(policy, "Window", *f.restart_window, kOrder);
}

void ApplyUpdateConfigFlags(const ServiceFlags& f, OrderedJson& config) {
  static const std::vector<std::string> kOrder = {"Parallelism", "Delay",           "FailureAction",
                                                  "Monitor",     "MaxFailureRatio", "Order"};
  if (f.update_parallelism) SetOrdered(config, "Parallelism", *f.update_parallelism, kOrder);
  if (f.update_delay) {
    // Go omits a zero Delay (omitempty).
    if (*f.update_delay != 0) {
      SetOrdered(config, "Delay", *f.update_delay, kOrder);
    } else {
      config.erase("Delay");
    }
  }
  if (f.update_failure_action) {
    SetOrdered(config, "FailureAction", *f.update_failure_action, kOrder);
  }
  if (f.update_monitor) SetOrdered(config, "Monitor", *f.update_monitor, kOrder);
  if (f.update_order) SetOrdered(config, "Order", *f.update_order, kOrder);
}

const std::vector<std::string>& ContainerSpecOrder() {
  static const std::vector<std::string> kOrder = {"Image",
                                                  "Labels",
                                                  "Command",
                                                  "Args",
                                                  "Hostname",
                                                  "Env",
                                                  "Dir",
                                                  "User",
                                                  "Groups",
                                                  "Privileges",
                                                  "Init",
                                                  "StopSignal",
                                                  "TTY",
                                                  "OpenStdin",
                                                  "ReadOnly",
                                                  "Mounts",
                                                  "StopGracePeriod",
                                                  "Healthcheck",
                                                  "Hosts",
                                                  "DNSConfig",
                                                  "Secrets",
                                                  "Configs",
                                                  "Isolation"};
  return kOrder;
}

// Sets the resource fields whose flags were given (docker's updateInt64Value: 0 clears a field,
// as its omitempty JSON does); Limits/Reservations are created when missing.
void ApplyResourceFlags(const ServiceFlags& f, OrderedJson& resources) {
  static const std::vector<std::string> kLimitOrder = {"NanoCPUs", "MemoryBytes", "Pids"};
  static const std::vector<std::string> kReservationOrder = {"NanoCPUs", "MemoryBytes",
                                                             "GenericResources"};
  auto set = [](OrderedJson& obj, const char* key, std::optional<int64_t> v,
                const std::vector<std::string>& order) {
    if (!v) return;
    if (*v == 0) {
      obj.erase(key);
    } else {
      SetOrdered(obj, key, *v, order);
    }
  };
  auto part = [&resources](const char* name) -> OrderedJson& {
    if (!resources.contains(name) || !resources[name].is_object()) {
      SetOrdered(resources, name, OrderedJson::object(), {"Limits", "Reservations"});
    }
    return resources[name];
  };
  if (f.limit_cpu || f.limit_memory || f.limit_pids) {
    OrderedJson& limits = part("Limits");
    set(limits, "NanoCPUs", f.limit_cpu, kLimitOrder);
    set(limits, "MemoryBytes", f.limit_memory, kLimitOrder);
    set(limits, "Pids", f.limit_pids, kLimitOrder);
  }
  if (f.reserve_cpu || f.reserve_memory) {
    OrderedJson& reservations = part("Reservations");
    set(reservations, "NanoCPUs", f.reserve_cpu, kReservationOrder);
    set(reservations, "MemoryBytes", f.reserve_memory, kReservationOrder);
  }
}

const std::vector<std::string>& TaskTemplateOrder() {
  static const std::vector<std::string> kOrder = {
      "ContainerSpec", "PluginSpec",    "NetworkAttachmentSpec",
      "Resources",     "RestartPolicy", "Placement",
      "Networks",      "LogDriver",     "ForceUpdate",
      "Runtime"};
  return kOrder;
}

const std::vector<std::string>& ServiceSpecOrder() {
  static const std::vector<std::string> kOrder = {"Name",     "Labels",       "TaskTemplate",
                                                  "Mode",     "UpdateConfig", "RollbackConfig",
                                                  "Networks", "EndpointSpec"};
  return kOrder;
}

// Replaces or removes (when `kvs` becomes empty and `drop_empty`) a string→string map.
void UpdateMap(OrderedJson& parent, const char* key, const std::vector<std::string>& add,
               const std::vector<std::string>& rm, const std::vector<std::string>& order) {
  if (add.empty() && rm.empty()) return;
  OrderedJson labels =
      parent.contains(key) && parent[key].is_object() ? parent[key] : OrderedJson::object();
  std::map<std::string, OrderedJson> sorted(labels.begin(), labels.end());
  for (const auto& [k, v] : ParseLabels(add)) sorted[k] = v;
  for (const std::string& k : rm) sorted.erase(k);
  OrderedJson out = OrderedJson::object();
  for (auto& [k, v] : sorted) out[k] = v;
  SetOrdered(parent, key, out, order);
}

}  // namespace

StatusOr<OrderedJson> ResolveSecrets(HttpClient& client, const std::vector<SecretFlag>& secrets) {
  OrderedJson refs = OrderedJson::array();
  if (secrets.empty()) return refs;
  std::set<std::string> targets;
  FilterArgs filters;
  for (const SecretFlag& s : secrets) {
    if (!targets.insert(s.target).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate secret target for ", s.source, " not allowed"));
    }
    filters["name"].push_back(s.source);
  }
  HttpRequest request{"GET", "/secrets", {{"filters", FiltersToJson(filters)}}, "", ""};
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, request));
  nlohmann::json list = nlohmann::json::parse(response.body, nullptr, false);
  if (!list.is_array()) return absl::InternalError("unexpected answer to secret list");
  std::map<std::string, std::string> ids;
  for (const auto& s : list) ids[StringAt(s, {"Spec", "Name"})] = StringAt(s, {"ID"});
  for (const SecretFlag& s : secrets) {
    auto it = ids.find(s.source);
    if (it == ids.end()) {
      return absl::NotFoundError(absl::StrCat("secret not found: ", s.source));
    }
    refs.push_back(OrderedJson{
        {"File", {{"Name", s.target}, {"UID", s.uid}, {"GID", s.gid}, {"Mode", s.mode}}},
        {"SecretID", it->second},
        {"SecretName", s.source}});
  }
  return refs;
}

StatusOr<std::vector<std::string>> NormalizeEnv(const std::vector<std::string>& values,
                                                const EnvLookup& env) {
  std::vector<std::string> out;
  for (const std::string& raw : values) {
    std::string v = raw;
    const size_t eq = v.find('=');
    if (eq == 0 || v.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid environment variable: ", raw));
    }
    if (eq == std::string::npos && env) {
      if (std::optional<std::string> value = env(v)) v = absl::StrCat(v, "=", *value);
    }
    const std::string key = EnvKey(v);
    out.erase(std::remove_if(
                  out.begin(), out.end(),
                  [&](const std::string& cur) { return cur != v && cur.rfind(key + "=", 0) == 0; }),
              out.end());
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

StatusOr<OrderedJson> BuildCreateSpec(const ServiceFlags& f, const OrderedJson& secret_refs,
                                      const std::vector<std::string>& env) {
  OrderedJson mode;
  if (f.mode == "global") {
    if (f.replicas) {
      return absl::InvalidArgumentError(
          "replicas can only be used with replicated or replicated-job mode");
    }
    mode = {{"Global", OrderedJson::object()}};
  } else if (f.mode == "replicated") {
    OrderedJson replicated = OrderedJson::object();
    if (f.replicas) replicated["Replicas"] = *f.replicas;
    mode = {{"Replicated", replicated}};
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("Unknown mode: ", f.mode, ", only replicated and global supported"));
  }

  OrderedJson container = OrderedJson::object();
  container["Image"] = f.image;
  if (!f.container_labels.empty()) container["Labels"] = LabelsObject(f.container_labels);
  if (!f.args.empty()) container["Args"] = f.args;
  if (!env.empty()) container["Env"] = env;
  if (f.workdir && !f.workdir->empty()) container["Dir"] = *f.workdir;
  if (f.user && !f.user->empty()) container["User"] = *f.user;
  container["Init"] = false;
  container["DNSConfig"] = OrderedJson::object();
  if (!secret_refs.empty()) container["Secrets"] = secret_refs;

  OrderedJson task = OrderedJson::object();
  task["ContainerSpec"] = container;
  OrderedJson resources = {{"Limits", OrderedJson::object()},
                           {"Reservations", OrderedJson::object()}};
  ApplyResourceFlags(f, resources);
  task["Resources"] = resources;
  if (AnyRestartFlag(f)) {
    OrderedJson policy = DefaultRestartPolicy();
    ApplyRestartFlags(f, policy);
    task["RestartPolicy"] = policy;
  }
  OrderedJson placement = OrderedJson::object();
  if (!f.constraints.empty()) placement["Constraints"] = f.constraints;
  task["Placement"] = placement;
  task["ForceUpdate"] = 0;

  OrderedJson spec = OrderedJson::object();
  if (!f.name.empty()) spec["Name"] = f.name;
  spec["Labels"] = LabelsObject(f.labels);
  spec["TaskTemplate"] = task;
  spec["Mode"] = mode;
  if (AnyUpdateConfigFlag(f)) {
    OrderedJson config = DefaultUpdateConfig();
    ApplyUpdateConfigFlags(f, config);
    spec["UpdateConfig"] = config;
  }
  spec["EndpointSpec"] = {{"Mode", "vip"}};
  return spec;
}

Status ApplyUpdate(const ServiceFlags& f, const OrderedJson& added_secrets,
                   const std::vector<std::string>& env_add, OrderedJson* spec_ptr) {
  OrderedJson& spec = *spec_ptr;
  OrderedJson& task = ObjectAt(spec, "TaskTemplate");
  OrderedJson& container = ObjectAt(task, "ContainerSpec");

  UpdateMap(spec, "Labels", f.label_add, f.label_rm, ServiceSpecOrder());
  UpdateMap(container, "Labels", f.container_label_add, f.container_label_rm, ContainerSpecOrder());
  if (f.new_image) SetOrdered(container, "Image", *f.new_image, ContainerSpecOrder());
  if (f.workdir) SetOrdered(container, "Dir", *f.workdir, ContainerSpecOrder());
  if (f.user) SetOrdered(container, "User", *f.user, ContainerSpecOrder());

  if (!env_add.empty() || !f.env_rm.empty()) {
    std::vector<std::string> env;
    if (container.contains("Env") && container["Env"].is_array()) {
      for (const auto& e : container["Env"]) {
        if (e.is_string()) env.push_back(e.get<std::string>());
      }
    }
    for (const std::string& add : env_add) {
      auto it = std::find_if(env.begin(), env.end(),
                             [&](const std::string& cur) { return EnvKey(cur) == EnvKey(add); });
      if (it != env.end()) {
        *it = add;
      } else {
        env.push_back(add);
      }
    }
    const std::set<std::string> rm(f.env_rm.begin(), f.env_rm.end());
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& cur) { return rm.count(EnvKey(cur)) > 0; }),
              env.end());
    if (env.empty()) {
      container.erase("Env");
    } else {
      SetOrdered(container, "Env", env, ContainerSpecOrder());
    }
  }

  if (!added_secrets.empty() || !f.secret_rm.empty()) {
    const std::set<std::string> rm(f.secret_rm.begin(), f.secret_rm.end());
    OrderedJson secrets = OrderedJson::array();
    if (container.contains("Secrets") && container["Secrets"].is_array()) {
      for (const auto& ref : container["Secrets"]) {
        if (rm.count(StringAt(ref, {"SecretName"})) == 0) secrets.push_back(ref);
      }
    }
    for (const auto& ref : added_secrets) secrets.push_back(ref);
    if (secrets.empty()) {
      container.erase("Secrets");
    } else {
      SetOrdered(container, "Secrets", secrets, ContainerSpecOrder());
    }
  }

  if (f.limit_cpu || f.limit_memory || f.limit_pids || f.reserve_cpu || f.reserve_memory) {
    if (!task.contains("Resources") || !task["Resources"].is_object()) {
      SetOrdered(task, "Resources", OrderedJson::object(), TaskTemplateOrder());
    }
    ApplyResourceFlags(f, task["Resources"]);
  }

  if (AnyRestartFlag(f)) {
    if (!task.contains("RestartPolicy") || !task["RestartPolicy"].is_object()) {
      SetOrdered(task, "RestartPolicy", DefaultRestartPolicy(), TaskTemplateOrder());
    }
    ApplyRestartFlags(f, task["RestartPolicy"]);
  }
  if (!f.constraint_add.empty() || !f.constraint_rm.empty()) {
    OrderedJson& placement = ObjectAt(task, "Placement");
    std::vector<std::string> constraints;
    if (placement.contains("Constraints") && placement["Constraints"].is_array()) {
      for (const auto& c : placement["Constraints"]) {
        if (c.is_string()) constraints.push_back(c.get<std::string>());
      }
    }
    constraints.insert(constraints.end(), f.constraint_add.begin(), f.constraint_add.end());
    const std::set<std::string> rm(f.constraint_rm.begin(), f.constraint_rm.end());
    std::vector<std::string> kept;
    for (const std::string& c : constraints) {
      if (rm.count(c) == 0) kept.push_back(c);
    }
    std::sort(kept.begin(), kept.end());  // docker sorts "so that result is predictable"
    if (kept.empty()) {
      placement.erase("Constraints");
    } else {
      placement["Constraints"] = kept;
    }
  }
  if (f.force) {
    const OrderedJson& cur = task.contains("ForceUpdate") ? task["ForceUpdate"] : OrderedJson();
    const uint64_t n = cur.is_number_unsigned() ? cur.get<uint64_t>() : 0;
    SetOrdered(task, "ForceUpdate", n + 1, TaskTemplateOrder());
  }

  if (f.replicas) {
    OrderedJson& mode = ObjectAt(spec, "Mode");
    if (!mode.contains("Replicated") || !mode["Replicated"].is_object()) {
      return absl::InvalidArgumentError("replicas can only be used with replicated mode");
    }
    mode["Replicated"]["Replicas"] = *f.replicas;
  }
  if (AnyUpdateConfigFlag(f)) {
    if (!spec.contains("UpdateConfig") || !spec["UpdateConfig"].is_object()) {
      SetOrdered(spec, "UpdateConfig", DefaultUpdateConfig(), ServiceSpecOrder());
    }
    ApplyUpdateConfigFlags(f, spec["UpdateConfig"]);
  }
  return absl::OkStatus();
}

}  // namespace capsule::cli
