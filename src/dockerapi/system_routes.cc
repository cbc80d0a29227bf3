// /_ping, /version, /info; Capsule's GET /capsule/agent.
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "dockerapi/error_table.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;
using OJson = nlohmann::ordered_json;

// moby daemon/cluster/swarm.go Info(), with exactly two managers; the router adds Swarm.Warnings
// to the top-level Warnings, which the CLI prints.
constexpr char kTwoManagersWarning[] =
    "WARNING: Running Swarm in a two-manager configuration. This configuration provides\n"
    "         no fault tolerance, and poses a high risk to lose control over the cluster.\n"
    "         Refer to https://docs.docker.com/engine/swarm/admin_guide/ to configure the\n"
    "         Swarm for fault-tolerance.";

std::string KernelVersion() {
  struct utsname u;
  return uname(&u) == 0 ? std::string(u.release) : std::string();
}

// "active/manager", "active/worker", "inactive", ... as the Swarm header of /_ping.
std::string PingSwarmHeader(const LocalSwarmInfo& info) {
  if (info.state != "active") return info.state;
  return info.control_available ? "active/manager" : "active/worker";
}

Response Ping(Backend& backend, const Request& req) {
  Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "text/plain; charset=utf-8"},
               {"Cache-Control", "no-cache, no-store, must-revalidate"},
               {"Pragma", "no-cache"},
               {"Swarm", PingSwarmHeader(backend.SwarmInfo())}};
  if (req.method != "HEAD") r.body = "OK";
  return r;
}

OJson VersionJson() {
  const std::string kernel = KernelVersion();
  OJson engine = {{"Name", "Engine"},
                  {"Version", kEngineVersion},
                  {"Details",
                   {{"ApiVersion", kApiVersion},
                    {"Arch", "amd64"},
                    {"Experimental", "false"},
                    {"GitCommit", "capsule"},
                    {"KernelVersion", kernel},
                    {"MinAPIVersion", kMinApiVersion},
                    {"Os", "linux"}}}};
  return {{"Platform", {{"Name", "Capsule"}}},
          {"Components", OJson::array({engine})},
          {"Version", kEngineVersion},
          {"ApiVersion", kApiVersion},
          {"MinAPIVersion", kMinApiVersion},
          {"GitCommit", "capsule"},
          {"GoVersion", "n/a"},
          {"Os", "linux"},
          {"Arch", "amd64"},
          {"KernelVersion", kernel},
          {"BuildTime", ""}};
}

