#include "cli/swarm_ops.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/daemon_error.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string InitBody(const SwarmInitOptions& o) {
  Json body = {
      {"ListenAddr", o.listen_addr},
      {"AdvertiseAddr", o.advertise_addr},
      {"DataPathAddr", o.data_path_addr},
      {"DataPathPort", 0},
      {"ForceNewCluster", o.force_new_cluster},
      {"Spec",
       {{"Labels", nullptr},
        {"Orchestration", Json::object()},
        {"Raft", {{"ElectionTick", 0}, {"HeartbeatTick", 0}}},
        {"Dispatcher", Json::object()},
        {"CAConfig", Json::object()},
        {"TaskDefaults", Json::object()},
        {"EncryptionConfig", {{"AutoLockManagers", o.autolock}}}}},
      {"AutoLockManagers", o.autolock},
      {"Availability", ""},
      {"DefaultAddrPool", nullptr},
      {"SubnetSize", 24},
  };
  return body.dump() + "\n";
}

StatusOr<Json> GetJson(HttpClient& client, const std::string& path) {
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, {"GET", path, {}, "", ""}));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InternalError(absl::StrCat("invalid JSON from GET ", path));
  }
  return j;
}

std::string StringField(const Json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].is_object()) return "";
  const Json& inner = j[a];
  if (!inner.contains(b) || !inner[b].is_string()) return "";
  return inner[b].get<std::string>();
}

// docker 20.10's banner around an unlock key (as `swarm init --autolock` prints it).
void PrintUnlockKey(CommandContext& ctx, const std::string& key) {
  ctx.out() << "To unlock a swarm manager after it restarts, run the `" << kProgramName
            << " swarm unlock`\ncommand and provide the following key:\n\n    " << key
            << "\n\nPlease remember to store this key in a password manager, since without "
               "it you\nwill not be able to restart the manager.\n";
}

// GET /swarm/unlockkey → the key ("" when autolock is off).
StatusOr<std::string> FetchUnlockKey(HttpClient& client) {
  ASSIGN_OR_RETURN(Json key, GetJson(client, "/swarm/unlockkey"));
  if (key.is_object() && key.contains("UnlockKey") && key["UnlockKey"].is_string()) {
    return key["UnlockKey"].get<std::string>();
  }
  return std::string();
}

bool AutolockOf(const Json& swarm) {
  if (!swarm.is_object() || !swarm.contains("Spec")) return false;
  const Json& spec = swarm["Spec"];
  if (!spec.is_object() || !spec.contains("EncryptionConfig")) return false;
  const Json& enc = spec["EncryptionConfig"];
  return enc.is_object() && enc.contains("AutoLockManagers") &&
         enc["AutoLockManagers"].is_boolean() && enc["AutoLockManagers"].get<bool>();
}

// POST /swarm/update?version=N&… with `spec`, as the docker CLI sends it.
Status PostSwarmUpdate(HttpClient& client, const Json& swarm, const Json& spec,
                       bool rotate_unlock_key) {
  const Json& index = swarm["Version"]["Index"];
  HttpRequest update{"POST", "/swarm/update", {}, spec.dump(), ""};
  update.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
  update.query["rotateWorkerToken"] = "false";
  update.query["rotateManagerToken"] = "false";
  update.query["rotateManagerUnlockKey"] = rotate_unlock_key ? "true" : "false";
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, update));
  (void)response;
  return absl::OkStatus();
}

}  // namespace

