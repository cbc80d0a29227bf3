#include "objects/objects.h"

namespace capsule {
namespace {

std::string Time(TimePoint t) { return FormatRfc3339Nano(t); }

Status Corrupt(const char* what) {
  return absl::DataLossError(std::string("stored ") + what + " object is malformed");
}

Json DriverJson(const Driver& d) {
  Json j = Json::object();
  j["Name"] = d.name;
  if (!d.options.empty()) j["Options"] = d.options;
  return j;
}

std::optional<Driver> ParseDriver(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  Driver d;
  d.name = j.value("Name", "");
  if (j.contains("Options") && j["Options"].is_object()) {
    d.options = j["Options"].get<std::map<std::string, std::string>>();
  }
  return d;
}

Labels ParseLabels(const Json& j) {
  if (!j.is_object()) return {};
  return j.get<Labels>();
}

// Secrets and configs share their stored and rendered shape; only a secret has a Driver.
template <typename T>
std::string EncodeDataObjectMeta(const T& o, const std::optional<Driver>& driver) {
  Json j = {{"ID", o.id},
            {"CreatedAt", ToUnixNanos(o.created_at)},
            {"UpdatedAt", ToUnixNanos(o.updated_at)},
            {"Name", o.name},
            {"Labels", o.labels}};
  if (driver) j["Driver"] = DriverJson(*driver);
  if (o.templating) j["Templating"] = DriverJson(*o.templating);
  return j.dump();
}

// Decodes the shared fields into `o`; → the stored Driver, if any.
template <typename T>
StatusOr<std::optional<Driver>> DecodeDataObjectMeta(std::string_view meta, const char* what,
                                                     T* o) {
  Json j = Json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j.contains("Name")) return Corrupt(what);
  o->id = j["ID"].get<std::string>();
  o->created_at = FromUnixNanos(j.value("CreatedAt", int64_t{0}));
  o->updated_at = FromUnixNanos(j.value("UpdatedAt", int64_t{0}));
  o->name = j["Name"].get<std::string>();
  o->labels = ParseLabels(j.value("Labels", Json::object()));
  if (j.contains("Templating")) o->templating = ParseDriver(j["Templating"]);
  if (j.contains("Driver")) return ParseDriver(j["Driver"]);
  return std::optional<Driver>();
}

// `data_base64` null: no Data field (secrets never show it).
template <typename T>
std::string RenderDataObject(const T& o, int64_t version, const std::optional<Driver>& driver,
                             const std::string_view* data_base64) {
  Json spec = {{"Name", o.name}, {"Labels", o.labels}};
  if (data_base64 != nullptr) spec["Data"] = *data_base64;
  if (driver) spec["Driver"] = DriverJson(*driver);
  if (o.templating) spec["Templating"] = DriverJson(*o.templating);
  Json j = {{"ID", o.id},
            {"Version", {{"Index", version}}},
            {"CreatedAt", Time(o.created_at)},
            {"UpdatedAt", Time(o.updated_at)},
            {"Spec", spec}};
  return j.dump();
}

}  // namespace

std::string EncodeSecretMeta(const Secret& s) {
  std::string meta = EncodeDataObjectMeta(s, s.driver);
  if (s.versions.empty() && s.current_version == 1) return meta;  // as before versions existed
  Json j = Json::parse(meta);
  Json versions = Json::array();
  for (const SecretVersion& v : s.versions) {
    versions.push_back({{"Number", v.number},
                        {"CreatedAt", ToUnixNanos(v.created_at)},
                        {"CreatedBy", v.created_by_uid},
                        {"Digest", v.digest}});
  }
  j["CapsuleVersions"] = {{"Current", s.current_version}, {"Versions", versions}};
  return j.dump();
}

