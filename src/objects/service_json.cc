// Field order and omitempty rules: see service_json.h.
#include "objects/service_json.h"

#include <type_traits>
#include <utility>

#include "objects/json_reader.h"

namespace capsule {

using objects_internal::ApiTime;
using objects_internal::JsonReader;
using objects_internal::TypeError;

namespace {

constexpr int64_t kDefaultRestartDelayNs = 5000000000LL;
constexpr int64_t kDefaultMonitorNs = 5000000000LL;

// ---- parsing ------------------------------------------------------------------------------

// Secret and config references share their shape but for the names of the ID and name keys.
std::string& RefId(SecretReference& r) { return r.secret_id; }
std::string& RefName(SecretReference& r) { return r.secret_name; }
std::string& RefId(ConfigReference& r) { return r.config_id; }
std::string& RefName(ConfigReference& r) { return r.config_name; }
const std::string& RefId(const SecretReference& r) { return r.secret_id; }
const std::string& RefName(const SecretReference& r) { return r.secret_name; }
const std::string& RefId(const ConfigReference& r) { return r.config_id; }
const std::string& RefName(const ConfigReference& r) { return r.config_name; }

// `kind`: "Secret" or "Config" (the keys are <kind>ID and <kind>Name).
template <typename Ref>
Status ParseFileReference(const Json& j, const std::string& path, const std::string& kind,
                          Ref* out) {
  if (!j.is_object()) return TypeError(path, "object");
  JsonReader r(j, path);
  RETURN_IF_ERROR(r.String(kind + "ID", &RefId(*out)));
  RETURN_IF_ERROR(r.String(kind + "Name", &RefName(*out)));
  ASSIGN_OR_RETURN(const Json* file, r.Object("File"));
  if (file != nullptr) {
    out->has_file = true;
    JsonReader f(*file, path + ".File");
    RETURN_IF_ERROR(f.String("Name", &out->target));
    RETURN_IF_ERROR(f.String("UID", &out->uid));
    RETURN_IF_ERROR(f.String("GID", &out->gid));
    uint64_t mode = out->mode;
    RETURN_IF_ERROR(f.Uint("Mode", &mode));
    if (mode > UINT32_MAX) return TypeError(path + ".File.Mode", "uint32");
    out->mode = static_cast<uint32_t>(mode);
  }
  if constexpr (std::is_same_v<Ref, ConfigReference>) {
    ASSIGN_OR_RETURN(const Json* runtime, r.Object("Runtime"));
    out->has_runtime = runtime != nullptr;
  }
  return absl::OkStatus();
}

// ContainerSpec.<field>: an array of references (null items skipped).
template <typename Ref>
Status ParseFileReferences(const JsonReader& r, const char* field, const std::string& kind,
                           std::vector<Ref>* out) {
  const Json* refs = r.Get(field);
  if (refs == nullptr) return absl::OkStatus();
  if (!refs->is_array()) return TypeError(r.Path(field), "array");
  for (size_t i = 0; i < refs->size(); ++i) {
    if ((*refs)[i].is_null()) continue;
    Ref ref;
    RETURN_IF_ERROR(
        ParseFileReference((*refs)[i], r.Path(field) + "[" + std::to_string(i) + "]", kind, &ref));
    out->push_back(std::move(ref));
  }
  return absl::OkStatus();
}

Status ParseNetworkAttachments(const JsonReader& r, std::string_view name,
                               std::vector<NetworkAttachmentConfig>* out) {
  const Json* list = r.Get(name);
  if (list == nullptr) return absl::OkStatus();
  if (!list->is_array()) return TypeError(r.Path(name), "array");
  out->clear();
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = r.Path(name) + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) return TypeError(path, "object");
    JsonReader n((*list)[i], path);
    NetworkAttachmentConfig c;
    RETURN_IF_ERROR(n.String("Target", &c.target));
    RETURN_IF_ERROR(n.Strings("Aliases", &c.aliases));
    RETURN_IF_ERROR(n.StringMap("DriverOpts", &c.driver_opts));
    out->push_back(std::move(c));
  }
  return absl::OkStatus();
}