OJson SwarmInfoJson(Backend& backend) {
  LocalSwarmInfo info = backend.SwarmInfo();
  OJson swarm = {{"NodeID", info.node_id},       {"NodeAddr", info.node_addr},
                 {"LocalNodeState", info.state}, {"ControlAvailable", info.control_available},
                 {"Error", info.error},          {"RemoteManagers", nullptr}};
  if (info.state != "active") return swarm;
  if (info.remote_managers.empty()) {
    swarm["RemoteManagers"] =
        OJson::array({{{"NodeID", info.manager_node_id}, {"Addr", info.manager_addr}}});
  } else {
    // A worker: every manager it knows (moby: the node's remotes).
    OJson known = OJson::array();
    for (const auto& [id, addr] : info.remote_managers) {
      known.push_back({{"NodeID", id}, {"Addr", addr}});
    }
    swarm["RemoteManagers"] = std::move(known);
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return swarm;
  const controlapi::SwarmSummary summary = (*mgr)->cluster->Summary();
  // On a manager: every manager that is a member of the store cluster — the nodes with a
  // ManagerStatus, which moby counts; its remotes on a manager are the Raft members.
  const ManagerServices& services = **mgr;
  int managers = 0;
  OJson remotes = OJson::array();
  for (const auto& [id, addr] : summary.manager_addrs) {
    if (services.reachability && services.reachability(id).empty()) continue;
    ++managers;
    remotes.push_back({{"NodeID", id}, {"Addr", addr}});
  }
  swarm["Nodes"] = summary.nodes;
  swarm["Managers"] = managers;
  swarm["RemoteManagers"] = std::move(remotes);
  if (managers == 2) swarm["Warnings"] = OJson::array({kTwoManagersWarning});
  if (const store::ClusterEntry& c = summary.cluster) {
    swarm["Cluster"] = ClusterJson(c->object, c->mod_revision, /*with_tokens=*/false);
  }
  return swarm;
}

Response Info(Backend& backend) {
  struct sysinfo si = {};
  sysinfo(&si);
  OJson j = {{"ID", ""},
             {"Containers", 0},
             {"ContainersRunning", 0},
             {"ContainersPaused", 0},
             {"ContainersStopped", 0},
             {"Images", 0},
             {"Driver", "capsule"},
             {"DriverStatus", OJson::array()},
             {"Plugins",
              {{"Volume", OJson::array()},
               {"Network", OJson::array()},
               {"Authorization", nullptr},
               {"Log", OJson::array()}}},
             {"MemoryLimit", true},
             {"SwapLimit", true},
             {"KernelMemory", true},
             {"KernelMemoryTCP", true},
             {"CpuCfsPeriod", true},
             {"CpuCfsQuota", true},
             {"CPUShares", true},
             {"CPUSet", true},
             {"PidsLimit", true},
             {"IPv4Forwarding", true},
             {"BridgeNfIptables", true},
             {"BridgeNfIp6tables", true},
             {"Debug", false},
             {"NFd", 0},
             {"OomKillDisable", true},
             {"NGoroutines", 0},
             {"SystemTime", FormatRfc3339Nano(RealClock().Now())},
             {"LoggingDriver", "json-file"},
             {"CgroupDriver", "cgroupfs"},
             {"CgroupVersion", "1"},
             {"NEventsListener", 0},
             {"KernelVersion", KernelVersion()},
             {"OperatingSystem", "Capsule"},
             {"OSVersion", ""},
             {"OSType", "linux"},
             {"Architecture", "x86_64"},
             {"IndexServerAddress", ""},
             {"RegistryConfig", nullptr},
             {"NCPU", sysconf(_SC_NPROCESSORS_ONLN)},
             {"MemTotal", static_cast<uint64_t>(si.totalram) * si.mem_unit},
             {"GenericResources", nullptr},
             {"DockerRootDir", ""},
             {"HttpProxy", ""},
             {"HttpsProxy", ""},
             {"NoProxy", ""},
             {"Name", backend.Hostname()},
             {"Labels", OJson::array()},
             {"ExperimentalBuild", false},
             {"ServerVersion", kEngineVersion},
             {"Runtimes", {{"runc", {{"path", "runc"}}}}},
             {"DefaultRuntime", "runc"},
             {"Swarm", SwarmInfoJson(backend)},
             {"LiveRestoreEnabled", false},
             {"Isolation", ""},
             {"InitBinary", ""},
             {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
             {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
             {"InitCommit", {{"ID", ""}, {"Expected", ""}}},
             // Docker's strings for what every task's OCI spec gets (agent/executor/oci_spec.cc
             // AddConfinement): Docker's default seccomp profile and a private cgroup namespace.
             // No AppArmor, SELinux, user namespace or rootless mode, so none of those.
             {"SecurityOptions", OJson::array({"name=seccomp,profile=default", "name=cgroupns"})},
             {"Warnings", nullptr}};
  if (j["Swarm"].contains("Warnings")) j["Warnings"] = j["Swarm"]["Warnings"];
  return JsonResponse(200, j.dump());
}

// Capsule's own introspection: what this node's agent holds, IDs only (never data).
Response AgentState(Backend& backend) {
  std::optional<AgentInfo> a = backend.Agent();
  if (!a) return ErrorResponse(absl::UnavailableError("this node runs no agent (not in a swarm)"));
  OJson j = {{"NodeID", a->node_id},
             {"Connected", a->connected},
             {"Manager", a->manager_addr},
             {"Secrets", a->secret_ids},
             {"Tasks", a->task_ids}};
  return JsonResponse(200, j.dump());
}

}  // namespace

void RegisterSystemRoutes(http::Router& router, Backend& backend) {
  for (const char* method : {"GET", "HEAD"}) {
    AddRoute(router, method, "/_ping",
             [&backend](const Request& r, const Params&) { return Ping(backend, r); });
  }
  AddRoute(router, "GET", "/version",
           [](const Request&, const Params&) { return JsonResponse(200, VersionJson().dump()); });
  AddRoute(router, "GET", "/info",
           [&backend](const Request&, const Params&) { return Info(backend); });
  AddRoute(router, "GET", "/capsule/agent",
           [&backend](const Request&, const Params&) { return AgentState(backend); });
}

std::vector<std::pair<std::string, std::string>> CommonHeaders() {
  return {{"Api-Version", kApiVersion},
          {"Docker-Experimental", "false"},
          {"Ostype", "linux"},
          {"Server", std::string("Capsule/") + kEngineVersion + " (linux)"}};
}

void RegisterAllRoutes(http::Router& router, Backend& backend) {
  RegisterSystemRoutes(router, backend);
  RegisterSwarmRoutes(router, backend);
  RegisterSecretRoutes(router, backend);
  RegisterConfigRoutes(router, backend);
  RegisterServiceRoutes(router, backend);
  RegisterTaskRoutes(router, backend);
  RegisterImageRoutes(router, backend);
  RegisterLogRoutes(router, backend);
  RegisterNetworkRoutes(router, backend);
  RegisterCapsuleSecretRoutes(router, backend);
  RegisterAuditRoutes(router, backend);
  RegisterDataKeyRoutes(router, backend);
  router.SetNotFound([](const Request&, const Params&) {
    return ErrorResponse(absl::NotFoundError("page not found"));
  });
}

}  // namespace capsule::dockerapi
