#include "cli/secret_ops.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/base64.h"
#include "cli/daemon_error.h"
#include "cli/data_object_ops.h"
#include "cli/error_list.h"
#include "cli/human_duration.h"
#include "cli/json_fields.h"
#include "cli/json_indent.h"
#include "cli/list_format.h"
#include "cli/natural_sort.h"
#include "common/errno_status.h"
#include "common/secret_bytes.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

constexpr size_t kChunk = 64 * 1024;

// Appends `n` bytes to `buf`, growing it geometrically; old buffers wipe themselves.
void Append(SecretBytes& buf, size_t& used, const char* data, size_t n) {
  if (used + n > buf.size()) {
    SecretBytes bigger(std::max(buf.size() * 2, used + n));
    std::copy(buf.data(), buf.data() + used, bigger.data());
    buf = std::move(bigger);
  }
  std::copy(data, data + n, buf.data() + used);
  used += n;
}

StatusOr<SecretBytes> ReadStream(std::istream& in) {
  SecretBytes buf(kChunk);
  size_t used = 0;
  SecretBytes chunk(kChunk);
  char* tmp = reinterpret_cast<char*>(chunk.data());
  while (in.good()) {
    in.read(tmp, static_cast<std::streamsize>(kChunk));
    Append(buf, used, tmp, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::DataLossError("Error reading content from STDIN");
  buf.Truncate(used);
  return buf;
}

StatusOr<SecretBytes> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  SecretBytes buf(kChunk);
  size_t used = 0;
  SecretBytes chunk(kChunk);
  char* tmp = reinterpret_cast<char*>(chunk.data());
  Status status;
  while (true) {
    const ssize_t n = read(fd, tmp, kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoStatus("read", path, errno);
      break;
    }
    if (n == 0) break;
    Append(buf, used, tmp, static_cast<size_t>(n));
  }
  close(fd);
  if (!status.ok()) return status;
  buf.Truncate(used);
  return buf;
}

// Builds the create body; Data goes in last by hand so no JSON library holds the secret.
std::string CreateBody(const SecretCreateOptions& options, const SecretBytes* data) {
  const std::string head = absl::StrCat("{\"Name\":", Json(options.name).dump(),
                                        ",\"Labels\":", Json(ParseLabels(options.labels)).dump());
  std::string tail;
  if (!options.driver.empty()) {
    absl::StrAppend(&tail, ",\"Driver\":", Json({{"Name", options.driver}}).dump());
  }
  if (!options.template_driver.empty()) {
    absl::StrAppend(&tail, ",\"Templating\":", Json({{"Name", options.template_driver}}).dump());
  }
  tail += "}\n";
  // Sized once, so no reallocation leaves a copy of the encoded secret in freed memory.
  std::string body;
  body.reserve(head.size() + (data ? (data->size() + 2) / 3 * 4 + 10 : 0) + tail.size());
  body += head;
  if (data != nullptr) {
    std::string b64 = Base64Encode(data->span());
    body += ",\"Data\":\"";
    body += b64;
    body += '"';
    WipeString(b64);
  }
  body += tail;
  return body;
}

std::string Ago(const Clock& clock, const std::string& rfc3339) {
  TimePoint t;
  if (!ParseRfc3339Nano(rfc3339, &t)) return rfc3339;
  return absl::StrCat(HumanDuration(clock.Now() - t), " ago");
}

std::string JoinLabels(const Json& secret) {
  std::vector<std::string> parts;
  const Json labels = secret.value("Spec", Json::object()).value("Labels", Json::object());
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      parts.push_back(absl::StrCat(k, "=", v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return absl::StrJoin(parts, ",");
}

// docker's --pretty block: a secret shows its Driver; a config its raw Data instead.
std::string PrettyObject(const ObjectKind& kind, const Json& s) {
  std::string out = absl::StrCat("ID:              ", StringAt(s, {"ID"}),
                                 "\nName:              ", StringAt(s, {"Spec", "Name"}), "\n");
  const Json labels = s.value("Spec", Json::object()).value("Labels", Json::object());
  if (labels.is_object() && !labels.empty()) {
    out += "Labels:\n";
    for (const auto& [k, v] : labels.items()) {  // nlohmann::json keeps keys sorted, as Go's range
      const std::string value = v.is_string() ? v.get<std::string>() : "";
      absl::StrAppend(&out, " - ", k, value.empty() ? "" : absl::StrCat("=", value), "\n");
    }
  }
  if (kind.has_driver) {
    absl::StrAppend(&out, "Driver:            ", StringAt(s, {"Spec", "Driver", "Name"}), "\n");
  }
  absl::StrAppend(&out, "Created at:        ", PrettyTime(StringAt(s, {"CreatedAt"})),
                  "\nUpdated at:        ", PrettyTime(StringAt(s, {"UpdatedAt"})), "\n");
  if (!kind.has_driver) {
    std::optional<SecretBytes> data = Base64Decode(StringAt(s, {"Spec", "Data"}));
    out += "Data:\n";
    if (data) out.append(data->view());
    out += "\n";
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseLabels(const std::vector<std::string>& labels) {
  std::map<std::string, std::string> out;
  for (const std::string& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos) {
      out[label] = "";
    } else {
      out[label.substr(0, eq)] = label.substr(eq + 1);
    }
  }
  return out;
}

std::string PrettyTime(const std::string& rfc3339) {
  if (rfc3339.size() < 20 || rfc3339[10] != 'T' || rfc3339.back() != 'Z') return rfc3339;
  return absl::StrCat(rfc3339.substr(0, 10), " ", rfc3339.substr(11, rfc3339.size() - 12),
                      " +0000 utc");
}

Status SecretCreate(CommandContext& ctx, const SecretCreateOptions& options) {
  return DataObjectCreate(ctx, kSecretKind, options);
}

Status SecretList(CommandContext& ctx, const SecretListOptions& options) {
  return DataObjectList(ctx, kSecretKind, options);
}

Status SecretInspect(CommandContext& ctx, const SecretInspectOptions& options) {
  return DataObjectInspect(ctx, kSecretKind, options);
}

Status SecretRemove(CommandContext& ctx, const std::vector<std::string>& names) {
  return DataObjectRemove(ctx, kSecretKind, names);
}

StatusOr<SecretBytes> ReadSecretInput(CommandContext& ctx, const std::string& file) {
  if (file == "-") return ReadStream(ctx.in());
  StatusOr<SecretBytes> read = ReadFile(file);
  if (!read.ok()) {
    return absl::Status(read.status().code(), absl::StrCat("Error reading content from \"", file,
                                                           "\": ", read.status().message()));
  }
  return read;
}

Status DataObjectCreate(CommandContext& ctx, const ObjectKind& kind,
                        const SecretCreateOptions& options) {
  if (!options.driver.empty() && !options.file.empty()) {
    return absl::InvalidArgumentError("When using secret driver secret data must be empty");
  }
  std::optional<SecretBytes> data;
  if (options.file == "-") {
    StatusOr<SecretBytes> read = ReadStream(ctx.in());
    if (!read.ok()) return read.status();
    data = std::move(read).value();
  } else if (!options.file.empty()) {
    StatusOr<SecretBytes> read = ReadFile(options.file);
    if (!read.ok()) {
      return absl::Status(read.status().code(),
                          absl::StrCat("Error reading content from \"", options.file,
                                       "\": ", read.status().message()));
    }
    data = std::move(read).value();
  }
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  HttpRequest request{"POST",
                      kind.path + "/create",
                      {},
                      CreateBody(options, data ? &*data : nullptr),
                      "application/json"};
  data.reset();
  StatusOr<HttpResponse> response = Call(*client, request);
  WipeString(request.body);
  if (!response.ok()) return response.status();
  Json j = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ID") || !j["ID"].is_string()) {
    return absl::InternalError(
        absl::StrCat("unexpected answer to ", kind.noun, " create: ", response->body));
  }
  ctx.out() << j["ID"].get<std::string>() << "\n";
  return absl::OkStatus();
}

Status DataObjectList(CommandContext& ctx, const ObjectKind& kind,
                      const SecretListOptions& options) {
  FilterArgs filters;
  for (const std::string& f : options.filters) {
    Status s = AddFilterFlag(f, &filters);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid argument \"", f, "\" for \"-f, --filter\" flag: ", s.message(),
                       "\nSee '", kProgramName, " ", kind.noun, " ls --help'."));
    }
  }
  HttpRequest request{"GET", kind.path, {}, "", ""};
  if (std::string json = FiltersToJson(filters); !json.empty()) request.query["filters"] = json;
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  Json list = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) {
    return absl::InternalError(
        absl::StrCat("unexpected answer to ", kind.noun, " list: not a JSON array"));
  }
  std::vector<Json> secrets(list.begin(), list.end());
  std::stable_sort(secrets.begin(), secrets.end(), [](const Json& a, const Json& b) {
    return NaturalLess(StringAt(a, {"Spec", "Name"}), StringAt(b, {"Spec", "Name"}));
  });
  std::vector<ListRow> rows;
  for (const Json& s : secrets) {
    rows.push_back({{"ID", StringAt(s, {"ID"})},
                    {"Name", StringAt(s, {"Spec", "Name"})},
                    {"Driver", StringAt(s, {"Spec", "Driver", "Name"})},
                    {"CreatedAt", Ago(ctx.clock(), StringAt(s, {"CreatedAt"}))},
                    {"UpdatedAt", Ago(ctx.clock(), StringAt(s, {"UpdatedAt"}))},
                    {"Labels", JoinLabels(s)}});
  }
  static const ListFormatSpec kSecretSpec{
      "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
      {{"ID", "ID"},
       {"Name", "NAME"},
       {"Driver", "DRIVER"},
       {"CreatedAt", "CREATED"},
       {"UpdatedAt", "UPDATED"},
       {"Labels", "LABELS"}}};
  // docker config ls: no DRIVER column (a config has none).
  static const ListFormatSpec kConfigSpec{
      "table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}",
      {{"ID", "ID"},
       {"Name", "NAME"},
       {"CreatedAt", "CREATED"},
       {"UpdatedAt", "UPDATED"},
       {"Labels", "LABELS"}}};
  const ListFormatSpec& spec = kind.has_driver ? kSecretSpec : kConfigSpec;
  std::string format = options.format;
  if (format.empty() && options.quiet) format = "{{.ID}}";
  ASSIGN_OR_RETURN(std::string text, RenderList(format, spec, rows));
  ctx.out() << text;
  return absl::OkStatus();
}

