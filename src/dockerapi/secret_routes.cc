// /secrets: create, list (filters), inspect, update (labels only), delete.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "dockerapi/error_table.h"
#include "dockerapi/http/filters.h"
#include "dockerapi/request_json.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "dockerapi/secret_spec_json.h"

namespace capsule::dockerapi {
namespace {

using http::Params;
using http::Request;
using http::Response;

bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Swarm's secret listing: the first non-empty filter among names, name prefixes and ID
// prefixes chooses the index walked (names in filter order, name prefixes in lower-cased name
// order, ID prefixes in ID order; unfiltered in ID order); then every filter must match.
// Names compare case-insensitively (swarm's name index is lower-cased), IDs exactly.
std::vector<store::SecretEntry> SelectSecrets(const store::ReadModel& reads,
                                              const http::Filters& filters) {
  const std::vector<std::string>& names = http::FilterValues(filters, "names");
  const std::vector<std::string>& name_prefixes = http::FilterValues(filters, "name");
  const std::vector<std::string>& id_prefixes = http::FilterValues(filters, "id");
  std::vector<store::SecretEntry> all = reads.Secrets();  // ordered by ID
  std::vector<store::SecretEntry> walk;
  if (!names.empty()) {
    for (const std::string& n : names) {
      if (store::SecretEntry e = reads.SecretByName(n)) walk.push_back(e);
    }
  } else if (!name_prefixes.empty()) {
    std::vector<store::SecretEntry> by_name = all;
    std::stable_sort(by_name.begin(), by_name.end(), [](const auto& a, const auto& b) {
      return store::AsciiLower(a->object.name) < store::AsciiLower(b->object.name);
    });
    for (const std::string& p : name_prefixes) {
      const std::string lp = store::AsciiLower(p);
      for (const store::SecretEntry& e : by_name) {
        if (HasPrefix(store::AsciiLower(e->object.name), lp)) walk.push_back(e);
      }
    }
  } else if (!id_prefixes.empty()) {
    for (const std::string& p : id_prefixes) {
      for (const store::SecretEntry& e : all) {
        if (HasPrefix(e->object.id, p)) walk.push_back(e);
      }
    }
  } else {
    walk = std::move(all);
  }

  auto matches = [&](const Secret& s) {
    const std::string lname = store::AsciiLower(s.name);
    bool name_ok = names.empty() || std::any_of(names.begin(), names.end(), [&](const auto& n) {
                     return store::AsciiLower(n) == lname;
                   });
    bool prefix_ok = name_prefixes.empty() ||
                     std::any_of(name_prefixes.begin(), name_prefixes.end(),
                                 [&](const auto& p) { return HasPrefix(lname, store::AsciiLower(p)); });
    bool id_ok = id_prefixes.empty() ||
                 std::any_of(id_prefixes.begin(), id_prefixes.end(),
                             [&](const auto& p) { return HasPrefix(s.id, p); });
    return name_ok && prefix_ok && id_ok && http::MatchKVList(filters, "label", s.labels);
  };
  std::vector<store::SecretEntry> out;
  std::set<std::string> seen;
  for (const store::SecretEntry& e : walk) {
    if (matches(e->object) && seen.insert(e->object.id).second) out.push_back(e);
  }
  return out;
}

Response CreateSecret(Backend& backend, const Request& req) {
  StatusOr<controlapi::SecretSpec> spec = ParseSecretSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<std::string> id = (*mgr)->secrets->Create(*spec);
  if (!id.ok()) return ErrorResponse(RpcError(id.status()));
  return JsonResponse(201, nlohmann::json{{"ID", *id}}.dump());
}

Response ListSecrets(Backend& backend, const Request& req) {
  http::Filters filters;
  auto it = req.query.find("filters");
  if (it != req.query.end() && !it->second.empty()) {
    StatusOr<http::Filters> parsed = http::ParseFilters(it->second);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    filters = *std::move(parsed);
  }
  Status valid = http::ValidateFilters(filters, {"id", "label", "name", "names"});
  if (!valid.ok()) return ErrorResponse(valid);
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  Status fresh = (*mgr)->reads->WaitFresh();
  if (!fresh.ok()) return ErrorResponse(fresh);

  std::string body = "[";
  for (const store::SecretEntry& e : SelectSecrets(*(*mgr)->reads, filters)) {
    if (body.size() > 1) body += ',';
    body += e->json;
  }
  body += ']';
  return JsonResponse(200, std::move(body));
}

Response InspectSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  return JsonResponse(200, (*e)->json);
}

Response UpdateSecret(Backend& backend, const Request& req, const Params& params) {
  StatusOr<controlapi::SecretSpec> spec = ParseSecretSpec(req.body);
  if (!spec.ok()) return ErrorResponse(spec.status());
  uint64_t version = 0;
  auto v = req.query.find("version");
  if (v == req.query.end() || !ParseUint64(v->second, &version) || version > INT64_MAX) {
    return ErrorResponse(absl::InvalidArgumentError("invalid secret version"));
  }
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->secrets->Update((*e)->object.id, static_cast<int64_t>(version), *spec);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{200, {}, ""};
}

Response DeleteSecret(Backend& backend, const Params& params) {
  auto mgr = backend.Manager();
  if (!mgr.ok()) return ErrorResponse(mgr.status());
  StatusOr<store::SecretEntry> e = controlapi::ResolveSecret(*(*mgr)->reads, params.at("id"));
  if (!e.ok()) return ErrorResponse(e.status());
  Status s = (*mgr)->secrets->Remove((*e)->object.id);
  if (!s.ok()) return ErrorResponse(RpcError(s));
  return Response{204, {}, ""};
}

}  // namespace

void RegisterSecretRoutes(http::Router& router, Backend& backend) {
  AddRoute(router, "POST", "/secrets/create",
             [&backend](const Request& r, const Params&) { return CreateSecret(backend, r); });
  AddRoute(router, "GET", "/secrets",
             [&backend](const Request& r, const Params&) { return ListSecrets(backend, r); });
  AddRoute(router, "GET", "/secrets/{id}",
             [&backend](const Request&, const Params& p) { return InspectSecret(backend, p); });
  AddRoute(router, "POST", "/secrets/{id}/update", [&backend](const Request& r, const Params& p) {
    return UpdateSecret(backend, r, p);
  });
  AddRoute(router, "DELETE", "/secrets/{id}",
             [&backend](const Request&, const Params& p) { return DeleteSecret(backend, p); });
}

}  // namespace capsule::dockerapi