// Placement.Platforms: [{"Architecture","OS"}].
Status ParsePlatforms(const JsonReader& r, std::vector<PlatformSpec>* out) {
  const Json* list = r.Get("Platforms");
  if (list == nullptr) return absl::OkStatus();
  if (!list->is_array()) return TypeError(r.Path("Platforms"), "array");
  out->clear();
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = r.Path("Platforms") + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) return TypeError(path, "object");
    JsonReader p((*list)[i], path);
    PlatformSpec spec;
    RETURN_IF_ERROR(p.String("Architecture", &spec.architecture));
    RETURN_IF_ERROR(p.String("OS", &spec.os));
    out->push_back(std::move(spec));
  }
  return absl::OkStatus();
}

Json NetworkAttachmentsJson(const std::vector<NetworkAttachmentConfig>& list) {
  Json out = Json::array();
  for (const NetworkAttachmentConfig& c : list) {
    Json j = {{"Target", c.target}};
    if (!c.aliases.empty()) j["Aliases"] = c.aliases;
    if (!c.driver_opts.empty()) j["DriverOpts"] = c.driver_opts;
    out.push_back(std::move(j));
  }
  return out;
}

Status ParseContainerSpec(const Json& j, const std::string& path, ContainerSpec* c) {
  JsonReader r(j, path);
  RETURN_IF_ERROR(r.String("Image", &c->image));
  RETURN_IF_ERROR(r.StringMap("Labels", &c->labels));
  RETURN_IF_ERROR(r.Strings("Command", &c->command));
  RETURN_IF_ERROR(r.Strings("Args", &c->args));
  RETURN_IF_ERROR(r.String("Hostname", &c->hostname));
  RETURN_IF_ERROR(r.Strings("Env", &c->env));
  RETURN_IF_ERROR(r.String("Dir", &c->dir));
  RETURN_IF_ERROR(r.String("User", &c->user));
  RETURN_IF_ERROR(r.Bool("Init", &c->init));
  RETURN_IF_ERROR(r.String("StopSignal", &c->stop_signal));
  if (r.Get("StopGracePeriod") != nullptr) {
    int64_t g = 0;
    RETURN_IF_ERROR(r.Int("StopGracePeriod", &g));
    c->stop_grace_period_ns = g;
  }
  RETURN_IF_ERROR(ParseFileReferences(r, "Secrets", "Secret", &c->secrets));
  RETURN_IF_ERROR(ParseFileReferences(r, "Configs", "Config", &c->configs));
  return absl::OkStatus();
}

Status ParseRestartPolicy(const Json& j, const std::string& path, RestartPolicy* p) {
  JsonReader r(j, path);
  p->present = true;
  RETURN_IF_ERROR(r.String("Condition", &p->condition));
  if (p->condition.empty()) p->condition = "any";
  if (p->condition != "none" && p->condition != "on-failure" && p->condition != "any") {
    return absl::InvalidArgumentError("invalid RestartCondition: \"" + p->condition + "\"");
  }
  RETURN_IF_ERROR(r.Int("Delay", &p->delay_ns));
  RETURN_IF_ERROR(r.Uint("MaxAttempts", &p->max_attempts));
  RETURN_IF_ERROR(r.Int("Window", &p->window_ns));
  return absl::OkStatus();
}

