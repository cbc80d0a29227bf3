// `service ls` and `service ps` (declared in service_ops.h).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "cli/human_duration.h"
#include "cli/json_fields.h"
#include "cli/list_format.h"
#include "cli/natural_sort.h"
#include "cli/query.h"
#include "cli/service_ops.h"
#include "cli/service_progress.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

StatusOr<Json> GetArray(HttpClient& client, const HttpRequest& request) {
  ASSIGN_OR_RETURN(HttpResponse response, Call(client, request));
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) {
    return absl::InternalError(absl::StrCat("unexpected answer to GET ", request.path));
  }
  return j;
}

uint64_t UintAt(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object() || !cur->contains(key)) return 0;
    cur = &(*cur)[key];
  }
  return cur->is_number_unsigned() ? cur->get<uint64_t>() : 0;
}

bool Has(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object() || !cur->contains(key)) return false;
    cur = &(*cur)[key];
  }
  return !cur->is_null();
}

// The image as docker lists it: for a tagged reference, the digest is dropped and the
// default registry/library prefix hidden (reference.FamiliarString).
std::string FamiliarImage(const std::string& image) {
  std::string name = image;
  std::string digest;
  if (size_t at = name.find('@'); at != std::string::npos) {
    digest = name.substr(at);
    name = name.substr(0, at);
  }
  const size_t slash = name.rfind('/');
  const size_t colon = name.rfind(':');
  const bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!tagged) return image;
  for (const char* prefix :
       {"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"}) {
    if (absl::StartsWith(name, prefix)) {
      name = name.substr(std::string(prefix).size());
      break;
    }
  }
  return name;
}

std::string Capitalize(std::string s) {
  if (!s.empty()) s[0] = absl::ascii_toupper(static_cast<unsigned char>(s[0]));
  return s;
}

// formatter.Ellipsis: at most `width` characters, the last one "…" when cut.
std::string Ellipsis(const std::string& s, size_t width) {
  std::vector<size_t> starts;  // byte offset of each UTF-8 character
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  if (starts.size() <= width) return s;
  return s.substr(0, starts[width - 1]) + "\xE2\x80\xA6";
}

Status ParseFilters(const std::vector<std::string>& flags, const std::string& command,
                    FilterArgs* out) {
  for (const std::string& f : flags) {
    Status s = AddFilterFlag(f, out);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid argument \"", f, "\" for \"-f, --filter\" flag: ", s.message(),
                       "\nSee '", kProgramName, " ", command, " --help'."));
    }
  }
  return absl::OkStatus();
}

std::set<std::string> ActiveNodes(const Json& nodes) {
  std::set<std::string> out;
  for (const Json& n : nodes) {
    if (StringAt(n, {"Status", "State"}) != "down") out.insert(StringAt(n, {"ID"}));
  }
  return out;
}

// Docker's AppendServiceStatus for daemons that do not fill ServiceStatus.
Status AppendServiceStatus(HttpClient& client, std::vector<Json>& services) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> status;  // id → running, desired
  FilterArgs filters;
  for (Json& s : services) {
    if (Has(s, {"ServiceStatus"})) continue;
    const std::string id = StringAt(s, {"ID"});
    if (Has(s, {"Spec", "Mode", "Replicated"})) {
      s["ServiceStatus"] = {
          {"RunningTasks", 0},
          {"DesiredTasks", UintAt(s, {"Spec", "Mode", "Replicated", "Replicas"})}};
    } else if (Has(s, {"Spec", "Mode", "Global"})) {
      s["ServiceStatus"] = {{"RunningTasks", 0}, {"DesiredTasks", 0}};
    } else {
      continue;
    }
    status[id] = {0, 0};
    filters["service"].push_back(id);
  }
  if (status.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      Json tasks,
      GetArray(client, {"GET", "/tasks", {{"filters", FiltersToJson(filters)}}, "", ""}));
  if (tasks.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Json nodes, GetArray(client, {"GET", "/nodes", {}, "", ""}));
  const std::set<std::string> active = ActiveNodes(nodes);
  for (const Json& t : tasks) {
    auto it = status.find(StringAt(t, {"ServiceID"}));
    if (it == status.end()) continue;
    if (StringAt(t, {"DesiredState"}) != "shutdown") ++it->second.second;
    if (active.count(StringAt(t, {"NodeID"})) > 0 &&
        StringAt(t, {"Status", "State"}) == "running") {
      ++it->second.first;
    }
  }
  for (Json& s : services) {
    auto it = status.find(StringAt(s, {"ID"}));
    if (it == status.end()) continue;
    s["ServiceStatus"] = {{"RunningTasks", it->second.first}, {"DesiredTasks", it->second.second}};
  }
  return absl::OkStatus();
}

