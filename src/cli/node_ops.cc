#include "cli/node_ops.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "cli/error_list.h"
#include "cli/json_fields.h"
#include "cli/json_indent.h"
#include "cli/list_format.h"
#include "cli/natural_sort.h"
#include "cli/query.h"
#include "cli/secret_ops.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::ordered_json;

// "ready" → "Ready" (docker's node ls prints Go's strings.Title of the enum names).
std::string Title(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

StatusOr<Json> GetJson(HttpClient& client, const std::string& path) {
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, {"GET", path, {}, "", ""}));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InternalError(absl::StrCat("invalid JSON from GET ", path));
  return j;
}

std::string ManagerStatus(const Json& n) {
  if (!n.contains("ManagerStatus") || !n["ManagerStatus"].is_object()) return "";
  const Json& m = n["ManagerStatus"];
  if (m.contains("Leader") && m["Leader"].is_boolean() && m["Leader"].get<bool>()) {
    return "Leader";
  }
  return Title(StringAt(m, {"Reachability"}));
}

}  // namespace

Status NodeList(CommandContext& ctx, const NodeListOptions& options) {
  FilterArgs filters;
  for (const std::string& f : options.filters) {
    Status s = AddFilterFlag(f, &filters);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid argument \"", f,
                                                     "\" for \"-f, --filter\" flag: ", s.message(),
                                                     "\nSee '", kProgramName, " node ls --help'."));
    }
  }
  HttpRequest request{"GET", "/nodes", {}, "", ""};
  if (std::string json = FiltersToJson(filters); !json.empty()) request.query["filters"] = json;
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  Json list = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return absl::InternalError("unexpected answer to node list");
  ASSIGN_OR_RETURN(Json info, GetJson(*client, "/info"));
  const std::string self = StringAt(info, {"Swarm", "NodeID"});
  std::vector<Json> nodes(list.begin(), list.end());
  std::stable_sort(nodes.begin(), nodes.end(), [](const Json& a, const Json& b) {
    return NaturalLess(StringAt(a, {"Description", "Hostname"}),
                       StringAt(b, {"Description", "Hostname"}));
  });
  std::vector<ListRow> rows;
  for (const Json& n : nodes) {
    const std::string id = StringAt(n, {"ID"});
    rows.push_back({{"ID", id},
                    {"IDSelf", id + (id == self ? " *" : "")},
                    {"Self", id == self ? "true" : "false"},
                    {"Hostname", StringAt(n, {"Description", "Hostname"})},
                    {"Status", Title(StringAt(n, {"Status", "State"}))},
                    {"Availability", Title(StringAt(n, {"Spec", "Availability"}))},
                    {"ManagerStatus", ManagerStatus(n)},
                    {"EngineVersion", StringAt(n, {"Description", "Engine", "EngineVersion"})}});
  }
  static const ListFormatSpec kSpec{
      "table {{.IDSelf}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t"
      "{{.EngineVersion}}",
      {{"ID", "ID"},
       {"IDSelf", "ID"},
       {"Self", "SELF"},
       {"Hostname", "HOSTNAME"},
       {"Status", "STATUS"},
       {"Availability", "AVAILABILITY"},
       {"ManagerStatus", "MANAGER STATUS"},
       {"EngineVersion", "ENGINE VERSION"}}};
  std::string format = options.format;
  if (format.empty() && options.quiet) format = "{{.ID}}";
  ASSIGN_OR_RETURN(std::string text, RenderList(format, kSpec, rows));
  ctx.out() << text;
  return absl::OkStatus();
}

Status NodeInspect(CommandContext& ctx, const std::vector<std::string>& refs) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  std::vector<std::string> raws;
  ErrorList errors;
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(HttpResponse response,
                     client->Do({"GET", "/nodes/" + PathEscape(ref), {}, "", ""}));
    if (response.status == 404) {
      errors.Add(NoSuchObject("node", ref));
    } else if (response.status < 200 || response.status > 299) {
      errors.Add(DaemonError(response));
    } else {
      raws.push_back(std::move(response.body));
    }
  }
  if (raws.empty()) {
    ctx.out() << "[]\n";
  } else {
    ASSIGN_OR_RETURN(std::string text,
                     IndentJson(absl::StrCat("[", absl::StrJoin(raws, ","), "]")));
    ctx.out() << text << "\n";
  }
  return errors.ToStatus();
}

Status NodeUpdate(CommandContext& ctx, const NodeUpdateOptions& options) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(Json node, GetJson(*client, "/nodes/" + PathEscape(options.node)));
  Json spec = node.contains("Spec") && node["Spec"].is_object() ? node["Spec"] : Json::object();
  if (!options.availability.empty()) spec["Availability"] = options.availability;
  if (!options.role.empty()) spec["Role"] = options.role;
  if (!options.label_add.empty() || !options.label_rm.empty()) {
    Json labels =
        spec.contains("Labels") && spec["Labels"].is_object() ? spec["Labels"] : Json::object();
    for (const auto& [k, v] : ParseLabels(options.label_add)) labels[k] = v;
    for (const std::string& k : options.label_rm) labels.erase(k);
    spec["Labels"] = labels;
  }
  HttpRequest request{"POST", "/nodes/" + StringAt(node, {"ID"}) + "/update", {}, spec.dump(), ""};
  const Json& index = node["Version"]["Index"];
  request.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  (void)response;
  ctx.out() << options.node << "\n";
  return absl::OkStatus();
}

Status NodeSetRole(CommandContext& ctx, const std::vector<std::string>& refs,
                   const std::string& role) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  const bool promote = role == "manager";
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(Json node, GetJson(*client, "/nodes/" + PathEscape(ref)));
    Json spec = node.contains("Spec") && node["Spec"].is_object() ? node["Spec"] : Json::object();
    const std::string id = StringAt(node, {"ID"});
    if (StringAt(spec, {"Role"}) == role) {
      ctx.out() << "Node " << id << " is already a " << role << ".\n";
      continue;
    }
    spec["Role"] = role;
    HttpRequest request{"POST", "/nodes/" + id + "/update", {}, spec.dump(), ""};
    const Json& index = node["Version"]["Index"];
    request.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
    ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
    (void)response;
    if (promote) {
      ctx.out() << "Node " << ref << " promoted to a manager in the swarm.\n";
    } else {
      ctx.out() << "Manager " << ref << " demoted in the swarm.\n";
    }
  }
  return absl::OkStatus();
}

Status NodeRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  for (const std::string& ref : refs) {
    HttpRequest request{"DELETE", "/nodes/" + PathEscape(ref), {}, "", ""};
    if (force) request.query["force"] = "1";
    StatusOr<HttpResponse> response = Call(*client, request);
    if (response.ok()) {
      ctx.out() << ref << "\n";
    } else {
      errors.Add(response.status());
    }
  }
  return errors.ToStatus();
}

}  // namespace capsule::cli