StatusOr<Secret> DecodeSecretMeta(std::string_view meta) {
  Secret s;
  ASSIGN_OR_RETURN(s.driver, DecodeDataObjectMeta(meta, "secret", &s));
  Json j = Json::parse(meta, nullptr, /*allow_exceptions=*/false);
  if (!j.contains("CapsuleVersions")) return s;
  const Json& cv = j["CapsuleVersions"];
  if (!cv.is_object() || !cv.contains("Current") || !cv["Current"].is_number_integer() ||
      !cv.contains("Versions") || !cv["Versions"].is_array()) {
    return Corrupt("secret");
  }
  s.current_version = cv["Current"].get<int64_t>();
  for (const Json& v : cv["Versions"]) {
    if (!v.is_object() || !v.contains("Number") || !v["Number"].is_number_integer()) {
      return Corrupt("secret");
    }
    SecretVersion sv;
    sv.number = v["Number"].get<int64_t>();
    sv.created_at = FromUnixNanos(v.value("CreatedAt", int64_t{0}));
    sv.created_by_uid = v.value("CreatedBy", int64_t{-1});
    sv.digest = v.value("Digest", "");
    s.versions.push_back(std::move(sv));
  }
  return s;
}

std::string RenderSecret(const Secret& s, int64_t version) {
  return RenderDataObject(s, version, s.driver, nullptr);
}

std::string EncodeConfigMeta(const Config& c) { return EncodeDataObjectMeta(c, std::nullopt); }

StatusOr<Config> DecodeConfigMeta(std::string_view meta) {
  Config c;
  RETURN_IF_ERROR(DecodeDataObjectMeta(meta, "config", &c).status());
  return c;
}

std::string RenderConfig(const Config& c, int64_t version, std::string_view data_base64) {
  return RenderDataObject(c, version, std::nullopt, &data_base64);
}

std::string EncodeClusterMeta(const Cluster& c) {
  const ClusterSpec& s = c.spec;
  Json j = {{"ID", c.id},
            {"CreatedAt", ToUnixNanos(c.created_at)},
            {"UpdatedAt", ToUnixNanos(c.updated_at)},
            {"Spec",
             {{"Name", s.name},
              {"Labels", s.labels},
              {"TaskHistoryRetentionLimit", s.task_history_retention_limit},
              {"SnapshotInterval", s.snapshot_interval},
              {"KeepOldSnapshots", s.keep_old_snapshots},
              {"LogEntriesForSlowFollowers", s.log_entries_for_slow_followers},
              {"ElectionTick", s.election_tick},
              {"HeartbeatTick", s.heartbeat_tick},
              {"HeartbeatPeriod", s.heartbeat_period_ns},
              {"NodeCertExpiry", s.node_cert_expiry_ns},
              {"AutoLockManagers", s.autolock_managers}}},
            {"RootCA", c.root_ca_cert_pem},
            {"CertIssuerSubject", c.cert_issuer_subject},
            {"CertIssuerPublicKey", c.cert_issuer_public_key},
            {"WorkerJoinToken", c.worker_join_token},
            {"ManagerJoinToken", c.manager_join_token},
            {"DefaultAddrPool", s.default_addr_pool},
            {"SubnetSize", s.subnet_size}};
  if (s.secret_versions_kept != 2) j["CapsuleSecretVersionsKept"] = s.secret_versions_kept;
  if (s.ca_force_rotate != 0) j["CAForceRotate"] = s.ca_force_rotate;
  if (!s.signing_ca_cert.empty()) j["SigningCACert"] = s.signing_ca_cert;
  if (!c.rotation_cert_pem.empty()) {
    j["RotationCACert"] = c.rotation_cert_pem;
    j["RotationCrossSignedCACert"] = c.rotation_cross_signed_pem;
  }
  return j.dump();
}