Status SwarmInit(CommandContext& ctx, const SwarmInitOptions& options) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response,
                   Call(*client, {"POST", "/swarm/init", {}, InitBody(options), ""}));
  Json id = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!id.is_string()) {
    return absl::InternalError(absl::StrCat("unexpected answer to swarm init: ", response.body));
  }
  const std::string node_id = id.get<std::string>();
  ctx.out() << "Swarm initialized: current node (" << node_id << ") is now a manager.\n";

  StatusOr<Json> node = GetJson(*client, "/nodes/" + node_id);
  if (!node.ok() && absl::IsNotFound(node.status())) return absl::OkStatus();
  if (!node.ok()) return node.status();
  StatusOr<Json> swarm = GetJson(*client, "/swarm");
  if (!swarm.ok() && absl::IsNotFound(swarm.status())) return absl::OkStatus();
  if (!swarm.ok()) return swarm.status();

  ctx.out() << "\n";
  const std::string addr = StringField(*node, "ManagerStatus", "Addr");
  if (node->contains("ManagerStatus") && (*node)["ManagerStatus"].is_object()) {
    ctx.out() << "To add a worker to this swarm, run the following command:\n\n    " << kProgramName
              << " swarm join --token " << StringField(*swarm, "JoinTokens", "Worker") << " "
              << addr << "\n\n";
  }
  ctx.out() << "To add a manager to this swarm, run '" << kProgramName
            << " swarm join-token manager' and follow the instructions.\n\n";

  if (options.autolock) {
    StatusOr<Json> key = GetJson(*client, "/swarm/unlockkey");
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("could not fetch unlock key: ", key.status().message()));
    }
    const Json& k = key->is_object() && key->contains("UnlockKey") ? key->at("UnlockKey") : Json();
    if (k.is_string() && !k.get<std::string>().empty()) PrintUnlockKey(ctx, k.get<std::string>());
  }
  return absl::OkStatus();
}

Status SwarmJoin(CommandContext& ctx, const SwarmJoinOptions& o) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  Json body = {{"ListenAddr", o.listen_addr},
               {"AdvertiseAddr", o.advertise_addr},
               {"DataPathAddr", o.data_path_addr},
               {"RemoteAddrs", Json::array({o.remote_addr})},
               {"JoinToken", o.token},
               {"Availability", o.availability}};
  ASSIGN_OR_RETURN(HttpResponse response,
                   Call(*client, {"POST", "/swarm/join", {}, body.dump() + "\n", ""}));
  (void)response;
  ASSIGN_OR_RETURN(Json info, GetJson(*client, "/info"));
  const Json& swarm = info.contains("Swarm") ? info["Swarm"] : Json();
  bool manager = swarm.is_object() && swarm.contains("ControlAvailable") &&
                 swarm["ControlAvailable"].is_boolean() && swarm["ControlAvailable"].get<bool>();
  ctx.out() << "This node joined a swarm as a " << (manager ? "manager" : "worker") << ".\n";
  return absl::OkStatus();
}

Status SwarmJoinToken(CommandContext& ctx, const SwarmJoinTokenOptions& o) {
  if (o.role != "worker" && o.role != "manager") {
    return absl::InvalidArgumentError(absl::StrCat("unknown role ", o.role));
  }
  const char* token_field = o.role == "worker" ? "Worker" : "Manager";
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  if (o.rotate) {
    ASSIGN_OR_RETURN(Json swarm, GetJson(*client, "/swarm"));
    const Json& index = swarm["Version"]["Index"];
    HttpRequest update{"POST", "/swarm/update", {}, swarm["Spec"].dump(), ""};
    update.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
    update.query["rotateWorkerToken"] = o.role == "worker" ? "true" : "false";
    update.query["rotateManagerToken"] = o.role == "manager" ? "true" : "false";
    update.query["rotateManagerUnlockKey"] = "false";
    ASSIGN_OR_RETURN(HttpResponse response, Call(*client, update));
    (void)response;
    if (!o.quiet) ctx.out() << "Successfully rotated " << o.role << " join token.\n\n";
  }
  ASSIGN_OR_RETURN(Json swarm, GetJson(*client, "/swarm"));
  const std::string token = StringField(swarm, "JoinTokens", token_field);
  if (o.quiet) {
    ctx.out() << token << "\n";
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Json info, GetJson(*client, "/info"));
  ASSIGN_OR_RETURN(Json node, GetJson(*client, "/nodes/" + StringField(info, "Swarm", "NodeID")));
  ctx.out() << "To add a " << o.role << " to this swarm, run the following command:\n\n    "
            << kProgramName << " swarm join --token " << token << " "
            << StringField(node, "ManagerStatus", "Addr") << "\n\n";
  return absl::OkStatus();
}