std::string Mode(const Json& s) {
  if (Has(s, {"Spec", "Mode", "Global"})) return "global";
  if (Has(s, {"Spec", "Mode", "Replicated"})) return "replicated";
  if (Has(s, {"Spec", "Mode", "ReplicatedJob"})) return "replicated job";
  if (Has(s, {"Spec", "Mode", "GlobalJob"})) return "global job";
  return "";
}

std::string Replicas(const Json& s) {
  const uint64_t running = UintAt(s, {"ServiceStatus", "RunningTasks"});
  const uint64_t desired = UintAt(s, {"ServiceStatus", "DesiredTasks"});
  const uint64_t max = UintAt(s, {"Spec", "TaskTemplate", "Placement", "MaxReplicas"});
  if (Mode(s) == "replicated" && max > 0) {
    return absl::StrCat(running, "/", desired, " (max ", max, " per node)");
  }
  return absl::StrCat(running, "/", desired);
}

}  // namespace

Status ServiceList(CommandContext& ctx, const ServiceListOptions& options) {
  FilterArgs filters;
  RETURN_IF_ERROR(ParseFilters(options.filters, "service ls", &filters));
  HttpRequest request{"GET", "/services", {}, "", ""};
  if (std::string json = FiltersToJson(filters); !json.empty()) request.query["filters"] = json;
  if (!options.quiet) request.query["status"] = "true";
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(Json list, GetArray(*client, request));
  std::vector<Json> services(list.begin(), list.end());
  if (!options.quiet) RETURN_IF_ERROR(AppendServiceStatus(*client, services));
  std::stable_sort(services.begin(), services.end(), [](const Json& a, const Json& b) {
    return NaturalLess(StringAt(a, {"Spec", "Name"}), StringAt(b, {"Spec", "Name"}));
  });
  std::vector<ListRow> rows;
  for (const Json& s : services) {
    rows.push_back(
        {{"ID", TruncateId(StringAt(s, {"ID"}))},
         {"Name", StringAt(s, {"Spec", "Name"})},
         {"Mode", Mode(s)},
         {"Replicas", Replicas(s)},
         {"Image", FamiliarImage(StringAt(s, {"Spec", "TaskTemplate", "ContainerSpec", "Image"}))},
         {"Ports", ""}});
  }
  static const ListFormatSpec kSpec{
      "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}",
      {{"ID", "ID"},
       {"Name", "NAME"},
       {"Mode", "MODE"},
       {"Replicas", "REPLICAS"},
       {"Image", "IMAGE"},
       {"Ports", "PORTS"}}};
  std::string format = options.format;
  if ((format.empty() || format == "table") && options.quiet) format = "{{.ID}}";
  ASSIGN_OR_RETURN(std::string text, RenderList(format, kSpec, rows));
  ctx.out() << text;
  return absl::OkStatus();
}