Status ParseUpdateConfig(const Json& j, const std::string& path, UpdateConfig* u) {
  JsonReader r(j, path);
  RETURN_IF_ERROR(r.Uint("Parallelism", &u->parallelism));
  RETURN_IF_ERROR(r.Int("Delay", &u->delay_ns));
  RETURN_IF_ERROR(r.String("FailureAction", &u->failure_action));
  if (u->failure_action.empty()) u->failure_action = "pause";
  if (u->failure_action != "pause" && u->failure_action != "continue" &&
      u->failure_action != "rollback") {
    return absl::InvalidArgumentError("unrecognized update failure action " + u->failure_action);
  }
  RETURN_IF_ERROR(r.Int("Monitor", &u->monitor_ns));
  RETURN_IF_ERROR(r.Double("MaxFailureRatio", &u->max_failure_ratio));
  RETURN_IF_ERROR(r.String("Order", &u->order));
  if (u->order.empty()) u->order = "stop-first";
  if (u->order != "stop-first" && u->order != "start-first") {
    return absl::InvalidArgumentError("unrecognized update order " + u->order);
  }
  return absl::OkStatus();
}

Status ParseResources(const Json& j, const std::string& path, ResourceRequirements* out) {
  JsonReader r(j, path);
  ASSIGN_OR_RETURN(const Json* limits, r.Object("Limits"));
  if (limits != nullptr) {
    JsonReader l(*limits, r.Path("Limits"));
    ResourceLimits v;
    RETURN_IF_ERROR(l.Int("NanoCPUs", &v.nano_cpus));
    RETURN_IF_ERROR(l.Int("MemoryBytes", &v.memory_bytes));
    RETURN_IF_ERROR(l.Int("Pids", &v.pids));
    out->limits = v;
  }
  ASSIGN_OR_RETURN(const Json* reservations, r.Object("Reservations"));
  if (reservations != nullptr) {
    JsonReader l(*reservations, r.Path("Reservations"));
    ResourceReservations v;
    RETURN_IF_ERROR(l.Int("NanoCPUs", &v.nano_cpus));
    RETURN_IF_ERROR(l.Int("MemoryBytes", &v.memory_bytes));
    out->reservations = v;  // GenericResources are not supported and ignored
  }
  return absl::OkStatus();
}

// ---- rendering ----------------------------------------------------------------------------

template <typename Ref>
Json FileReferenceJson(const Ref& r, const std::string& kind) {
  Json j = Json::object();
  if (r.has_file) {
    j["File"] = {{"Name", r.target}, {"UID", r.uid}, {"GID", r.gid}, {"Mode", r.mode}};
  }
  if constexpr (std::is_same_v<Ref, ConfigReference>) {
    if (r.has_runtime) j["Runtime"] = Json::object();
  }
  j[kind + "ID"] = RefId(r);
  j[kind + "Name"] = RefName(r);
  return j;
}

template <typename Ref>
Json FileReferencesJson(const std::vector<Ref>& refs, const std::string& kind) {
  Json out = Json::array();
  for (const Ref& r : refs) out.push_back(FileReferenceJson(r, kind));
  return out;
}

Json ContainerSpecJson(const ContainerSpec& c) {
  Json j = Json::object();
  j["Image"] = c.image;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.command.empty()) j["Command"] = c.command;
  if (!c.args.empty()) j["Args"] = c.args;
  if (!c.hostname.empty()) j["Hostname"] = c.hostname;
  if (!c.env.empty()) j["Env"] = c.env;
  if (!c.dir.empty()) j["Dir"] = c.dir;
  if (!c.user.empty()) j["User"] = c.user;
  j["Init"] = c.init;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.stop_grace_period_ns) j["StopGracePeriod"] = *c.stop_grace_period_ns;
  j["DNSConfig"] = Json::object();
  if (!c.secrets.empty()) j["Secrets"] = FileReferencesJson(c.secrets, "Secret");
  if (!c.configs.empty()) j["Configs"] = FileReferencesJson(c.configs, "Config");
  j["Isolation"] = "default";
  return j;
}

