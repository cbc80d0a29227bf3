#include "cli/system_ops.h"

#include <nlohmann/json.hpp>

#include "cli/daemon_error.h"
#include "cli/data_key_ops.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

StatusOr<Json> GetObject(CommandContext& ctx, const std::string& path) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, {"GET", path, {}, "", ""}));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InternalError("unexpected answer from GET " + path);
  return j;
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_null()) return "";
  return it->dump();
}

}  // namespace

Status Version(CommandContext& ctx) {
  ctx.out() << "Client:\n"
            << " Version:           " << kClientVersion << "\n"
            << " API version:       " << kApiVersion << "\n"
            << " OS/Arch:           linux/amd64\n";
  ASSIGN_OR_RETURN(Json v, GetObject(ctx, "/version"));
  ctx.out() << "\nServer:\n"
            << " Engine:\n"
            << "  Version:          " << Str(v, "Version") << "\n"
            << "  API version:      " << Str(v, "ApiVersion") << " (minimum version "
            << Str(v, "MinAPIVersion") << ")\n"
            << "  OS/Arch:          " << Str(v, "Os") << "/" << Str(v, "Arch") << "\n";
  if (std::string commit = Str(v, "GitCommit"); !commit.empty()) {
    ctx.out() << "  Git commit:       " << commit << "\n";
  }
  return absl::OkStatus();
}

Status Info(CommandContext& ctx) {
  ASSIGN_OR_RETURN(Json info, GetObject(ctx, "/info"));
  const Json swarm = info.value("Swarm", Json::object());
  const std::string state = swarm.is_object() ? Str(swarm, "LocalNodeState") : "";
  ctx.out() << "Server:\n";
  if (std::string version = Str(info, "ServerVersion"); !version.empty()) {
    ctx.out() << " Server Version: " << version << "\n";
  }
  ctx.out() << " Swarm: " << (state.empty() ? "inactive" : state) << "\n";
  if (state == "active" || state == "locked" || state == "pending" || state == "error") {
    const bool manager = swarm.value("ControlAvailable", false);
    ctx.out() << "  NodeID: " << Str(swarm, "NodeID") << "\n"
              << "  Is Manager: " << (manager ? "true" : "false") << "\n";
    if (manager) {
      const Json cluster = swarm.value("Cluster", Json::object());
      if (cluster.is_object()) ctx.out() << "  ClusterID: " << Str(cluster, "ID") << "\n";
      ctx.out() << "  Managers: " << swarm.value("Managers", 0) << "\n"
                << "  Nodes: " << swarm.value("Nodes", 0) << "\n";
      if (state == "active") ctx.out() << DataKeyInfoLines(ctx);
    }
    if (std::string addr = Str(swarm, "NodeAddr"); !addr.empty()) {
      ctx.out() << "  Node Address: " << addr << "\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace capsule::cli
