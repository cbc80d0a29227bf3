// GET /capsule/audit?since=<duration|time>&secret=<name|ID|ID prefix>: the secrets audit
// log, oldest first, as a JSON array of events (audit/event.h). Managers only: elsewhere the
// answer is Docker's for manager routes (backend.h). 400 for a bad `since` (Docker's text).
#include "dockerapi/audit_routes.h"

#include "audit/query.h"
#include "dockerapi/error_table.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

std::string QueryValue(const Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? "" : it->second;
}

Response GetAudit(Backend& backend, const Request& req) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  if ((*mgr)->audit_log == nullptr) {
    return ErrorResponse(absl::UnimplementedError("the audit log is not available"));
  }
  StatusOr<audit::Query> q =
      audit::ParseQuery(QueryValue(req, "since"), QueryValue(req, "secret"), RealClock().Now());
  if (!q.ok()) return ErrorResponse(q.status());
  StatusOr<std::vector<audit::Event>> events =
      (*mgr)->audit_log->ReadSince(q->since.value_or(TimePoint{}));
  if (!events.ok()) return ErrorResponse(events.status());
  std::string body = "[";
  bool first = true;
  for (const audit::Event& e : audit::Filter(*std::move(events), *q)) {
    if (!first) body += ",";
    first = false;
    body += AuditEventJson(e);
  }
  body += "]\n";
  return JsonResponse(200, std::move(body));
}

}  // namespace

void RecordSecretEvent(const ManagerServices& manager, const http::Request& req,
                       audit::Action action, const std::string& id, const std::string& name,
                       int64_t version) {
  if (manager.audit == nullptr) return;
  audit::Event e;
  e.action = action;
  e.secret_id = id;
  e.secret_name = name;
  e.version = version;
  e.caller = AuditContextOf(manager, req).caller;
  manager.audit->Record(std::move(e));
}

controlapi::AuditContext AuditContextOf(const ManagerServices& manager, const http::Request& req) {
  controlapi::AuditContext ctx{manager.audit, std::nullopt};
  if (req.peer) ctx.caller = audit::Caller{req.peer->uid, req.peer->gid, req.peer->pid};
  return ctx;
}

std::string AuditEventJson(const audit::Event& event) { return audit::EncodeEvent(event); }

void RegisterAuditRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "GET", "/capsule/audit",
           [&backend](const Request& r, const Params&) { return GetAudit(backend, r); });
}

}  // namespace capsule::dockerapi