// Docker's swarm.Limit / swarm.Resources: every field omitempty.
Json ResourcesJson(const ResourceRequirements& r) {
  Json j = Json::object();
  if (r.limits) {
    Json l = Json::object();
    if (r.limits->nano_cpus != 0) l["NanoCPUs"] = r.limits->nano_cpus;
    if (r.limits->memory_bytes != 0) l["MemoryBytes"] = r.limits->memory_bytes;
    if (r.limits->pids != 0) l["Pids"] = r.limits->pids;
    j["Limits"] = std::move(l);
  }
  if (r.reservations) {
    Json v = Json::object();
    if (r.reservations->nano_cpus != 0) v["NanoCPUs"] = r.reservations->nano_cpus;
    if (r.reservations->memory_bytes != 0) v["MemoryBytes"] = r.reservations->memory_bytes;
    j["Reservations"] = std::move(v);
  }
  return j;
}

Json RestartPolicyJson(const RestartPolicy& p) {
  // The daemon renders Delay and Window only when they were set, MaxAttempts always. A
  // delay equal to the default is indistinguishable from an unset one here.
  Json j = {{"Condition", p.condition}};
  if (p.delay_ns != kDefaultRestartDelayNs) j["Delay"] = p.delay_ns;
  j["MaxAttempts"] = p.max_attempts;
  if (p.window_ns != 0) j["Window"] = p.window_ns;
  return j;
}

Json UpdateConfigJson(const UpdateConfig& u) {
  Json j = {{"Parallelism", u.parallelism}};
  if (u.delay_ns != 0) j["Delay"] = u.delay_ns;
  j["FailureAction"] = u.failure_action;
  if (u.monitor_ns != 0 && u.monitor_ns != kDefaultMonitorNs) j["Monitor"] = u.monitor_ns;
  j["MaxFailureRatio"] = u.max_failure_ratio;
  j["Order"] = u.order;
  return j;
}

Json UpdateStatusJson(const UpdateStatus& u) {
  Json j = Json::object();
  if (!u.state.empty()) j["State"] = u.state;
  if (u.started_at != TimePoint{}) j["StartedAt"] = ApiTime(u.started_at);
  if (u.completed_at != TimePoint{}) j["CompletedAt"] = ApiTime(u.completed_at);
  if (!u.message.empty()) j["Message"] = u.message;
  return j;
}

Json TaskStatusJson(const TaskStatus& s) {
  Json j = {{"Timestamp", ApiTime(s.timestamp)},
            {"State", TaskStateName(s.state)},
            {"Message", s.message}};
  if (!s.err.empty()) j["Err"] = s.err;
  if (s.container) {
    j["ContainerStatus"] = {{"ContainerID", s.container->container_id},
                            {"PID", s.container->pid},
                            {"ExitCode", s.container->exit_code}};
  }
  j["PortStatus"] = Json::object();
  return j;
}

}  // namespace

Status ParseTaskSpecAt(const Json& j, const std::string& path, TaskSpec* t) {
  if (!j.is_object()) return TypeError(path.empty() ? "TaskSpec" : path, "object");
  JsonReader r(j, path);
  ASSIGN_OR_RETURN(const Json* container, r.Object("ContainerSpec"));
  if (container != nullptr) {
    RETURN_IF_ERROR(ParseContainerSpec(*container, r.Path("ContainerSpec"), &t->container));
  }
  ASSIGN_OR_RETURN(const Json* restart, r.Object("RestartPolicy"));
  if (restart != nullptr) {
    RestartPolicy p;
    RETURN_IF_ERROR(ParseRestartPolicy(*restart, r.Path("RestartPolicy"), &p));
    t->restart_policy = p;
  }
  ASSIGN_OR_RETURN(const Json* placement, r.Object("Placement"));
  if (placement != nullptr) {
    JsonReader p(*placement, r.Path("Placement"));
    RETURN_IF_ERROR(p.Strings("Constraints", &t->placement.constraints));
    RETURN_IF_ERROR(ParsePlatforms(p, &t->placement.platforms));
  }
  RETURN_IF_ERROR(ParseNetworkAttachments(r, "Networks", &t->networks));
  RETURN_IF_ERROR(r.Uint("ForceUpdate", &t->force_update));
  RETURN_IF_ERROR(r.String("Runtime", &t->runtime));
  if (!t->runtime.empty() && t->runtime != "container") {
    return absl::InvalidArgumentError("unsupported runtime");
  }
  ASSIGN_OR_RETURN(const Json* resources, r.Object("Resources"));
  if (resources != nullptr) {
    ResourceRequirements req;
    RETURN_IF_ERROR(ParseResources(*resources, r.Path("Resources"), &req));
    t->resources = req;
  }
  return absl::OkStatus();
}