Status DataObjectInspect(CommandContext& ctx, const ObjectKind& kind,
                         const SecretInspectOptions& options) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  std::vector<std::string> raws;
  ErrorList errors;
  for (const std::string& name : options.names) {
    Status error;
    if (name.empty()) {
      error = NoSuchObject(kind.noun, name);
    } else {
      ASSIGN_OR_RETURN(HttpResponse response,
                       client->Do({"GET", kind.path + "/" + PathEscape(name), {}, "", ""}));
      if (response.status == 404) {
        error = NoSuchObject(kind.noun, name);
      } else if (response.status < 200 || response.status > 299) {
        error = DaemonError(response);
      } else {
        raws.push_back(std::move(response.body));
      }
    }
    if (!error.ok()) {
      errors.Add(error);
    }
  }
  if (options.pretty) {
    for (const std::string& raw : raws) {
      Json j = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
      ctx.out() << PrettyObject(kind, j);
    }
  } else if (raws.empty()) {
    ctx.out() << "[]\n";
  } else {
    ASSIGN_OR_RETURN(std::string text,
                     IndentJson(absl::StrCat("[", absl::StrJoin(raws, ","), "]")));
    ctx.out() << text << "\n";
  }
  return errors.ToStatus();
}

Status DataObjectRemove(CommandContext& ctx, const ObjectKind& kind,
                        const std::vector<std::string>& names) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  for (const std::string& name : names) {
    Status error;
    if (name.empty()) {
      error = NoSuchObject(kind.noun, name);
    } else {
      ASSIGN_OR_RETURN(HttpResponse response,
                       client->Do({"DELETE", kind.path + "/" + PathEscape(name), {}, "", ""}));
      if (response.status == 404) {
        error = NoSuchObject(kind.noun, name);
      } else if (response.status < 200 || response.status > 299) {
        error = DaemonError(response);
      }
    }
    if (error.ok()) {
      ctx.out() << name << "\n";
      continue;
    }
    errors.Add(error);
  }
  return errors.ToStatus();
}

}  // namespace capsule::cli
