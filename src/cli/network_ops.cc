#include "cli/network_ops.h"

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

using Json = nlohmann::json;

std::string CreateBody(const NetworkCreateOptions& o) {
  Json ipam = nullptr;
  if (!o.subnets.empty() || !o.ipam_driver.empty()) {
    Json configs = Json::array();
    for (size_t i = 0; i < o.subnets.size(); ++i) {
      Json c = {{"Subnet", o.subnets[i]}};
      if (i < o.ip_ranges.size()) c["IPRange"] = o.ip_ranges[i];
      if (i < o.gateways.size()) c["Gateway"] = o.gateways[i];
      configs.push_back(std::move(c));
    }
    ipam = {{"Driver", o.ipam_driver.empty() ? "default" : o.ipam_driver},
            {"Config", std::move(configs)}};
  }
  Json body = {{"Name", o.name},
               {"CheckDuplicate", true},
               {"Driver", o.driver},
               {"Scope", o.scope},
               {"EnableIPv6", o.ipv6},
               {"IPAM", std::move(ipam)},
               {"Internal", o.internal},
               {"Attachable", o.attachable},
               {"Options", ParseLabels(o.options)},
               {"Labels", ParseLabels(o.labels)}};
  return body.dump();
}

}  // namespace

Status NetworkCreate(CommandContext& ctx, const NetworkCreateOptions& options) {
  if (options.gateways.size() > options.subnets.size() ||
      options.ip_ranges.size() > options.subnets.size()) {
    return absl::InvalidArgumentError("every ip-range or gateway must have a corresponding subnet");
  }
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(
      HttpResponse response,
      Call(*client, {"POST", "/networks/create", {}, CreateBody(options), "application/json"}));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("Id") || !j["Id"].is_string()) {
    return absl::InternalError(
        absl::StrCat("unexpected answer to network create: ", response.body));
  }
  ctx.out() << j["Id"].get<std::string>() << "\n";
  return absl::OkStatus();
}

Status NetworkList(CommandContext& ctx, const NetworkListOptions& options) {
  FilterArgs filters;
  for (const std::string& f : options.filters) {
    Status s = AddFilterFlag(f, &filters);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid argument \"", f, "\" for \"-f, --filter\" flag: ", s.message(),
                       "\nSee '", kProgramName, " network ls --help'."));
    }
  }
  HttpRequest request{"GET", "/networks", {}, "", ""};
  if (std::string json = FiltersToJson(filters); !json.empty()) request.query["filters"] = json;
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  Json list = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) {
    return absl::InternalError("unexpected answer to network list: not a JSON array");
  }
  std::vector<Json> networks(list.begin(), list.end());
  std::stable_sort(networks.begin(), networks.end(), [](const Json& a, const Json& b) {
    return NaturalLess(StringAt(a, {"Name"}), StringAt(b, {"Name"}));
  });
  std::vector<ListRow> rows;
  for (const Json& n : networks) {
    std::string id = StringAt(n, {"Id"});
    if (!options.no_trunc && id.size() > 12) id.resize(12);
    rows.push_back({{"ID", id},
                    {"Name", StringAt(n, {"Name"})},
                    {"Driver", StringAt(n, {"Driver"})},
                    {"Scope", StringAt(n, {"Scope"})}});
  }
  static const ListFormatSpec kSpec{
      "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
      {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}}};
  std::string format = options.format;
  if (format.empty() && options.quiet) format = "{{.ID}}";
  ASSIGN_OR_RETURN(std::string text, RenderList(format, kSpec, rows));
  ctx.out() << text;
  return absl::OkStatus();
}

namespace {

// One request on the network `name`: its answer's body, or the CLI's error for it (an empty
// name or a 404 → "No such network"; another failure → the daemon's error). A transport
// failure is returned by the outer status.
StatusOr<StatusOr<std::string>> OnNetwork(HttpClient& client, const std::string& method,
                                          const std::string& name) {
  if (name.empty()) return StatusOr<std::string>(NoSuchObject("network", name));
  ASSIGN_OR_RETURN(HttpResponse response,
                   client.Do({method, "/networks/" + PathEscape(name), {}, "", ""}));
  if (response.status == 404) return StatusOr<std::string>(NoSuchObject("network", name));
  if (response.status < 200 || response.status > 299) {
    return StatusOr<std::string>(DaemonError(response));
  }
  return StatusOr<std::string>(std::move(response.body));
}

}  // namespace

Status NetworkInspect(CommandContext& ctx, const std::vector<std::string>& names) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  std::vector<std::string> raws;
  ErrorList errors;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(StatusOr<std::string> body, OnNetwork(*client, "GET", name));
    if (body.ok()) {
      raws.push_back(*std::move(body));
    } else {
      errors.Add(body.status());
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

Status NetworkRemove(CommandContext& ctx, const std::vector<std::string>& names) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(StatusOr<std::string> body, OnNetwork(*client, "DELETE", name));
    if (body.ok()) {
      ctx.out() << name << "\n";
    } else {
      errors.Add(body.status());
    }
  }
  return errors.ToStatus();
}

}  // namespace capsule::cli