StatusOr<Cluster> DecodeClusterMeta(std::string_view meta) {
  Json j = Json::parse(meta, nullptr, false);
  if (!j.is_object() || !j.contains("ID") || !j.contains("Spec")) return Corrupt("cluster");
  Cluster c;
  c.id = j["ID"].get<std::string>();
  c.created_at = FromUnixNanos(j.value("CreatedAt", int64_t{0}));
  c.updated_at = FromUnixNanos(j.value("UpdatedAt", int64_t{0}));
  const Json& s = j["Spec"];
  c.spec.name = s.value("Name", "default");
  c.spec.labels = ParseLabels(s.value("Labels", Json::object()));
  c.spec.task_history_retention_limit = s.value("TaskHistoryRetentionLimit", int64_t{5});
  c.spec.snapshot_interval = s.value("SnapshotInterval", uint64_t{10000});
  c.spec.keep_old_snapshots = s.value("KeepOldSnapshots", uint64_t{0});
  c.spec.log_entries_for_slow_followers = s.value("LogEntriesForSlowFollowers", uint64_t{500});
  c.spec.election_tick = s.value("ElectionTick", int64_t{10});
  c.spec.heartbeat_tick = s.value("HeartbeatTick", int64_t{1});
  c.spec.heartbeat_period_ns = s.value("HeartbeatPeriod", int64_t{5000000000LL});
  c.spec.node_cert_expiry_ns = s.value("NodeCertExpiry", int64_t{7776000000000000LL});
  c.spec.autolock_managers = s.value("AutoLockManagers", false);
  c.root_ca_cert_pem = j.value("RootCA", "");
  c.cert_issuer_subject = j.value("CertIssuerSubject", "");
  c.cert_issuer_public_key = j.value("CertIssuerPublicKey", "");
  c.worker_join_token = j.value("WorkerJoinToken", "");
  c.manager_join_token = j.value("ManagerJoinToken", "");
  if (j.contains("DefaultAddrPool") && j["DefaultAddrPool"].is_array()) {
    c.spec.default_addr_pool = j["DefaultAddrPool"].get<std::vector<std::string>>();
  }
  c.spec.subnet_size = j.value("SubnetSize", uint32_t{24});
  c.spec.secret_versions_kept = j.value("CapsuleSecretVersionsKept", int64_t{2});
  c.spec.ca_force_rotate = j.value("CAForceRotate", uint64_t{0});
  c.spec.signing_ca_cert = j.value("SigningCACert", "");
  c.rotation_cert_pem = j.value("RotationCACert", "");
  c.rotation_cross_signed_pem = j.value("RotationCrossSignedCACert", "");
  return c;
}

Json ClusterJson(const Cluster& c, int64_t version, bool with_tokens) {
  const ClusterSpec& s = c.spec;
  Json spec = {{"Name", s.name},
               {"Labels", s.labels},
               {"Orchestration", {{"TaskHistoryRetentionLimit", s.task_history_retention_limit}}},
               {"Raft",
                {{"SnapshotInterval", s.snapshot_interval},
                 {"KeepOldSnapshots", s.keep_old_snapshots},
                 {"LogEntriesForSlowFollowers", s.log_entries_for_slow_followers},
                 {"ElectionTick", s.election_tick},
                 {"HeartbeatTick", s.heartbeat_tick}}},
               {"Dispatcher", {{"HeartbeatPeriod", s.heartbeat_period_ns}}},
               {"CAConfig", {{"NodeCertExpiry", s.node_cert_expiry_ns}}},
               {"TaskDefaults", Json::object()},
               {"EncryptionConfig", {{"AutoLockManagers", s.autolock_managers}}}};
  // Docker's omitempty fields; SigningCAKey is never shown.
  if (!s.signing_ca_cert.empty()) spec["CAConfig"]["SigningCACert"] = s.signing_ca_cert;
  if (s.ca_force_rotate != 0) spec["CAConfig"]["ForceRotate"] = s.ca_force_rotate;
  Json j = {{"ID", c.id},
            {"Version", {{"Index", version}}},
            {"CreatedAt", Time(c.created_at)},
            {"UpdatedAt", Time(c.updated_at)},
            {"Spec", spec},
            {"TLSInfo",
             {{"TrustRoot", c.root_ca_cert_pem},
              {"CertIssuerSubject", c.cert_issuer_subject},
              {"CertIssuerPublicKey", c.cert_issuer_public_key}}},
            {"RootRotationInProgress", !c.rotation_cert_pem.empty()},
            {"DefaultAddrPool", s.default_addr_pool},
            {"SubnetSize", s.subnet_size},
            {"DataPathPort", 4789}};
  if (with_tokens) {
    j["JoinTokens"] = {{"Worker", c.worker_join_token}, {"Manager", c.manager_join_token}};
  }
  return j;
}

