#include "cli/audit_ops.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/daemon_error.h"
#include "cli/json_fields.h"
#include "cli/tabwriter.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

// "2026-12-07T06:45:01Z" from the event's RFC 3339 nano time.
std::string Seconds(const std::string& rfc3339) {
  TimePoint t;
  if (!ParseRfc3339Nano(rfc3339, &t)) return rfc3339;
  return FormatRfc3339Nano(std::chrono::floor<std::chrono::seconds>(t));
}

std::string By(const Json& e) {
  const std::string node = StringAt(e, {"NodeID"});
  if (!node.empty()) return "node " + node;
  auto caller = e.find("Caller");
  if (caller == e.end() || !caller->is_object()) return "-";
  return absl::StrCat("uid=", caller->value("UID", 0u), " pid=", caller->value("PID", 0));
}

}  // namespace

Status Audit(CommandContext& ctx, const AuditOptions& options) {
  HttpRequest request{"GET", "/capsule/audit", {}, "", ""};
  if (!options.since.empty()) request.query["since"] = options.since;
  if (!options.secret.empty()) request.query["secret"] = options.secret;
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  Json events = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!events.is_array()) {
    return absl::InternalError("unexpected answer to the audit query: not a JSON array");
  }
  std::vector<std::string> lines = {"TIME\tACTION\tSECRET\tID\tVERSION\tBY"};
  for (const Json& e : events) {
    if (!e.is_object()) continue;
    const Json version = e.value("Version", Json());
    lines.push_back(absl::StrCat(Seconds(StringAt(e, {"Time"})), "\t", StringAt(e, {"Action"}),
                                 "\t", StringAt(e, {"SecretName"}), "\t", StringAt(e, {"SecretID"}),
                                 "\t", version.is_number() ? version.dump() : "", "\t", By(e)));
  }
  ctx.out() << AlignColumns(lines);
  return absl::OkStatus();
}

}  // namespace capsule::cli
