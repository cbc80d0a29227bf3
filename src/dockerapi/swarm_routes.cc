// /swarm (init, join, leave, inspect, update); /nodes is in node_routes.cc.
#include <nlohmann/json.hpp>

#include "dockerapi/error_table.h"
#include "dockerapi/node_routes.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/ipam/pool.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;
using http::Params;
using http::Request;
using http::Response;

std::shared_ptr<const http::GoSchema> SpecSchema() {
  static const auto* schema = [] {
    using S = http::GoSchema;
    auto orchestration =
        std::make_shared<S>(S{"OrchestrationConfig",
                              "swarm.OrchestrationConfig",
                              {{"TaskHistoryRetentionLimit", GoKind::kInt64, nullptr, "*int64"}}});
    auto dispatcher =
        std::make_shared<S>(S{"DispatcherConfig",
                              "swarm.DispatcherConfig",
                              {{"HeartbeatPeriod", GoKind::kInt64, nullptr, "time.Duration"}}});
    auto ca = std::make_shared<S>(S{"CAConfig",
                                    "swarm.CAConfig",
                                    {{"NodeCertExpiry", GoKind::kInt64, nullptr, "time.Duration"},
                                     {"ExternalCAs", GoKind::kAny, nullptr, ""},
                                     {"SigningCACert", GoKind::kString, nullptr, ""},
                                     {"SigningCAKey", GoKind::kString, nullptr, ""},
                                     {"ForceRotate", GoKind::kUint64, nullptr, ""}}});
    auto encryption = std::make_shared<S>(S{"EncryptionConfig",
                                            "swarm.EncryptionConfig",
                                            {{"AutoLockManagers", GoKind::kBool, nullptr, ""}}});
    auto spec = std::make_shared<S>(
        S{"Spec",
          "swarm.Spec",
          {{"Name", GoKind::kString, nullptr, ""},
           {"Labels", GoKind::kStringMap, nullptr, ""},
           {"Orchestration", GoKind::kStruct, orchestration, "swarm.OrchestrationConfig"},
           {"Dispatcher", GoKind::kStruct, dispatcher, "swarm.DispatcherConfig"},
           {"CAConfig", GoKind::kStruct, ca, "swarm.CAConfig"},
           {"EncryptionConfig", GoKind::kStruct, encryption, "swarm.EncryptionConfig"},
           {"Raft", GoKind::kAny, nullptr, ""},
           {"TaskDefaults", GoKind::kAny, nullptr, ""}}});
    return new std::shared_ptr<const S>(spec);
  }();
  return *schema;
}

const http::GoSchema& InitRequestSchema() {
  static const auto* schema = [] {
    using S = http::GoSchema;
    auto spec = SpecSchema();
    return new S{"InitRequest",
                 "swarm.InitRequest",
                 {{"ListenAddr", GoKind::kString, nullptr, ""},
                  {"AdvertiseAddr", GoKind::kString, nullptr, ""},
                  {"DataPathAddr", GoKind::kString, nullptr, ""},
                  {"DataPathPort", GoKind::kUint32, nullptr, ""},
                  {"ForceNewCluster", GoKind::kBool, nullptr, ""},
                  {"Spec", GoKind::kStruct, spec, "swarm.Spec"},
                  {"AutoLockManagers", GoKind::kBool, nullptr, ""},
                  {"Availability", GoKind::kString, nullptr, ""},
                  {"DefaultAddrPool", GoKind::kStringSlice, nullptr, ""},
                  {"SubnetSize", GoKind::kUint32, nullptr, ""}}};
  }();
  return *schema;
}

const http::GoSchema& JoinRequestSchema() {
  static const auto* schema =
      new http::GoSchema{"JoinRequest",
                         "swarm.JoinRequest",
                         {{"ListenAddr", GoKind::kString, nullptr, ""},
                          {"AdvertiseAddr", GoKind::kString, nullptr, ""},
                          {"DataPathAddr", GoKind::kString, nullptr, ""},
                          {"RemoteAddrs", GoKind::kStringSlice, nullptr, ""},
                          {"JoinToken", GoKind::kString, nullptr, ""},
                          {"Availability", GoKind::kString, nullptr, ""}}};
  return *schema;
}

// The value of obj[a][b] as int64 if present and non-zero.
int64_t NestedInt(const nlohmann::json& obj, std::string_view a, std::string_view b) {
  const nlohmann::json* x = http::GoField(obj, a);
  if (x == nullptr || !x->is_object()) return 0;
  const nlohmann::json* y = http::GoField(*x, b);
  return (y != nullptr && y->is_number_integer()) ? y->get<int64_t>() : 0;
}

