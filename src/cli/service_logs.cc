// `service logs` (declared in service_ops.h).
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/daemon_error.h"
#include "cli/json_fields.h"
#include "cli/log_stream.h"
#include "cli/service_ops.h"
#include "cli/service_progress.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// url.QueryUnescape.
StatusOr<std::string> Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() + 0 || HexValue(s[i + 1]) < 0 || HexValue(s[i + 2]) < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape \"", s.substr(i, 3), "\""));
      }
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// logs.ParseLogDetails: "k=v,k2=v2" (each part query-escaped).
StatusOr<std::map<std::string, std::string>> ParseDetails(const std::string& details) {
  std::map<std::string, std::string> out;
  if (details.empty()) return out;
  for (absl::string_view piece : absl::StrSplit(details, ',')) {
    const std::string pair(piece);
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError("invalid details format");
    ASSIGN_OR_RETURN(std::string k, Unescape(pair.substr(0, eq)));
    ASSIGN_OR_RETURN(std::string v, Unescape(pair.substr(eq + 1)));
    out[k] = v;
  }
  return out;
}

std::string GoMap(const std::map<std::string, std::string>& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) parts.push_back(absl::StrCat(k, ":", v));
  return absl::StrCat("map[", absl::StrJoin(parts, " "), "]");
}

size_t Digits(uint64_t n) { return std::to_string(n).size(); }

// Turns one log line with its details into docker's "name.slot.task@node    | line".
class LineFormatter {
 public:
  LineFormatter(HttpClient& client, const ServiceLogsOptions& options, size_t padding)
      : client_(client), options_(options), padding_(padding) {}

  StatusOr<std::string> Format(const std::string& frame) {
    const size_t num_parts = options_.timestamps ? 3 : 2;
    std::vector<std::string> parts =
        absl::StrSplit(frame, absl::MaxSplits(' ', static_cast<int>(num_parts) - 1));
    if (parts.size() != num_parts) {
      return absl::InvalidArgumentError(absl::StrCat("invalid context in log message: ", frame));
    }
    const size_t details_index = options_.timestamps ? 1 : 0;
    ASSIGN_OR_RETURN(auto details, ParseDetails(parts[details_index]));
    std::string ids[3];
    const char* keys[3] = {"com.docker.swarm.node.id", "com.docker.swarm.service.id",
                           "com.docker.swarm.task.id"};
    const char* what[3] = {"node", "service", "task"};
    for (int i = 0; i < 3; ++i) {
      auto it = details.find(keys[i]);
      if (it == details.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing ", what[i], " id in details: ", GoMap(details)));
      }
      ids[i] = it->second;
      details.erase(it);
    }
    std::string out;
    if (options_.timestamps) absl::StrAppend(&out, parts[0], " ");
    ASSIGN_OR_RETURN(std::string context, Context(ids[0], ids[1], ids[2]));
    absl::StrAppend(&out, context, "    | ");
    if (options_.details) {
      std::vector<std::string> d;
      for (const auto& [k, v] : details) d.push_back(absl::StrCat(k, "=", v));
      absl::StrAppend(&out, absl::StrJoin(d, ","), " ");
    }
    absl::StrAppend(&out, parts[details_index + 1]);
    return out;
  }

 private:
  StatusOr<Json> Get(const std::string& path, const QueryParams& query) {
    ASSIGN_OR_RETURN(HttpResponse response, Call(client_, {"GET", path, query, "", ""}));
    return Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  }

  // idresolver: a name when the object can be read, else the ID.
  std::string NodeName(const std::string& id) {
    if (options_.no_resolve || id.empty()) return id;
    StatusOr<Json> node = Get("/nodes/" + PathEscape(id), {});
    if (!node.ok()) return id;
    std::string name = StringAt(*node, {"Spec", "Name"});
    if (name.empty()) name = StringAt(*node, {"Description", "Hostname"});
    return name.empty() ? id : name;
  }

  std::string ServiceName(const std::string& id) {
    if (options_.no_resolve) return id;
    StatusOr<Json> service = Get("/services/" + PathEscape(id), {{"insertDefaults", "false"}});
    if (!service.ok()) return id;
    return StringAt(*service, {"Spec", "Name"});
  }

