// /swarm (init, leave, inspect) and /nodes (list, inspect).
#include <nlohmann/json.hpp>

#include "manager/dockerapi/error_table.h"
#include "manager/dockerapi/request_json.h"
#include "manager/dockerapi/route_helpers.h"
#include "manager/dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;
using http::Params;
using http::Request;
using http::Response;

const http::GoSchema& InitRequestSchema() {
  static const auto* schema = [] {
    using S = http::GoSchema;
    auto orchestration = std::make_shared<S>(
        S{"OrchestrationConfig", "swarm.OrchestrationConfig",
          {{"TaskHistoryRetentionLimit", GoKind::kInt64, nullptr, "*int64"}}});
    auto dispatcher = std::make_shared<S>(
        S{"DispatcherConfig", "swarm.DispatcherConfig",
          {{"HeartbeatPeriod", GoKind::kInt64, nullptr, "time.Duration"}}});
    auto ca = std::make_shared<S>(
        S{"CAConfig", "swarm.CAConfig",
          {{"NodeCertExpiry", GoKind::kInt64, nullptr, "time.Duration"}}});
    auto encryption = std::make_shared<S>(S{"EncryptionConfig", "swarm.EncryptionConfig",
                                            {{"AutoLockManagers", GoKind::kBool, nullptr, ""}}});
    auto spec = std::make_shared<S>(
        S{"Spec", "swarm.Spec",
          {{"Name", GoKind::kString, nullptr, ""},
           {"Labels", GoKind::kStringMap, nullptr, ""},
           {"Orchestration", GoKind::kStruct, orchestration, "swarm.OrchestrationConfig"},
           {"Dispatcher", GoKind::kStruct, dispatcher, "swarm.DispatcherConfig"},
           {"CAConfig", GoKind::kStruct, ca, "swarm.CAConfig"},
           {"EncryptionConfig", GoKind::kStruct, encryption, "swarm.EncryptionConfig"},
           {"Raft", GoKind::kAny, nullptr, ""},
           {"TaskDefaults", GoKind::kAny, nullptr, ""}}});
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
    // Zero-valued fields keep the defaults, as swarm does.
    if (std::string name = StringField(*spec, "Name"); !name.empty()) init.spec.name = name;
    init.spec.labels = StringMapField(*spec, "Labels");
    if (int64_t v = NestedInt(*spec, "Orchestration", "TaskHistoryRetentionLimit"); v != 0) {
      init.spec.task_history_retention_limit = v;
    }
    if (int64_t v = NestedInt(*spec, "Dispatcher", "HeartbeatPeriod"); v != 0) {
      init.spec.heartbeat_period_ns = v;
    }
    if (int64_t v = NestedInt(*spec, "CAConfig", "NodeCertExpiry"); v != 0) {
      init.spec.node_cert_expiry_ns = v;
    }
    want_autolock = want_autolock || NestedBool(*spec, "EncryptionConfig", "AutoLockManagers");
  }
  if (want_autolock) {
    return ErrorResponse(absl::InvalidArgumentError(
        "autolock is not supported by this Capsule version: the KEK is kept in a 0600 file"));
  }
  StatusOr<std::string> node_id = backend.InitSwarm(init);
  if (!node_id.ok()) return ErrorResponse(node_id.status());
  return JsonResponse(200, nlohmann::json(*node_id).dump());
}

Response Leave(Backend& backend, const Request& req) {
  auto f = req.query.find("force");
  bool force = f != req.query.end() && (f->second == "1" || f->second == "true" ||
                                        f->second == "True" || f->second == "t");
  Status s = backend.LeaveSwarm(force);
  if (!s.ok()) return ErrorResponse(s);
  return Response{200, {}, ""};
}

Response Inspect(Backend& backend) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status fresh = (*mgr)->reads->WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);
  store::ClusterEntry c = (*mgr)->reads->GetCluster();
  if (!c) return ErrorResponse(absl::UnavailableError("the cluster object is not available yet"));
  return JsonResponse(200, ClusterJson(c->object, c->mod_revision, /*with_tokens=*/true).dump());
}

StatusOr<store::NodeEntry> ResolveNode(const store::ReadModel& reads, const std::string& ref) {
  RETURN_IF_ERROR(reads.WaitFresh());
  if (store::NodeEntry n = reads.NodeById(ref)) return n;
  std::vector<store::NodeEntry> matches;
  for (const store::NodeEntry& n : reads.Nodes()) {
    if (n->object.hostname == ref) return n;
    if (!ref.empty() && n->object.id.compare(0, ref.size(), ref) == 0) matches.push_back(n);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return absl::InvalidArgumentError("node " + ref + " is ambiguous (" +
                                      std::to_string(matches.size()) + " matches found)");
  }
  return absl::NotFoundError("node " + ref + " not found");
}

Response ListNodes(Backend& backend) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status fresh = (*mgr)->reads->WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);
  Json out = Json::array();
  for (const store::NodeEntry& n : (*mgr)->reads->Nodes()) {
    out.push_back(NodeJson(n->object, n->mod_revision));
  }
  return JsonResponse(200, out.dump());
}

Response InspectNode(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::NodeEntry> n = ResolveNode(*(*mgr)->reads, params.at("id"));
  if (!n.ok()) return ErrorResponse(n.status());
  return JsonResponse(200, NodeJson((*n)->object, (*n)->mod_revision).dump());
}

}  // namespace

void RegisterSwarmRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/swarm/init",
           [&backend](const Request& r, const Params&) { return Init(backend, r); });
  AddRoute(router, "POST", "/swarm/leave",
           [&backend](const Request& r, const Params&) { return Leave(backend, r); });
  AddRoute(router, "GET", "/swarm",
           [&backend](const Request&, const Params&) { return Inspect(backend); });
  AddRoute(router, "GET", "/nodes",
           [&backend](const Request&, const Params&) { return ListNodes(backend); });
  AddRoute(router, "GET", "/nodes/{id}",
           [&backend](const Request&, const Params& p) { return InspectNode(backend, p); });
}

}  // namespace capsule::dockerapi