Status SwarmLeave(CommandContext& ctx, bool force) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  HttpRequest request{"POST", "/swarm/leave", {}, "", ""};
  if (force) request.query.emplace("force", "1");
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  (void)response;
  ctx.out() << "Node left the swarm.\n";
  return absl::OkStatus();
}

Status SwarmUpdate(CommandContext& ctx, std::optional<bool> autolock) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(Json swarm, GetJson(*client, "/swarm"));
  const bool before = AutolockOf(swarm);
  Json spec = swarm.contains("Spec") && swarm["Spec"].is_object() ? swarm["Spec"] : Json::object();
  if (autolock) spec["EncryptionConfig"]["AutoLockManagers"] = *autolock;
  RETURN_IF_ERROR(PostSwarmUpdate(*client, swarm, spec, /*rotate_unlock_key=*/false));
  ctx.out() << "Swarm updated.\n";
  if (autolock && *autolock && !before) {
    StatusOr<std::string> key = FetchUnlockKey(*client);
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("could not fetch unlock key: ", key.status().message()));
    }
    PrintUnlockKey(ctx, *key);
  }
  return absl::OkStatus();
}

Status SwarmUnlockKey(CommandContext& ctx, bool quiet, bool rotate) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  if (rotate) {
    ASSIGN_OR_RETURN(Json swarm, GetJson(*client, "/swarm"));
    if (!AutolockOf(swarm)) {
      return absl::FailedPreconditionError("cannot rotate because autolock is not turned on");
    }
    RETURN_IF_ERROR(PostSwarmUpdate(*client, swarm, swarm["Spec"], /*rotate_unlock_key=*/true));
    if (!quiet) ctx.out() << "Successfully rotated manager unlock key.\n\n";
  }
  ASSIGN_OR_RETURN(std::string key, FetchUnlockKey(*client));
  if (key.empty()) return absl::FailedPreconditionError("no unlock key is set");
  if (quiet) {
    ctx.out() << key << "\n";
    return absl::OkStatus();
  }
  PrintUnlockKey(ctx, key);
  return absl::OkStatus();
}

Status SwarmUnlock(CommandContext& ctx) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(Json info, GetJson(*client, "/info"));
  const std::string state = StringField(info, "Swarm", "LocalNodeState");
  if (state == "inactive" || state.empty()) {
    return absl::FailedPreconditionError("This node is not part of a swarm");
  }
  if (state != "locked") return absl::FailedPreconditionError("swarm is not locked");
  std::string line;
  // On a terminal, docker's prompt without echo; otherwise one line of stdin.
  const bool tty = &ctx.in() == &std::cin && ::isatty(STDIN_FILENO) == 1;
  struct termios saved {};
  if (tty && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    struct termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    (void)::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);  // before the prompt: typing may start
    ctx.out() << "Enter unlock key: " << std::flush;
    std::getline(ctx.in(), line);
    (void)::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    ctx.out() << "\n";
  } else {
    std::getline(ctx.in(), line);
  }
  const size_t b = line.find_first_not_of(" \t\r\n");
  const size_t e = line.find_last_not_of(" \t\r\n");
  const std::string key = b == std::string::npos ? "" : line.substr(b, e - b + 1);
  Json body = {{"UnlockKey", key}};
  ASSIGN_OR_RETURN(HttpResponse response,
                   Call(*client, {"POST", "/swarm/unlock", {}, body.dump() + "\n", ""}));
  (void)response;
  return absl::OkStatus();
}

}  // namespace capsule::cli
