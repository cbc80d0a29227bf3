#include "cli/secret_versions_ops.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "cli/human_duration.h"
#include "cli/json_fields.h"
#include "cli/secret_ops.h"
#include "cli/service_progress.h"
#include "cli/tabwriter.h"
#include "common/secret_bytes.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

std::string SecretPath(const std::string& name, const std::string& what) {
  return absl::StrCat("/capsule/secrets/", PathEscape(name), what.empty() ? "" : "/", what);
}

StatusOr<Json> JsonAnswer(const HttpResponse& response, const std::string& what) {
  Json j = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::InternalError(absl::StrCat("unexpected answer to ", what, ": ", response.body));
  }
  return j;
}

// Sends `request` (a body holding secret bytes is wiped after sending).
StatusOr<Json> Send(CommandContext& ctx, HttpRequest request, const std::string& what) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  StatusOr<HttpResponse> response = Call(*client, request);
  WipeString(request.body);
  if (!response.ok()) return response.status();
  return JsonAnswer(*response, what);
}

// Prints the new version and waits for every service that rolls to it.
Status FollowChange(CommandContext& ctx, const SecretRotateOptions& options, const Json& answer) {
  const int64_t version = answer.value("Version", int64_t{0});
  ctx.out() << options.name << ": version " << version << "\n";
  const int64_t superseded_by = answer.value("SupersededBy", int64_t{0});
  if (superseded_by != 0) {
    // Overtaken: the services roll to the newer version, which its own caller follows.
    ctx.out() << options.name << ": superseded by version " << superseded_by
              << " (a concurrent rotate or rollback); services roll to version " << superseded_by
              << "\n";
    return absl::OkStatus();
  }
  if (options.detach) return absl::OkStatus();
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  std::vector<std::string> failed;
  for (const Json& id : answer.value("Services", Json::array())) {
    if (!id.is_string()) continue;
    const std::string sid = id.get<std::string>();
    if (!options.quiet) ctx.out() << sid << "\n";
    Status s = WaitOnService(ctx, *client, sid, options.quiet);
    if (!s.ok()) {
      ctx.err() << sid << ": " << s.message() << "\n";
      failed.push_back(sid);
    }
  }
  if (failed.empty()) return absl::OkStatus();
  return absl::UnknownError(absl::StrCat("secret ", options.name, ": version ", version,
                                         " did not roll out on: ", absl::StrJoin(failed, ", ")));
}

HttpRequest RawPost(const std::string& path, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.body = std::move(body);
  r.content_type = "application/octet-stream";
  return r;
}

}  // namespace

Status SecretRotate(CommandContext& ctx, const SecretRotateOptions& options) {
  ASSIGN_OR_RETURN(SecretBytes data, ReadSecretInput(ctx, options.file));
  HttpRequest request = RawPost(SecretPath(options.name, "rotate"), std::string(data.view()));
  data = SecretBytes();
  ASSIGN_OR_RETURN(Json answer, Send(ctx, std::move(request), "secret rotate"));
  return FollowChange(ctx, options, answer);
}

Status SecretRollback(CommandContext& ctx, const SecretRotateOptions& options) {
  ASSIGN_OR_RETURN(Json answer,
                   Send(ctx, RawPost(SecretPath(options.name, "rollback"), ""), "secret rollback"));
  return FollowChange(ctx, options, answer);
}

Status SecretHistory(CommandContext& ctx, const std::string& name) {
  HttpRequest request;
  request.path = SecretPath(name, "history");
  ASSIGN_OR_RETURN(Json h, Send(ctx, request, "secret history"));
  std::vector<std::string> lines = {"VERSION\tCREATED\tCREATED BY\tDIGEST\tIN USE BY"};
  for (const Json& v : h.value("Versions", Json::array())) {
    const bool current = v.value("Current", false);
    const Json by = v.value("CreatedByUID", Json());
    std::string created = v.value("CreatedAt", "");
    if (TimePoint t; ParseRfc3339Nano(created, &t)) {
      created = absl::StrCat(HumanDuration(ctx.clock().Now() - t), " ago");
    }
    std::string digest = v.value("Digest", "");
    const std::string prefix = "hmac-sha256:";
    if (digest.size() > prefix.size() + 12) digest.resize(prefix.size() + 12);
    const Json use = v.value("InUseBy", Json::object());
    std::vector<std::string> services;
    for (const Json& s : use.value("Services", Json::array())) {
      if (s.is_string()) services.push_back(s.get<std::string>());
    }
    const uint64_t tasks = use.value("Tasks", uint64_t{0});
    std::string in_use = "-";
    if (!services.empty() || tasks > 0) {
      in_use = absl::StrCat(services.empty() ? "(no service)" : absl::StrJoin(services, ","), " (",
                            tasks, tasks == 1 ? " task)" : " tasks)");
    }
    lines.push_back(absl::StrCat(v.value("Number", int64_t{0}), current ? " *" : "", "\t", created,
                                 "\t", by.is_number_integer() ? by.dump() : "-", "\t", digest, "\t",
                                 in_use));
  }
  ctx.out() << AlignColumns(lines);
  return absl::OkStatus();
}

Status SecretVerify(CommandContext& ctx, const std::string& name, const std::string& file) {
  ASSIGN_OR_RETURN(SecretBytes data, ReadSecretInput(ctx, file));
  HttpRequest request = RawPost(SecretPath(name, "verify"), std::string(data.view()));
  data = SecretBytes();
  ASSIGN_OR_RETURN(Json a, Send(ctx, std::move(request), "secret verify"));
  const int64_t matched = a.value("Version", int64_t{0});
  const int64_t current = a.value("CurrentVersion", int64_t{0});
  if (!a.value("Match", false) || matched == 0) {
    ctx.out() << "no match\n";
    return absl::NotFoundError("");
  }
  if (matched == current) {
    ctx.out() << "matches version " << matched << " (current)\n";
    return absl::OkStatus();
  }
  ctx.out() << "matches version " << matched << " (not the current version " << current << ")\n";
  return absl::FailedPreconditionError("");
}

Status SecretVersionsKept(CommandContext& ctx, const std::string& value) {
  HttpRequest request;
  request.path = "/capsule/secret-versions-kept";
  if (!value.empty()) {
    request.method = "POST";
    request.query["value"] = value;
  }
  ASSIGN_OR_RETURN(Json a, Send(ctx, request, "secret versions-kept"));
  ctx.out() << a.value("VersionsKept", int64_t{0}) << "\n";
  return absl::OkStatus();
}

}  // namespace capsule::cli
