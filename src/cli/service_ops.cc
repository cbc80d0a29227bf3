#include "cli/service_ops.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "cli/error_list.h"
#include "cli/go_format.h"
#include "cli/json_fields.h"
#include "cli/json_indent.h"
#include "cli/service_pretty.h"
#include "cli/service_progress.h"
#include "cli/service_spec.h"

namespace capsule::cli {
namespace {

// GET /services/{ref}?insertDefaults=false; 404 → "Error: No such service: X".
StatusOr<OrderedJson> GetService(HttpClient& client, const std::string& ref) {
  ASSIGN_OR_RETURN(
      HttpResponse response,
      client.Do({"GET", "/services/" + PathEscape(ref), {{"insertDefaults", "false"}}, "", ""}));
  if (response.status == 404) return NoSuchObject("service", ref);
  if (response.status < 200 || response.status > 299) return DaemonError(response);
  OrderedJson j = OrderedJson::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InternalError("invalid JSON from service inspect");
  return j;
}

// `docker_json` (a service as GET /services/{id} gave it) with Capsule's live-refresh policies
// added as "CapsuleSecretRefresh" {secret name: policy} when the service has any (from GET
// /capsule/services/{id}; Docker's route never shows them). Unchanged when it has none or the
// daemon does not answer that route.
std::string WithRefreshPolicies(HttpClient& client, std::string docker_json) {
  OrderedJson j = OrderedJson::parse(docker_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string()) return docker_json;
  StatusOr<HttpResponse> r =
      client.Do({"GET", "/capsule/services/" + PathEscape(j["ID"].get<std::string>()), {}, "", ""});
  if (!r.ok() || r->status != 200) return docker_json;
  OrderedJson c = OrderedJson::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!c.is_object() || !c.contains(kRefreshField) || !c[kRefreshField].is_object() ||
      c[kRefreshField].empty()) {
    return docker_json;
  }
  j[kRefreshField] = c[kRefreshField];
  return j.dump();
}

// Prints the daemon's warnings ({"Warnings":[…]}) to stderr, as docker.
void PrintWarnings(CommandContext& ctx, const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("Warnings") || !j["Warnings"].is_array()) return;
  for (const auto& w : j["Warnings"]) {
    if (w.is_string()) ctx.err() << w.get<std::string>() << "\n";
  }
}

// Capsule's secretRefresh query ({"name": "policy"}), or "" when there is none.
std::string RefreshQuery(const std::map<std::string, std::string>& refresh) {
  if (refresh.empty()) return "";
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, policy] : refresh) j[name] = policy;
  return j.dump();
}

// POST /services/{id}/update?version=N with `spec` (with live-refresh policies: the same on
// /capsule/services/{id}/update).
Status PostUpdate(CommandContext& ctx, HttpClient& client, const OrderedJson& service,
                  const OrderedJson& spec, bool registry_auth_from_spec,
                  const std::map<std::string, std::string>& refresh = {}) {
  const std::string prefix = refresh.empty() ? "/services/" : "/capsule/services/";
  HttpRequest request{"POST", prefix + StringAt(service, {"ID"}) + "/update", {}, spec.dump(), ""};
  if (!refresh.empty()) request.query["secretRefresh"] = RefreshQuery(refresh);
  OrderedJson index = 0;
  if (service.contains("Version") && service["Version"].is_object()) {
    index = service["Version"].value("Index", OrderedJson(0));
  }
  request.query["version"] = index.is_number() ? std::to_string(index.get<uint64_t>()) : "0";
  if (registry_auth_from_spec) request.query["registryAuthFrom"] = "spec";
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, request));
  PrintWarnings(ctx, response.body);
  return absl::OkStatus();
}

}  // namespace

Status ServiceCreate(CommandContext& ctx, const ServiceFlags& flags) {
  ASSIGN_OR_RETURN(std::vector<std::string> env, NormalizeEnv(flags.env, ctx.env()));
  // Mode errors come before any request, as in docker.
  ASSIGN_OR_RETURN(OrderedJson spec, BuildCreateSpec(flags, OrderedJson::array(), env));
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  if (!flags.secrets.empty()) {
    ASSIGN_OR_RETURN(OrderedJson refs, ResolveSecrets(*client, flags.secrets));
    ASSIGN_OR_RETURN(spec, BuildCreateSpec(flags, refs, env));
  }
  HttpRequest create{"POST", "/services/create", {}, spec.dump(), ""};
  if (!flags.secret_refresh.empty()) {
    create.path = "/capsule/services/create";
    create.query["secretRefresh"] = RefreshQuery(flags.secret_refresh);
  }
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, create));
  nlohmann::json j = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string()) {
    return absl::InternalError(
        absl::StrCat("unexpected answer to service create: ", response.body));
  }
  PrintWarnings(ctx, response.body);
  const std::string id = j["ID"].get<std::string>();
  ctx.out() << id << "\n";
  ctx.out().flush();
  if (flags.detach) return absl::OkStatus();
  return WaitOnService(ctx, *client, id, flags.quiet);
}

