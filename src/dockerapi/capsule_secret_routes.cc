// /capsule/secrets/…: Capsule's secret versions (docs/secret-versions.md), beside Docker's
// /secrets routes, which keep their exact behaviour. No route here ever returns secret data:
//   GET  /capsule/secrets/{id}           Docker's secret JSON plus "CapsuleVersions"
//   GET  /capsule/secrets/{id}/history   the versions: number, created, by, digest, in use by
//   POST /capsule/secrets/{id}/rotate    body = the new data (raw bytes) → {"Version","Services"}
//   POST /capsule/secrets/{id}/rollback  → {"Version","Services"}
//   POST /capsule/secrets/{id}/verify    body = the candidate (raw bytes) →
//                                        {"Match","Version","CurrentVersion"}
//   GET  /capsule/secret-versions-kept   {"VersionsKept": n}
//   POST /capsule/secret-versions-kept?value=N   sets it (0…100) → {"VersionsKept": n}
// {id} is a full ID, a name or a unique ID prefix (as Docker's /secrets/{id}). Errors map as
// Docker's (error_table.h): 404 not found; 400 bad data or no previous version.
// A rotation records the caller's uid (its connection's peer credentials; -1 when the kernel
// gave none) as the new version's creator; rotate and rollback are written to the audit log
// (dockerapi/audit_routes.h) once they succeeded.
#include <algorithm>

#include "audit/event.h"
#include "common/clock.h"
#include "dockerapi/audit_routes.h"
#include "dockerapi/error_table.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;
using Json = nlohmann::ordered_json;

constexpr int64_t kUnknownUid = -1;

struct Target {
  std::shared_ptr<const ManagerServices> mgr;
  store::SecretEntry secret;
};

StatusOr<Target> Resolve(Backend& backend, const Params& params) {
  ASSIGN_OR_RETURN(std::shared_ptr<const ManagerServices> mgr, backend.Manager());
  if (mgr->secret_versions == nullptr) return absl::UnimplementedError("secret versions");
  ASSIGN_OR_RETURN(store::SecretEntry e, mgr->secrets->Resolve(params.at("id")));
  return Target{std::move(mgr), std::move(e)};
}

Json HistoryJson(const controlapi::SecretHistory& h) {
  Json versions = Json::array();
  for (const controlapi::VersionRow& r : h.rows) {
    Json by = r.version.created_by_uid >= 0 ? Json(r.version.created_by_uid) : Json(nullptr);
    versions.push_back({{"Number", r.version.number},
                        {"CreatedAt", FormatRfc3339Nano(r.version.created_at)},
                        {"CreatedByUID", by},
                        {"Digest", "hmac-sha256:" + r.version.digest},
                        {"Current", r.current},
                        {"InUseBy", {{"Services", r.usage.services}, {"Tasks", r.usage.tasks}}}});
  }
  return {{"ID", h.id},
          {"Name", h.name},
          {"CurrentVersion", h.current_version},
          {"VersionsKept", h.versions_kept},
          {"Versions", versions}};
}

Response Inspect(Backend& backend, const Params& params) {
  StatusOr<Target> t = Resolve(backend, params);
  if (!t.ok()) return ErrorResponse(t.status());
  StatusOr<controlapi::SecretHistory> h = t->mgr->secret_versions->History(t->secret->object.id);
  if (!h.ok()) return ErrorResponse(h.status());
  Json j = Json::parse(t->secret->json);
  j["CapsuleVersions"] = HistoryJson(*h);
  return JsonResponse(200, j.dump());
}

Response History(Backend& backend, const Params& params) {
  StatusOr<Target> t = Resolve(backend, params);
  if (!t.ok()) return ErrorResponse(t.status());
  StatusOr<controlapi::SecretHistory> h = t->mgr->secret_versions->History(t->secret->object.id);
  if (!h.ok()) return ErrorResponse(h.status());
  return JsonResponse(200, HistoryJson(*h).dump());
}