Status ServicePs(CommandContext& ctx, const ServicePsOptions& options) {
  FilterArgs filters;
  RETURN_IF_ERROR(ParseFilters(options.filters, "service ps", &filters));
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());

  FilterArgs by_id, by_name;
  for (const std::string& s : options.services) {
    by_id["id"].push_back(s);
    by_name["name"].push_back(s);
  }
  ASSIGN_OR_RETURN(
      Json id_list,
      GetArray(*client, {"GET", "/services", {{"filters", FiltersToJson(by_id)}}, "", ""}));
  ASSIGN_OR_RETURN(
      Json name_list,
      GetArray(*client, {"GET", "/services", {{"filters", FiltersToJson(by_name)}}, "", ""}));
  std::map<std::string, std::string> names;  // service ID → name
  for (const Json& s : id_list) names[StringAt(s, {"ID"})] = StringAt(s, {"Spec", "Name"});
  for (const Json& s : name_list) names[StringAt(s, {"ID"})] = StringAt(s, {"Spec", "Name"});

  std::vector<std::string> notfound;
  int found_count = 0;
  for (const std::string& ref : options.services) {
    std::string match;
    for (const Json& s : id_list) {
      if (StringAt(s, {"ID"}) == ref) match = ref;
    }
    if (match.empty()) {
      for (const Json& s : name_list) {
        if (StringAt(s, {"Spec", "Name"}) == ref) match = StringAt(s, {"ID"});
      }
    }
    if (match.empty()) {
      for (const Json& s : id_list) {
        const std::string id = StringAt(s, {"ID"});
        if (!absl::StartsWith(id, ref)) continue;
        if (!match.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("multiple services found with provided prefix: ", ref));
        }
        match = id;
      }
    }
    if (match.empty()) {
      notfound.push_back(absl::StrCat("no such service: ", ref));
      continue;
    }
    filters["service"].push_back(match);
    ++found_count;
  }
  if (found_count == 0) return absl::NotFoundError(absl::StrJoin(notfound, "\n"));

  if (auto it = filters.find("node"); it != filters.end()) {
    for (std::string& node : it->second) {
      if (node != "self") continue;
      ASSIGN_OR_RETURN(HttpResponse info, Call(*client, {"GET", "/info", {}, "", ""}));
      node = StringAt(Json::parse(info.body, nullptr, false), {"Swarm", "NodeID"});
    }
  }
  ASSIGN_OR_RETURN(
      Json task_list,
      GetArray(*client, {"GET", "/tasks", {{"filters", FiltersToJson(filters)}}, "", ""}));
  std::map<std::string, std::string> node_names;
  if (!options.no_resolve && !task_list.empty()) {
    ASSIGN_OR_RETURN(Json nodes, GetArray(*client, {"GET", "/nodes", {}, "", ""}));
    for (const Json& n : nodes) {
      std::string name = StringAt(n, {"Spec", "Name"});
      if (name.empty()) name = StringAt(n, {"Description", "Hostname"});
      if (!name.empty()) node_names[StringAt(n, {"ID"})] = name;
    }
  }

  struct Row {
    Json task;
    std::string name;
    TimePoint created;
  };
  std::vector<Row> tasks;
  for (const Json& t : task_list) {
    const std::string service_id = StringAt(t, {"ServiceID"});
    std::string service = service_id;
    if (!options.no_resolve) {
      auto it = names.find(service_id);
      if (it != names.end()) service = it->second;
    }
    const uint64_t slot = UintAt(t, {"Slot"});
    Row row{t,
            slot != 0 ? absl::StrCat(service, ".", slot)
                      : absl::StrCat(service, ".", StringAt(t, {"NodeID"})),
            TimePoint{}};
    ParseRfc3339Nano(StringAt(t, {"CreatedAt"}), &row.created);
    tasks.push_back(std::move(row));
  }
  // Same slot together, newest first, so older tasks print indented under the current one.
  std::stable_sort(tasks.begin(), tasks.end(), [](const Row& a, const Row& b) {
    if (a.name != b.name) return NaturalLess(a.name, b.name);
    return b.created < a.created;
  });

  const bool trunc = !options.no_trunc && !options.quiet;
  std::string format = options.format;
  if (format.empty() || format == "table") format = options.quiet ? "{{.ID}}" : "table";
  const bool table = absl::StartsWith(format, "table");
  std::vector<ListRow> rows;
  std::string prev;
  for (const Row& r : tasks) {
    const Json& t = r.task;
    const std::string id = StringAt(t, {"ID"});
    const std::string image = StringAt(t, {"Spec", "ContainerSpec", "Image"});
    const std::string node_id = StringAt(t, {"NodeID"});
    std::string node = node_id;
    if (auto it = node_names.find(node_id); it != node_names.end()) node = it->second;
    TimePoint since;
    std::string current = Capitalize(StringAt(t, {"Status", "State"}));
    if (ParseRfc3339Nano(StringAt(t, {"Status", "Timestamp"}), &since)) {
      absl::StrAppend(&current, " ",
                      absl::AsciiStrToLower(HumanDuration(ctx.clock().Now() - since)), " ago");
    }
    std::string err = StringAt(t, {"Status", "Err"});
    if (trunc) err = Ellipsis(err, 30);
    if (!err.empty()) err = absl::StrCat("\"", err, "\"");
    rows.push_back({{"ID", trunc ? TruncateId(id) : id},
                    {"Name", (table && r.name == prev ? " \\_ " : "") + r.name},
                    {"Image", trunc ? FamiliarImage(image) : image},
                    {"Node", node},
                    {"DesiredState", Capitalize(StringAt(t, {"DesiredState"}))},
                    {"CurrentState", current},
                    {"Error", err},
                    {"Ports", ""}});
    prev = r.name;
  }
  static const ListFormatSpec kSpec{
      "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t"
      "{{.Error}}\t{{.Ports}}",
      {{"ID", "ID"},
       {"Name", "NAME"},
       {"Image", "IMAGE"},
       {"Node", "NODE"},
       {"DesiredState", "DESIRED STATE"},
       {"CurrentState", "CURRENT STATE"},
       {"Error", "ERROR"},
       {"Ports", "PORTS"}}};
  ASSIGN_OR_RETURN(std::string text, RenderList(format, kSpec, rows));
  ctx.out() << text;
  if (!notfound.empty()) return absl::NotFoundError(absl::StrJoin(notfound, "\n"));
  return absl::OkStatus();
}

}  // namespace capsule::cli
