// The store encoding of services and tasks: see service_codec.h.
#include "objects/service_codec.h"

#include <optional>
#include <string>
#include <utility>

#include "objects/json_reader.h"
#include "objects/service_json.h"

namespace capsule {

using objects_internal::JsonReader;
using objects_internal::TypeError;

namespace {

Status ParseUpdateStatus(const Json& j, UpdateStatus* u) {
  JsonReader r(j, "UpdateStatus");
  RETURN_IF_ERROR(r.String("State", &u->state));
  RETURN_IF_ERROR(r.Time("StartedAt", &u->started_at));
  RETURN_IF_ERROR(r.Time("CompletedAt", &u->completed_at));
  RETURN_IF_ERROR(r.String("Message", &u->message));
  return absl::OkStatus();
}

Status ReadTaskState(const JsonReader& r, std::string_view name, TaskState* out) {
  std::string s;
  RETURN_IF_ERROR(r.String(name, &s));
  std::optional<TaskState> st = ParseTaskState(s);
  if (!st) return TypeError(r.Path(name), "task state");
  *out = *st;
  return absl::OkStatus();
}

Status ParseTaskStatus(const Json& j, TaskStatus* s) {
  JsonReader r(j, "Status");
  RETURN_IF_ERROR(r.Time("Timestamp", &s->timestamp));
  RETURN_IF_ERROR(ReadTaskState(r, "State", &s->state));
  RETURN_IF_ERROR(r.String("Message", &s->message));
  RETURN_IF_ERROR(r.String("Err", &s->err));
  ASSIGN_OR_RETURN(const Json* cs, r.Object("ContainerStatus"));
  if (cs != nullptr) {
    JsonReader c(*cs, "Status.ContainerStatus");
    ContainerStatus st;
    RETURN_IF_ERROR(c.String("ContainerID", &st.container_id));
    RETURN_IF_ERROR(c.Int("PID", &st.pid));
    RETURN_IF_ERROR(c.Int("ExitCode", &st.exit_code));
    s->container = st;
  }
  return absl::OkStatus();
}

Status Corrupt(const char* what, const Status& why) {
  return absl::DataLossError(std::string("stored ") + what +
                             " object is malformed: " + std::string(why.message()));
}

// Endpoint.VirtualIPs, as ServiceJson renders them.
Status ParseVirtualIps(const JsonReader& r, std::vector<VirtualIp>* out) {
  ASSIGN_OR_RETURN(const Json* endpoint, r.Object("Endpoint"));
  if (endpoint == nullptr) return absl::OkStatus();
  JsonReader e(*endpoint, "Endpoint");
  const Json* vips = e.Get("VirtualIPs");
  if (vips == nullptr) return absl::OkStatus();
  if (!vips->is_array()) return TypeError("Endpoint.VirtualIPs", "array");
  for (const Json& v : *vips) {
    if (!v.is_object()) return TypeError("Endpoint.VirtualIPs", "object");
    JsonReader vr(v, "Endpoint.VirtualIPs");
    VirtualIp vip;
    RETURN_IF_ERROR(vr.String("NetworkID", &vip.network_id));
    RETURN_IF_ERROR(vr.String("Addr", &vip.addr));
    out->push_back(std::move(vip));
  }
  return absl::OkStatus();
}

// NetworksAttachments, as TaskJson renders them.
Status ParseNetworksAttachments(const JsonReader& r, std::vector<NetworkAttachment>* out) {
  const Json* list = r.Get("NetworksAttachments");
  if (list == nullptr) return absl::OkStatus();
  if (!list->is_array()) return TypeError("NetworksAttachments", "array");
  for (const Json& a : *list) {
    if (!a.is_object()) return TypeError("NetworksAttachments", "object");
    JsonReader ar(a, "NetworksAttachments");
    NetworkAttachment att;
    ASSIGN_OR_RETURN(const Json* network, ar.Object("Network"));
    if (network == nullptr) return TypeError("NetworksAttachments.Network", "object");
    att.network = *network;
    RETURN_IF_ERROR(
        JsonReader(*network, "NetworksAttachments.Network").String("ID", &att.network_id));
    RETURN_IF_ERROR(ar.Strings("Addresses", &att.addresses));
    out->push_back(std::move(att));
  }
  return absl::OkStatus();
}

// Capsule's secret version pins, {"<secret ID>": <version>, ...} under `field` (absent =
// none recorded).
Status ReadSecretVersions(const Json& j, const std::string& field,
                          std::map<std::string, int64_t>* out) {
  auto it = j.find(field);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_object()) return absl::InvalidArgumentError(field + ": not an object");
  for (const auto& [id, v] : it->items()) {
    if (!v.is_number_integer()) return absl::InvalidArgumentError(field + ": not an integer");
    (*out)[id] = v.get<int64_t>();
  }
  return absl::OkStatus();
}

Status ReadSecretRefresh(const Json& j, std::map<std::string, std::string>* out) {
  constexpr char kField[] = "CapsuleSecretRefresh";
  auto it = j.find(kField);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_object()) return absl::InvalidArgumentError(std::string(kField) + ": not an object");
  for (const auto& [id, v] : it->items()) {
    if (!v.is_string()) return absl::InvalidArgumentError(std::string(kField) + ": not a string");
    (*out)[id] = v.get<std::string>();
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeServiceMeta(const Service& s) {
  Json j = ServiceJson(s, 0);
  j.erase("Version");
  if (s.spec_version != 0) j["SpecVersion"] = s.spec_version;
  if (s.previous_spec_version != 0) j["PreviousSpecVersion"] = s.previous_spec_version;
  if (!s.pull_auth_id.empty()) j["PullAuthID"] = s.pull_auth_id;
  if (!s.previous_pull_auth_id.empty()) j["PreviousPullAuthID"] = s.previous_pull_auth_id;
  if (!s.secret_versions.empty()) j["CapsuleSecretVersions"] = s.secret_versions;
  if (s.previous_secret_versions) {
    j["CapsulePreviousSecretVersions"] = Json::object();
    for (const auto& [id, v] : *s.previous_secret_versions) {
      j["CapsulePreviousSecretVersions"][id] = v;
    }
  }
  if (!s.secret_refresh.empty()) j["CapsuleSecretRefresh"] = s.secret_refresh;
  return j.dump();
}

StatusOr<Service> DecodeServiceMeta(std::string_view meta) {
  Json j = Json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j.contains("Spec")) {
    return absl::DataLossError("stored service object is malformed");
  }
  Service s;
  JsonReader r(j, "");
  Status st = [&]() -> Status {
    RETURN_IF_ERROR(r.String("ID", &s.id));
    RETURN_IF_ERROR(r.Time("CreatedAt", &s.created_at));
    RETURN_IF_ERROR(r.Time("UpdatedAt", &s.updated_at));
    RETURN_IF_ERROR(ParseServiceSpecAt(j["Spec"], "Spec", &s.spec));
    if (const Json* prev = r.Get("PreviousSpec")) {
      ServiceSpec p;
      RETURN_IF_ERROR(ParseServiceSpecAt(*prev, "PreviousSpec", &p));
      s.previous_spec = std::move(p);
    }
    if (const Json* us = r.Get("UpdateStatus")) {
      UpdateStatus u;
      RETURN_IF_ERROR(ParseUpdateStatus(*us, &u));
      s.update_status = std::move(u);
    }
    RETURN_IF_ERROR(r.Int("SpecVersion", &s.spec_version));
    RETURN_IF_ERROR(r.Int("PreviousSpecVersion", &s.previous_spec_version));
    RETURN_IF_ERROR(r.String("PullAuthID", &s.pull_auth_id));
    RETURN_IF_ERROR(r.String("PreviousPullAuthID", &s.previous_pull_auth_id));
    RETURN_IF_ERROR(ReadSecretVersions(j, "CapsuleSecretVersions", &s.secret_versions));
    if (j.contains("CapsulePreviousSecretVersions")) {
      std::map<std::string, int64_t> prev;
      RETURN_IF_ERROR(ReadSecretVersions(j, "CapsulePreviousSecretVersions", &prev));
      s.previous_secret_versions = std::move(prev);
    }
    RETURN_IF_ERROR(ReadSecretRefresh(j, &s.secret_refresh));
    RETURN_IF_ERROR(ParseVirtualIps(r, &s.virtual_ips));
    return absl::OkStatus();
  }();
  if (!st.ok()) return Corrupt("service", st);
  return s;
}

std::string EncodeTaskMeta(const Task& t) {
  Json j = TaskJson(t, 0);
  j.erase("Version");
  j["SpecVersion"] = t.spec_version;
  if (!t.secret_versions.empty()) j["CapsuleSecretVersions"] = t.secret_versions;
  if (!t.secret_refresh.empty()) j["CapsuleSecretRefresh"] = t.secret_refresh;
  return j.dump();
}

StatusOr<Task> DecodeTaskMeta(std::string_view meta) {
  Json j = Json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j.contains("Spec")) {
    return absl::DataLossError("stored task object is malformed");
  }
  Task t;
  JsonReader r(j, "");
  Status st = [&]() -> Status {
    RETURN_IF_ERROR(r.String("ID", &t.id));
    RETURN_IF_ERROR(r.Time("CreatedAt", &t.created_at));
    RETURN_IF_ERROR(r.Time("UpdatedAt", &t.updated_at));
    RETURN_IF_ERROR(r.StringMap("Labels", &t.labels));
    RETURN_IF_ERROR(ParseTaskSpecAt(j["Spec"], "Spec", &t.spec));
    RETURN_IF_ERROR(r.String("ServiceID", &t.service_id));
    RETURN_IF_ERROR(r.Uint("Slot", &t.slot));
    RETURN_IF_ERROR(r.String("NodeID", &t.node_id));
    ASSIGN_OR_RETURN(const Json* status, r.Object("Status"));
    if (status != nullptr) RETURN_IF_ERROR(ParseTaskStatus(*status, &t.status));
    RETURN_IF_ERROR(ReadTaskState(r, "DesiredState", &t.desired_state));
    RETURN_IF_ERROR(r.Int("SpecVersion", &t.spec_version));
    RETURN_IF_ERROR(ParseNetworksAttachments(r, &t.networks_attachments));
    RETURN_IF_ERROR(ReadSecretVersions(j, "CapsuleSecretVersions", &t.secret_versions));
    RETURN_IF_ERROR(ReadSecretRefresh(j, &t.secret_refresh));
    return absl::OkStatus();
  }();
  if (!st.ok()) return Corrupt("task", st);
  return t;
}

}  // namespace capsule
