// The secrets audit log on the Docker API side: recording what a request did (with its
// caller's peer credentials) and GET /capsule/audit (routes.h, RegisterAuditRoutes).
// Internal to dockerapi.
#pragma once

#include <string>

#include "audit/event.h"
#include "dockerapi/backend.h"
#include "dockerapi/http/server.h"
#include "manager/controlapi/audited_write.h"

namespace capsule::dockerapi {

// Records `action` on the secret (id, name), version `version`, by the caller of `req` (its
// connection's peer credentials). No-op when the manager has no recorder. Never blocks on
// the store (audit/recorder.h). For rotate/rollback routes; create and remove write their
// event with the change instead (AuditContextOf below).
void RecordSecretEvent(const ManagerServices& manager, const http::Request& req,
                       audit::Action action, const std::string& id, const std::string& name,
                       int64_t version = audit::kFirstVersion);

// For a change that writes its own event (controlapi/audited_write.h): the manager's
// recorder (nullptr: none) and the caller of `req`.
controlapi::AuditContext AuditContextOf(const ManagerServices& manager, const http::Request& req);

// The JSON of one event as GET /capsule/audit lists it (audit/event.h's EncodeEvent).
std::string AuditEventJson(const audit::Event& event);

}  // namespace capsule::dockerapi