Status ParseServiceSpecAt(const Json& j, const std::string& path, ServiceSpec* s) {
  if (!j.is_object()) return TypeError(path.empty() ? "ServiceSpec" : path, "object");
  JsonReader r(j, path);
  RETURN_IF_ERROR(r.String("Name", &s->name));
  RETURN_IF_ERROR(r.StringMap("Labels", &s->labels));
  ASSIGN_OR_RETURN(const Json* task, r.Object("TaskTemplate"));
  if (task != nullptr) {
    RETURN_IF_ERROR(ParseTaskSpecAt(*task, r.Path("TaskTemplate"), &s->task_template));
  }
  ASSIGN_OR_RETURN(const Json* mode, r.Object("Mode"));
  if (mode != nullptr) {
    JsonReader m(*mode, r.Path("Mode"));
    if (m.Get("ReplicatedJob") != nullptr || m.Get("GlobalJob") != nullptr) {
      return absl::InvalidArgumentError("job services are not supported");
    }
    ASSIGN_OR_RETURN(const Json* replicated, m.Object("Replicated"));
    ASSIGN_OR_RETURN(const Json* global, m.Object("Global"));
    if (replicated != nullptr && global != nullptr) {
      return absl::InvalidArgumentError("cannot specify both replicated mode and global mode");
    }
    s->global = global != nullptr;
    if (replicated != nullptr) {
      JsonReader rep(*replicated, m.Path("Replicated"));
      RETURN_IF_ERROR(rep.Uint("Replicas", &s->replicas));
    }
  }
  ASSIGN_OR_RETURN(const Json* update, r.Object("UpdateConfig"));
  if (update != nullptr) {
    UpdateConfig u;
    RETURN_IF_ERROR(ParseUpdateConfig(*update, r.Path("UpdateConfig"), &u));
    s->update_config = u;
  }
  ASSIGN_OR_RETURN(const Json* rollback, r.Object("RollbackConfig"));
  if (rollback != nullptr) {
    UpdateConfig u;
    RETURN_IF_ERROR(ParseUpdateConfig(*rollback, r.Path("RollbackConfig"), &u));
    s->rollback_config = u;
  }
  RETURN_IF_ERROR(ParseNetworkAttachments(r, "Networks", &s->networks));
  ASSIGN_OR_RETURN(const Json* endpoint, r.Object("EndpointSpec"));
  if (endpoint != nullptr) {
    JsonReader e(*endpoint, r.Path("EndpointSpec"));
    std::string mode_name;
    RETURN_IF_ERROR(e.String("Mode", &mode_name));
    if (!mode_name.empty() && mode_name != "vip" && mode_name != "dnsrr") {
      return absl::InvalidArgumentError("invalid resolution mode: \"" + mode_name + "\"");
    }
    s->endpoint_spec = *endpoint;
  }
  return absl::OkStatus();
}

Json TaskSpecJson(const TaskSpec& s) {
  Json j = Json::object();
  j["ContainerSpec"] = ContainerSpecJson(s.container);
  if (s.resources) j["Resources"] = ResourcesJson(*s.resources);
  if (s.restart_policy) j["RestartPolicy"] = RestartPolicyJson(*s.restart_policy);
  Json placement = Json::object();
  if (!s.placement.constraints.empty()) placement["Constraints"] = s.placement.constraints;
  if (!s.placement.platforms.empty()) {
    Json platforms = Json::array();
    for (const PlatformSpec& p : s.placement.platforms) {
      platforms.push_back({{"Architecture", p.architecture}, {"OS", p.os}});
    }
    placement["Platforms"] = std::move(platforms);
  }
  j["Placement"] = std::move(placement);
  if (!s.networks.empty()) j["Networks"] = NetworkAttachmentsJson(s.networks);
  j["ForceUpdate"] = s.force_update;
  if (!s.runtime.empty()) j["Runtime"] = s.runtime;
  return j;
}