bool NestedBool(const nlohmann::json& obj, std::string_view a, std::string_view b) {
  const nlohmann::json* x = http::GoField(obj, a);
  if (x == nullptr || !x->is_object()) return false;
  const nlohmann::json* y = http::GoField(*x, b);
  return y != nullptr && y->is_boolean() && y->get<bool>();
}

// A swarm.Spec onto `out` (which holds the defaults): zero-valued fields keep them, as swarm
// does.
void ParseSpec(const nlohmann::json& spec, ClusterSpec* out) {
  if (std::string name = StringField(spec, "Name"); !name.empty()) out->name = name;
  out->labels = StringMapField(spec, "Labels");
  if (int64_t v = NestedInt(spec, "Orchestration", "TaskHistoryRetentionLimit"); v != 0) {
    out->task_history_retention_limit = v;
  }
  if (int64_t v = NestedInt(spec, "Dispatcher", "HeartbeatPeriod"); v != 0) {
    out->heartbeat_period_ns = v;
  }
  if (int64_t v = NestedInt(spec, "CAConfig", "NodeCertExpiry"); v != 0) {
    out->node_cert_expiry_ns = v;
  }
  out->autolock_managers = NestedBool(spec, "EncryptionConfig", "AutoLockManagers");
  if (const nlohmann::json* ca = http::GoField(spec, "CAConfig");
      ca != nullptr && ca->is_object()) {
    const nlohmann::json* force = http::GoField(*ca, "ForceRotate");
    if (force != nullptr && force->is_number_integer() && force->get<int64_t>() >= 0) {
      out->ca_force_rotate = force->get<uint64_t>();
    }
    out->signing_ca_cert = StringField(*ca, "SigningCACert");
  }
}

// CAConfig.SigningCAKey ("" when absent).
SecretBytes SigningCaKey(const nlohmann::json& spec) {
  const nlohmann::json* ca = http::GoField(spec, "CAConfig");
  if (ca == nullptr || !ca->is_object()) return {};
  return SecretBytes::CopyFrom(StringField(*ca, "SigningCAKey"));
}

const http::GoSchema& UnlockRequestSchema() {
  static const auto* schema = new http::GoSchema{
      "UnlockRequest", "swarm.UnlockRequest", {{"UnlockKey", GoKind::kString, nullptr, ""}}};
  return *schema;
}

// Go's strconv.ParseBool, as the engine parses rotateManagerUnlockKey.
std::optional<bool> ParseGoBool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

bool QueryBool(const Request& req, const char* name) {
  auto f = req.query.find(name);
  return f != req.query.end() &&
         (f->second == "1" || f->second == "true" || f->second == "True" || f->second == "t");
}

Response Join(Backend& backend, const Request& req) {
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, JoinRequestSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  JoinRequest join;
  join.listen_addr = StringField(*body, "ListenAddr");
  join.advertise_addr = StringField(*body, "AdvertiseAddr");
  join.join_token = StringField(*body, "JoinToken");
  join.availability = StringField(*body, "Availability");
  if (const nlohmann::json* r = http::GoField(*body, "RemoteAddrs");
      r != nullptr && r->is_array()) {
    for (const nlohmann::json& a : *r) {
      if (a.is_string()) join.remote_addrs.push_back(a.get<std::string>());
    }
  }
  Status s = backend.JoinSwarm(join);
  if (!s.ok()) return ErrorResponse(s);
  return Response{200, {}, ""};
}

Response Update(Backend& backend, const Request& req) {
  // The query first, as the engine's handler: a bad value is 400 even on a locked node.
  bool rotate_unlock_key = false;
  if (auto f = req.query.find("rotateManagerUnlockKey");
      f != req.query.end() && !f->second.empty()) {
    std::optional<bool> v = ParseGoBool(f->second);
    if (!v) {
      return ErrorResponse(
          absl::InvalidArgumentError("invalid value for rotateManagerUnlockKey: " + f->second));
    }
    rotate_unlock_key = *v;
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<uint64_t> version = VersionQuery(req, "swarm");
  if (!version.ok()) return ErrorResponse(version.status());
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, *SpecSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  controlapi::ClusterUpdate update;
  ParseSpec(*body, &update.spec);
  update.signing_ca_key = SigningCaKey(*body);
  update.rotate_worker_token = QueryBool(req, "rotateWorkerToken");
  update.rotate_manager_token = QueryBool(req, "rotateManagerToken");
  Status s = (*mgr)->cluster->Update(static_cast<int64_t>(*version), update);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  if ((*mgr)->autolock != nullptr) {
    s = (*mgr)->autolock->ApplyAutolock(update.spec.autolock_managers, rotate_unlock_key);
    if (!s.ok()) return ErrorResponse(s);
  }
  return Response{200, {}, ""};
}

// GET /swarm/unlockkey: {"UnlockKey":""} when autolock is off (as swarmkit).
Response GetUnlockKey(Backend& backend) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  SecretBytes key;
  if ((*mgr)->autolock != nullptr) {
    StatusOr<SecretBytes> k = (*mgr)->autolock->UnlockKey();
    if (!k.ok()) return ErrorResponse(k.status());
    key = *std::move(k);
  }
  return JsonResponse(200, nlohmann::json{{"UnlockKey", std::string(key.view())}}.dump());
}