std::string EncodeNodeMeta(const Node& n) {
  Json j = {{"ID", n.id},
            {"CreatedAt", ToUnixNanos(n.created_at)},
            {"UpdatedAt", ToUnixNanos(n.updated_at)},
            {"Hostname", n.hostname},
            {"Name", n.spec_name},
            {"Role", n.role},
            {"Availability", n.availability},
            {"Labels", n.labels},
            {"State", n.state},
            {"Addr", n.addr},
            {"ManagerAddr", n.manager_addr},
            {"Leader", n.leader},
            {"EngineVersion", n.engine_version},
            {"OS", n.os},
            {"Architecture", n.architecture}};
  if (n.nano_cpus != 0) j["NanoCPUs"] = n.nano_cpus;
  if (n.memory_bytes != 0) j["MemoryBytes"] = n.memory_bytes;
  if (!n.session_manager.empty()) j["SessionManager"] = n.session_manager;
  if (!n.desired_role.empty() && n.desired_role != n.role) j["DesiredRole"] = n.desired_role;
  if (!n.tls_issuer_public_key.empty()) {
    j["TLSTrustRoot"] = n.tls_trust_root;
    j["TLSIssuerSubject"] = n.tls_issuer_subject;
    j["TLSIssuerPublicKey"] = n.tls_issuer_public_key;
  }
  return j.dump();
}

StatusOr<Node> DecodeNodeMeta(std::string_view meta) {
  Json j = Json::parse(meta, nullptr, false);
  if (!j.is_object() || !j.contains("ID")) return Corrupt("node");
  Node n;
  n.id = j["ID"].get<std::string>();
  n.created_at = FromUnixNanos(j.value("CreatedAt", int64_t{0}));
  n.updated_at = FromUnixNanos(j.value("UpdatedAt", int64_t{0}));
  n.hostname = j.value("Hostname", "");
  n.spec_name = j.value("Name", "");
  n.role = j.value("Role", "manager");
  n.availability = j.value("Availability", "active");
  n.labels = ParseLabels(j.value("Labels", Json::object()));
  n.state = j.value("State", "unknown");
  n.addr = j.value("Addr", "");
  n.manager_addr = j.value("ManagerAddr", "");
  n.leader = j.value("Leader", false);
  n.engine_version = j.value("EngineVersion", "");
  n.os = j.value("OS", "linux");
  n.architecture = j.value("Architecture", "x86_64");
  n.nano_cpus = j.value("NanoCPUs", int64_t{0});
  n.memory_bytes = j.value("MemoryBytes", int64_t{0});
  n.session_manager = j.value("SessionManager", "");
  n.desired_role = j.value("DesiredRole", n.role);
  n.tls_trust_root = j.value("TLSTrustRoot", "");
  n.tls_issuer_subject = j.value("TLSIssuerSubject", "");
  n.tls_issuer_public_key = j.value("TLSIssuerPublicKey", "");
  return n;
}

Json NodeJson(const Node& n, int64_t version) {
  const std::string& desired = n.desired_role.empty() ? n.role : n.desired_role;
  Json spec = {{"Labels", n.labels}, {"Role", desired}, {"Availability", n.availability}};
  if (!n.spec_name.empty()) spec["Name"] = n.spec_name;
  Json resources = Json::object();  // omitempty, as Docker's swarm.Resources
  if (n.nano_cpus != 0) resources["NanoCPUs"] = n.nano_cpus;
  if (n.memory_bytes != 0) resources["MemoryBytes"] = n.memory_bytes;
  Json j = {{"ID", n.id},
            {"Version", {{"Index", version}}},
            {"CreatedAt", Time(n.created_at)},
            {"UpdatedAt", Time(n.updated_at)},
            {"Spec", spec},
            {"Description",
             {{"Hostname", n.hostname},
              {"Platform", {{"Architecture", n.architecture}, {"OS", n.os}}},
              {"Resources", resources},
              {"Engine", {{"EngineVersion", n.engine_version}}},
              {"TLSInfo",
               {{"TrustRoot", n.tls_trust_root},
                {"CertIssuerSubject", n.tls_issuer_subject},
                {"CertIssuerPublicKey", n.tls_issuer_public_key}}}}},
            {"Status", {{"State", n.state}, {"Addr", n.addr}}}};
  if (n.role == "manager") {
    j["ManagerStatus"] = {
        {"Leader", n.leader}, {"Reachability", "reachable"}, {"Addr", n.manager_addr}};
  }
  return j;
}

}  // namespace capsule