Json ServiceSpecJson(const ServiceSpec& s) {
  Json task = TaskSpecJson(s.task_template);
  task["Runtime"] = "container";  // the daemon always names the container runtime
  Json mode = s.global ? Json{{"Global", Json::object()}}
                       : Json{{"Replicated", {{"Replicas", s.replicas}}}};
  Json j = {{"Name", s.name},
            {"Labels", s.labels},
            {"TaskTemplate", std::move(task)},
            {"Mode", std::move(mode)}};
  if (s.update_config) j["UpdateConfig"] = UpdateConfigJson(*s.update_config);
  if (s.rollback_config) j["RollbackConfig"] = UpdateConfigJson(*s.rollback_config);
  if (!s.networks.empty()) j["Networks"] = NetworkAttachmentsJson(s.networks);
  if (!s.endpoint_spec.is_null()) j["EndpointSpec"] = s.endpoint_spec;
  return j;
}

Json ServiceJson(const Service& s, int64_t version) {
  Json j = {{"ID", s.id},
            {"Version", {{"Index", version}}},
            {"CreatedAt", ApiTime(s.created_at)},
            {"UpdatedAt", ApiTime(s.updated_at)},
            {"Spec", ServiceSpecJson(s.spec)}};
  if (s.previous_spec) j["PreviousSpec"] = ServiceSpecJson(*s.previous_spec);
  j["Endpoint"] = {{"Spec", Json::object()}};
  if (!s.virtual_ips.empty()) {
    Json vips = Json::array();
    for (const VirtualIp& v : s.virtual_ips) {
      Json vip = {{"NetworkID", v.network_id}};
      if (!v.addr.empty()) vip["Addr"] = v.addr;
      vips.push_back(std::move(vip));
    }
    j["Endpoint"]["VirtualIPs"] = std::move(vips);
  }
  if (s.update_status) j["UpdateStatus"] = UpdateStatusJson(*s.update_status);
  return j;
}

Json TaskJson(const Task& t, int64_t version) {
  Json spec = TaskSpecJson(t.spec);
  spec.erase("Runtime");  // the daemon's task conversion does not name the runtime
  Json j = {{"ID", t.id},
            {"Version", {{"Index", version}}},
            {"CreatedAt", ApiTime(t.created_at)},
            {"UpdatedAt", ApiTime(t.updated_at)},
            {"Labels", t.labels},
            {"Spec", std::move(spec)},
            {"ServiceID", t.service_id}};
  if (t.slot != 0) j["Slot"] = t.slot;
  if (!t.node_id.empty()) j["NodeID"] = t.node_id;
  j["Status"] = TaskStatusJson(t.status);
  j["DesiredState"] = TaskStateName(t.desired_state);
  if (!t.networks_attachments.empty()) {
    Json list = Json::array();
    for (const NetworkAttachment& a : t.networks_attachments) {
      list.push_back({{"Network", a.network}, {"Addresses", a.addresses}});
    }
    j["NetworksAttachments"] = std::move(list);
  }
  return j;
}

StatusOr<ServiceSpec> ParseServiceSpec(const Json& j) {
  ServiceSpec s;
  RETURN_IF_ERROR(ParseServiceSpecAt(j, "", &s));
  return s;
}

StatusOr<TaskSpec> ParseTaskSpec(const Json& j) {
  TaskSpec t;
  RETURN_IF_ERROR(ParseTaskSpecAt(j, "", &t));
  return t;
}

}  // namespace capsule