Response Unlock(Backend& backend, const Request& req) {
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, UnlockRequestSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  const SecretBytes key = SecretBytes::CopyFrom(StringField(*body, "UnlockKey"));
  Status s = backend.UnlockSwarm(key);
  if (!s.ok()) return ErrorResponse(s);
  return Response{200, {}, ""};
}

// DefaultAddrPool / SubnetSize (`swarm init --default-addr-pool`,
// `--default-addr-pool-mask-length`); absent or zero → Docker's 10.0.0.0/8 and 24.
Status ReadAddressPools(const nlohmann::json& body, ClusterSpec* spec) {
  const nlohmann::json* pools = http::GoField(body, "DefaultAddrPool");
  if (pools != nullptr && pools->is_array() && !pools->empty()) {
    spec->default_addr_pool.clear();
    for (const nlohmann::json& p : *pools) {
      if (p.is_string()) spec->default_addr_pool.push_back(p.get<std::string>());
    }
  }
  const nlohmann::json* size = http::GoField(body, "SubnetSize");
  if (size != nullptr && size->is_number_unsigned() && size->get<uint64_t>() != 0) {
    spec->subnet_size = static_cast<uint32_t>(size->get<uint64_t>());
  }
  return ipam::ValidateDefaultPools(spec->default_addr_pool, spec->subnet_size);
}

Response Init(Backend& backend, const Request& req) {
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, InitRequestSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  InitRequest init;
  init.listen_addr = StringField(*body, "ListenAddr");
  init.advertise_addr = StringField(*body, "AdvertiseAddr");
  const nlohmann::json* force = http::GoField(*body, "ForceNewCluster");
  init.force_new_cluster = force != nullptr && force->is_boolean() && force->get<bool>();
  const nlohmann::json* autolock = http::GoField(*body, "AutoLockManagers");
  bool want_autolock = autolock != nullptr && autolock->is_boolean() && autolock->get<bool>();
  const nlohmann::json* spec = http::GoField(*body, "Spec");
  if (spec != nullptr && spec->is_object()) {
    ParseSpec(*spec, &init.spec);
    want_autolock = want_autolock || init.spec.autolock_managers;
  }
  init.spec.autolock_managers = want_autolock;
  if (Status pools = ReadAddressPools(*body, &init.spec); !pools.ok()) {
    return ErrorResponse(pools);
  }
  StatusOr<std::string> node_id = backend.InitSwarm(init);
  if (!node_id.ok()) return ErrorResponse(node_id.status());
  return JsonResponse(200, nlohmann::json(*node_id).dump());
}

Response Leave(Backend& backend, const Request& req) {
  auto f = req.query.find("force");
  bool force = f != req.query.end() &&
               (f->second == "1" || f->second == "true" || f->second == "True" || f->second == "t");
  Status s = backend.LeaveSwarm(force);
  if (!s.ok()) return ErrorResponse(s);
  return Response{200, {}, ""};
}

Response Inspect(Backend& backend) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::ClusterEntry> c = (*mgr)->cluster->Get();
  if (!c.ok()) return ErrorResponse(c.status());
  return JsonResponse(200,
                      ClusterJson((*c)->object, (*c)->mod_revision, /*with_tokens=*/true).dump());
}

}  // namespace

void RegisterSwarmRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/swarm/init",
           [&backend](const Request& r, const Params&) { return Init(backend, r); });
  AddRoute(router, "POST", "/swarm/leave",
           [&backend](const Request& r, const Params&) { return Leave(backend, r); });
  AddRoute(router, "GET", "/swarm",
           [&backend](const Request&, const Params&) { return Inspect(backend); });
  AddRoute(router, "POST", "/swarm/join",
           [&backend](const Request& r, const Params&) { return Join(backend, r); });
  AddRoute(router, "POST", "/swarm/update",
           [&backend](const Request& r, const Params&) { return Update(backend, r); });
  AddRoute(router, "GET", "/swarm/unlockkey",
           [&backend](const Request&, const Params&) { return GetUnlockKey(backend); });
  AddRoute(router, "POST", "/swarm/unlock",
           [&backend](const Request& r, const Params&) { return Unlock(backend, r); });
  RegisterNodeRoutes(router, backend);
}

}  // namespace capsule::dockerapi
