#include "dockerapi/node_routes.h"

#include <nlohmann/json.hpp>

#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/json_array_body.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"

namespace capsule::dockerapi {
namespace {

using http::GoKind;
using http::Params;
using http::Request;
using http::Response;

const http::GoSchema& NodeSpecSchema() {
  static const auto* schema = new http::GoSchema{"NodeSpec",
                                                 "swarm.NodeSpec",
                                                 {{"Name", GoKind::kString, nullptr, ""},
                                                  {"Labels", GoKind::kStringMap, nullptr, ""},
                                                  {"Role", GoKind::kString, nullptr, ""},
                                                  {"Availability", GoKind::kString, nullptr, ""}}};
  return *schema;
}

controlapi::NodeFilters NodeFiltersOf(const http::Filters& f) {
  controlapi::NodeFilters out;
  out.id_prefixes = http::FilterValues(f, "id");
  out.name_prefixes = http::FilterValues(f, "name");
  out.roles = http::FilterValues(f, "role");
  out.memberships = http::FilterValues(f, "membership");
  out.labels = http::FilterValues(f, "label");
  out.node_labels = http::FilterValues(f, "node.label");
  return out;
}

// NodeJson with ManagerStatus.Reachability as this manager sees it (membership/presence.h);
// no ManagerStatus at all for a manager node that is not a member of the store cluster (as
// swarmkit, which fills it from the Raft member list only).
Json NodeWithReachability(const ManagerServices& mgr, const Node& n, int64_t version) {
  Json j = NodeJson(n, version);
  if (j.contains("ManagerStatus") && mgr.reachability) {
    const std::string reachability = mgr.reachability(n.id);
    if (reachability.empty()) {
      j.erase("ManagerStatus");
    } else {
      j["ManagerStatus"]["Reachability"] = reachability;
    }
  }
  return j;
}

Response ListNodes(Backend& backend, const Request& req) {
  http::Filters filters;
  if (auto it = req.query.find("filters"); it != req.query.end()) {
    StatusOr<http::Filters> parsed = http::ParseFilters(it->second);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    filters = *std::move(parsed);
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status valid =
      http::ValidateFilters(filters, {"id", "label", "membership", "name", "node.label", "role"});
  if (!valid.ok()) return ErrorResponse(valid);
  StatusOr<std::vector<store::NodeEntry>> nodes = (*mgr)->nodes->List(NodeFiltersOf(filters));
  if (!nodes.ok()) return ErrorResponse(nodes.status());
  auto snapshot = std::make_shared<const std::vector<store::NodeEntry>>(*std::move(nodes));
  std::shared_ptr<const ManagerServices> services = *mgr;
  return JsonArrayResponse(snapshot->size(), [snapshot, services](size_t i, std::string* out) {
    const store::NodeEntry& n = (*snapshot)[i];
    out->append(NodeWithReachability(*services, n->object, n->mod_revision).dump());
  });
}

Response InspectNode(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::NodeEntry> n = (*mgr)->nodes->Resolve(params.at("id"));
  if (!n.ok()) return ErrorResponse(n.status());
  return JsonResponse(200, NodeWithReachability(**mgr, (*n)->object, (*n)->mod_revision).dump());
}

Response UpdateNode(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<uint64_t> version = VersionQuery(req, "node");
  if (!version.ok()) return ErrorResponse(version.status());
  StatusOr<nlohmann::json> body = ReadJsonBody(req.body, NodeSpecSchema());
  if (!body.ok()) return ErrorResponse(body.status());
  StatusOr<store::NodeEntry> n = (*mgr)->nodes->Resolve(params.at("id"));
  if (!n.ok()) return ErrorResponse(n.status());
  controlapi::NodeSpecUpdate spec;
  spec.name = StringField(*body, "Name");
  spec.labels = StringMapField(*body, "Labels");
  spec.role = StringField(*body, "Role");
  spec.availability = StringField(*body, "Availability");
  Status s = (*mgr)->nodes->Update((*n)->object.id, static_cast<int64_t>(*version), spec);
  if (!s.ok()) {
    // Spec conversion errors come from the engine (no prefix); the rest, the demotion guards
    // included, from swarm (swarmkit's UpdateNode: "rpc error: code = NotFound desc = can't
    // find manager in raft memberlist").
    return ErrorResponse(absl::IsInvalidArgument(s) ? s : RpcError(s));
  }
  return Response{200, {}, ""};
}

Response RemoveNode(Backend& backend, const Request& req, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  auto f = req.query.find("force");
  bool force = f != req.query.end() &&
               (f->second == "1" || f->second == "true" || f->second == "True" || f->second == "t");
  StatusOr<store::NodeEntry> n = (*mgr)->nodes->Resolve(params.at("id"));
  if (!n.ok()) return ErrorResponse(n.status());
  if ((*n)->object.id == (*mgr)->node_id) {
    return ErrorResponse(RpcError(absl::FailedPreconditionError(
        "node " + (*n)->object.id +
        " is a cluster manager and is a member of the raft cluster. It must be demoted to "
        "worker before removal")));
  }
  Status s = (*mgr)->nodes->Remove((*n)->object.id, force);
  if (!s.ok()) return ErrorResponse(absl::IsNotFound(s) ? s : RpcError(s));
  return Response{200, {}, ""};
}

}  // namespace

void RegisterNodeRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "GET", "/nodes",
           [&backend](const Request& r, const Params&) { return ListNodes(backend, r); });
  AddRoute(router, "GET", "/nodes/{id}",
           [&backend](const Request&, const Params& p) { return InspectNode(backend, p); });
  AddRoute(router, "POST", "/nodes/{id}/update",
           [&backend](const Request& r, const Params& p) { return UpdateNode(backend, r, p); });
  AddRoute(router, "DELETE", "/nodes/{id}",
           [&backend](const Request& r, const Params& p) { return RemoveNode(backend, r, p); });
}

}  // namespace capsule::dockerapi