Status ServiceUpdate(CommandContext& ctx, const std::string& ref, const ServiceFlags& flags) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(OrderedJson service, GetService(*client, ref));
  OrderedJson spec = service.contains("Spec") && service["Spec"].is_object()
                         ? service["Spec"]
                         : OrderedJson::object();
  ASSIGN_OR_RETURN(std::vector<std::string> env_add, NormalizeEnv(flags.env, ctx.env()));
  ASSIGN_OR_RETURN(OrderedJson added, ResolveSecrets(*client, flags.secrets));
  RETURN_IF_ERROR(ApplyUpdate(flags, added, env_add, &spec));
  RETURN_IF_ERROR(PostUpdate(ctx, *client, service, spec, /*registry_auth_from_spec=*/true,
                             flags.secret_refresh));
  ctx.out() << ref << "\n";
  ctx.out().flush();
  if (flags.detach) return absl::OkStatus();
  return WaitOnService(ctx, *client, ref, flags.quiet);
}

Status ServiceScale(CommandContext& ctx, const std::vector<std::string>& specs, bool detach) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  std::vector<std::string> scaled;
  for (const std::string& arg : specs) {
    const size_t eq = arg.find('=');
    const std::string ref = arg.substr(0, eq);
    const std::string value = arg.substr(eq + 1);
    StatusOr<uint64_t> replicas = ParseGoUint(value, 10);
    if (!replicas.ok()) {
      errors.Add(absl::InvalidArgumentError(absl::StrCat(ref, ": invalid replicas value ", value,
                                                         ": ", replicas.status().message())));
      continue;
    }
    Status s = [&]() -> Status {
      ASSIGN_OR_RETURN(OrderedJson service, GetService(*client, ref));
      OrderedJson spec = service.value("Spec", OrderedJson::object());
      if (!spec.contains("Mode") || !spec["Mode"].contains("Replicated")) {
        return absl::InvalidArgumentError(
            "scale can only be used with replicated or replicated-job mode");
      }
      spec["Mode"]["Replicated"]["Replicas"] = *replicas;
      RETURN_IF_ERROR(PostUpdate(ctx, *client, service, spec, /*registry_auth_from_spec=*/false));
      ctx.out() << ref << " scaled to " << *replicas << "\n";
      return absl::OkStatus();
    }();
    if (s.ok()) {
      scaled.push_back(ref);
    } else {
      errors.Add(absl::Status(s.code(), absl::StrCat(ref, ": ", s.message())));
    }
  }
  if (!detach) {
    for (const std::string& ref : scaled) {
      Status s = WaitOnService(ctx, *client, ref, /*quiet=*/false);
      if (!s.ok()) errors.Add(absl::Status(s.code(), absl::StrCat(ref, ": ", s.message())));
    }
  }
  return errors.ToStatus();
}

Status ServiceRemove(CommandContext& ctx, const std::vector<std::string>& refs) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  for (const std::string& ref : refs) {
    ASSIGN_OR_RETURN(HttpResponse response,
                     client->Do({"DELETE", "/services/" + PathEscape(ref), {}, "", ""}));
    if (response.status == 404) {
      errors.Add(NoSuchObject("service", ref));
    } else if (response.status < 200 || response.status > 299) {
      errors.Add(DaemonError(response));
    } else {
      ctx.out() << ref << "\n";
    }
  }
  return errors.ToStatus();
}

Status ServiceInspect(CommandContext& ctx, const std::vector<std::string>& refs, bool pretty) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  std::vector<std::string> raws;
  ErrorList errors;
  for (const std::string& ref : refs) {
    Status error;
    if (ref.empty()) {
      error = absl::NotFoundError(absl::StrCat("Error: no such service: ", ref));
    } else {
      ASSIGN_OR_RETURN(
          HttpResponse response,
          client->Do(
              {"GET", "/services/" + PathEscape(ref), {{"insertDefaults", "true"}}, "", ""}));
      if (response.status == 404) {
        error = absl::NotFoundError(absl::StrCat("Error: no such service: ", ref));
      } else if (response.status < 200 || response.status > 299) {
        error = DaemonError(response);
      } else {
        raws.push_back(WithRefreshPolicies(*client, std::move(response.body)));
      }
    }
    if (!error.ok()) {
      // --pretty stops at the first failure (docker renders until an error).
      if (pretty) {
        for (const std::string& raw : raws) ctx.out() << PrettyService(raw, ctx.clock());
        return error;
      }
      errors.Add(error);
    }
  }
  if (pretty) {
    for (const std::string& raw : raws) ctx.out() << PrettyService(raw, ctx.clock());
    return absl::OkStatus();
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

}  // namespace capsule::cli