  StatusOr<std::string> Context(const std::string& node_id, const std::string& service_id,
                                const std::string& task_id) {
    const auto key = std::make_tuple(node_id, service_id, task_id);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    if (!node_names_.count(node_id)) node_names_[node_id] = NodeName(node_id);
    if (!service_names_.count(service_id)) service_names_[service_id] = ServiceName(service_id);
    ASSIGN_OR_RETURN(Json task, Get("/tasks/" + PathEscape(task_id), {}));
    const uint64_t slot = task.contains("Slot") && task["Slot"].is_number_unsigned()
                              ? task["Slot"].get<uint64_t>()
                              : 0;
    std::string name = absl::StrCat(service_names_[service_id], ".", slot);
    if (!options_.no_task_ids) {
      const std::string id = StringAt(task, {"ID"});
      absl::StrAppend(&name, ".", options_.no_trunc ? id : TruncateId(id));
    }
    const size_t digits = Digits(slot);
    const std::string pad = padding_ > digits ? std::string(padding_ - digits, ' ') : "";
    std::string formatted = absl::StrCat(name, "@", node_names_[node_id], pad);
    cache_[key] = formatted;
    return formatted;
  }

  HttpClient& client_;
  const ServiceLogsOptions& options_;
  size_t padding_;
  std::map<std::string, std::string> node_names_, service_names_;
  std::map<std::tuple<std::string, std::string, std::string>, std::string> cache_;
};

}  // namespace

Status ServiceLogs(CommandContext& ctx, const ServiceLogsOptions& options) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  QueryParams query{{"stdout", "1"}, {"stderr", "1"}, {"tail", options.tail}};
  if (!options.raw || options.details) query["details"] = "1";
  if (options.follow) query["follow"] = "1";
  if (options.timestamps) query["timestamps"] = "1";
  if (!options.since.empty()) query["since"] = options.since;

  // A service first; a task when there is no such service (as docker).
  std::string path;
  bool tty = false;
  size_t padding = 1;
  ASSIGN_OR_RETURN(HttpResponse svc, client->Do({"GET",
                                                 "/services/" + PathEscape(options.target),
                                                 {{"insertDefaults", "false"}},
                                                 "",
                                                 ""}));
  if (svc.status >= 200 && svc.status <= 299) {
    Json s = Json::parse(svc.body, nullptr, /*allow_exceptions=*/false);
    tty = s.is_object() && s.value("Spec", Json::object())
                               .value("TaskTemplate", Json::object())
                               .value("ContainerSpec", Json::object())
                               .value("TTY", false);
    const Json replicated = s.is_object() ? s.value("Spec", Json::object())
                                                .value("Mode", Json::object())
                                                .value("Replicated", Json::object())
                                          : Json::object();
    if (replicated.contains("Replicas") && replicated["Replicas"].is_number_unsigned()) {
      padding = Digits(replicated["Replicas"].get<uint64_t>());
    }
    path = "/services/" + PathEscape(options.target) + "/logs";
  } else if (svc.status == 404) {
    ASSIGN_OR_RETURN(HttpResponse task,
                     client->Do({"GET", "/tasks/" + PathEscape(options.target), {}, "", ""}));
    if (task.status == 404) {
      return absl::NotFoundError(absl::StrCat("no such task or service: ", options.target));
    }
    if (task.status < 200 || task.status > 299) return DaemonError(task);
    Json t = Json::parse(task.body, nullptr, /*allow_exceptions=*/false);
    const uint64_t slot = t.is_object() && t.contains("Slot") && t["Slot"].is_number_unsigned()
                              ? t["Slot"].get<uint64_t>()
                              : 0;
    padding = Digits(slot);
    tty =
        t.is_object() &&
        t.value("Spec", Json::object()).value("ContainerSpec", Json::object()).value("TTY", false);
    path = "/tasks/" + PathEscape(options.target) + "/logs";
  } else {
    return DaemonError(svc);
  }

  LineFormatter formatter(*client, options, padding);
  LogDemuxer demux([&](int stream, std::string_view payload) -> Status {
    std::ostream& os = stream == 2 ? ctx.err() : ctx.out();
    if (options.raw) {
      os << payload;
    } else {
      ASSIGN_OR_RETURN(std::string line, formatter.Format(std::string(payload)));
      os << line;
    }
    os.flush();
    return absl::OkStatus();
  });
  // Each request has its own connection, so the formatter's lookups can run while the
  // log stream is still open.
  ASSIGN_OR_RETURN(HttpResponse response,
                   client->Stream({"GET", path, query, "", ""}, [&](std::string_view data) {
                     if (tty) {
                       ctx.out() << data;
                       ctx.out().flush();
                       return absl::OkStatus();
                     }
                     return demux.Feed(data);
                   }));
  if (response.status < 200 || response.status > 299) return DaemonError(response);
  return absl::OkStatus();
}

}  // namespace capsule::cli