// The answer to a rotate/rollback; a success is recorded in the audit log as `action`.
Response ChangeResponse(const Target& t, const Request& req, audit::Action action,
                        const StatusOr<controlapi::VersionChange>& c) {
  if (!c.ok()) return ErrorResponse(c.status());
  RecordSecretEvent(*t.mgr, req, action, t.secret->object.id, t.secret->object.name, c->version);
  // SupersededBy: the version a concurrent rotation or rollback made current meanwhile (0 =
  // none); Services then lists only the services this call had pinned.
  return JsonResponse(200, Json{{"Version", c->version},
                                {"Services", c->service_ids},
                                {"SupersededBy", c->superseded_by}}
                               .dump());
}

Response Rotate(Backend& backend, const Request& req, const Params& params) {
  StatusOr<Target> t = Resolve(backend, params);
  if (!t.ok()) return ErrorResponse(t.status());
  SecretBytes data = SecretBytes::CopyFrom(std::string_view(req.body));
  const int64_t uid = req.peer ? static_cast<int64_t>(req.peer->uid) : kUnknownUid;
  return ChangeResponse(*t, req, audit::Action::kRotate,
                        t->mgr->secret_versions->Rotate(t->secret->object.id, data, uid));
}

Response Rollback(Backend& backend, const Request& req, const Params& params) {
  StatusOr<Target> t = Resolve(backend, params);
  if (!t.ok()) return ErrorResponse(t.status());
  return ChangeResponse(*t, req, audit::Action::kRollback,
                        t->mgr->secret_versions->Rollback(t->secret->object.id));
}

Response Verify(Backend& backend, const Request& req, const Params& params) {
  StatusOr<Target> t = Resolve(backend, params);
  if (!t.ok()) return ErrorResponse(t.status());
  SecretBytes candidate = SecretBytes::CopyFrom(std::string_view(req.body));
  StatusOr<controlapi::VerifyAnswer> a =
      t->mgr->secret_versions->Verify(t->secret->object.id, candidate);
  if (!a.ok()) return ErrorResponse(a.status());
  return JsonResponse(200, Json{{"Match", a->matched != 0},
                                {"Version", a->matched},
                                {"CurrentVersion", a->current_version}}
                               .dump());
}

Response VersionsKept(Backend& backend, const Request& req, bool set) {
  StatusOr<std::shared_ptr<const ManagerServices>> mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  controlapi::SecretVersionApi* api = (*mgr)->secret_versions;
  if (api == nullptr) return ErrorResponse(absl::UnimplementedError("secret versions"));
  if (set) {
    auto it = req.query.find("value");
    uint64_t n = 0;
    if (it == req.query.end() || !ParseUint64(it->second, &n)) {
      return ErrorResponse(absl::InvalidArgumentError("value: a number of versions is required"));
    }
    if (Status s = api->SetVersionsKept(static_cast<int64_t>(std::min<uint64_t>(n, 1000)));
        !s.ok()) {
      return ErrorResponse(s);
    }
  }
  return JsonResponse(200, Json{{"VersionsKept", api->VersionsKept()}}.dump());
}

}  // namespace

void RegisterCapsuleSecretRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "GET", "/capsule/secrets/{id}",
           [&backend](const Request&, const Params& p) { return Inspect(backend, p); });
  AddRoute(router, "GET", "/capsule/secrets/{id}/history",
           [&backend](const Request&, const Params& p) { return History(backend, p); });
  AddRoute(router, "POST", "/capsule/secrets/{id}/rotate",
           [&backend](const Request& r, const Params& p) { return Rotate(backend, r, p); });
  AddRoute(router, "POST", "/capsule/secrets/{id}/rollback",
           [&backend](const Request& r, const Params& p) { return Rollback(backend, r, p); });
  AddRoute(router, "POST", "/capsule/secrets/{id}/verify",
           [&backend](const Request& r, const Params& p) { return Verify(backend, r, p); });
  AddRoute(router, "GET", "/capsule/secret-versions-kept",
           [&backend](const Request& r, const Params&) { return VersionsKept(backend, r, false); });
  AddRoute(router, "POST", "/capsule/secret-versions-kept",
           [&backend](const Request& r, const Params&) { return VersionsKept(backend, r, true); });
}

}  // namespace capsule::dockerapi
