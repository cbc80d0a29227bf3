// /images (import, load, list, inspect, delete) and /distribution. They work on every node,
// in a swarm or not: each node keeps its own images. Uploads stream to the image store.
#include <nlohmann/json.hpp>

#include "dockerapi/error_table.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using http::BodyReader;
using http::Params;
using http::Request;
using http::Response;
using http::ResponseStream;
using nlohmann::json;

std::string Query(const Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? "" : it->second;
}

// Reads and drops the rest of an upload so the client gets our answer, not a broken pipe.
void Drain(BodyReader& body) {
  for (;;) {
    StatusOr<std::string_view> piece = body.Next();
    if (!piece.ok() || piece->empty()) return;
  }
}

ChunkSource SourceOf(BodyReader& body) {
  return [&body]() { return body.Next(); };
}

// Docker's JSON-message stream: one compact JSON object per message, "\r\n" after each.
Response MessageStream(const std::vector<json>& messages) {
  Response r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", "application/json");
  for (const json& m : messages) r.body += m.dump() + "\r\n";
  return r;
}

int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// API 1.41's image summary (untagged images show "<none>:<none>", as the engine's).
json SummaryJson(const ImageDetails& i) {
  const bool dangling = i.repo_tags.empty();
  return {{"Containers", -1},
          {"Created", UnixSeconds(i.created)},
          {"Id", i.id},
          {"Labels", i.labels.empty() ? json(nullptr) : json(i.labels)},
          {"ParentId", ""},
          {"RepoDigests", !i.repo_digests.empty() ? json(i.repo_digests)
                          : dangling              ? json({"<none>@<none>"})
                                                  : json::array()},
          {"RepoTags", dangling ? json({"<none>:<none>"}) : json(i.repo_tags)},
          {"SharedSize", -1},
          {"Size", i.size},
          {"VirtualSize", i.size}};
}

json InspectJson(const ImageDetails& i) {
  return {{"Id", i.id},
          {"RepoTags", i.repo_tags},
          {"RepoDigests", i.repo_digests},
          {"Parent", ""},
          {"Comment", i.comment},
          {"Created", FormatRfc3339Nano(i.created)},
          {"Container", ""},
          {"ContainerConfig", i.container_config},
          {"DockerVersion", ""},
          {"Author", ""},
          {"Config", i.config},
          {"Architecture", "amd64"},
          {"Os", "linux"},
          {"Size", i.size},
          {"VirtualSize", i.size},
          {"GraphDriver", {{"Data", nullptr}, {"Name", "capsule"}}},
          {"RootFS", {{"Type", "layers"}, {"Layers", i.layers}}},
          {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
}

Response NoStore() {
  return ErrorResponse(absl::InternalError("the image store is not available on this node"));
}

// POST /images/create?fromImage=: `docker pull`. Docker's progress messages stream from the
// first one on (200, application/json); an error before it is a plain HTTP error, one after
// it the stream's last message ({"errorDetail":...}).
Response PullImage(Backend& backend, const Request& req, BodyReader& body, ResponseStream& out) {
  Drain(body);
  NodeImages* store = backend.Images();
  if (store == nullptr) return NoStore();
  bool begun = false;
  auto send = [&](const std::string& message) {
    if (!begun) {
      begun = true;
      if (!out.Begin(200, {{"Content-Type", "application/json"}})) return false;
    }
    return out.Write(message + "\r\n");
  };
  auto auth = req.headers.find("x-registry-auth");
  StatusOr<ImageDetails> pulled = store->Pull(Query(req, "fromImage"), Query(req, "tag"),
                                              auth == req.headers.end() ? "" : auth->second, send);
  if (pulled.ok()) return Response{};
  if (!begun) return ErrorResponse(pulled.status());
  const std::string message(pulled.status().message());
  out.Write(json{{"errorDetail", {{"message", message}}}, {"error", message}}.dump() + "\r\n");
  return Response{};
}

// POST /auth: `docker login`, checked against the registry by this node.
Response Login(Backend& backend, const Request& req) {
  NodeImages* store = backend.Images();
  if (store == nullptr) return NoStore();
  Status st = store->Login(req.body);
  if (!st.ok()) return ErrorResponse(st);
  return JsonResponse(200, json{{"IdentityToken", ""}, {"Status", "Login Succeeded"}}.dump());
}

// POST /images/create: `docker import` (fromSrc=-).
Response CreateImage(Backend& backend, const Request& req, BodyReader& body) {
  const std::string src = Query(req, "fromSrc");
  if (src != "-") {
    Drain(body);
    return ErrorResponse(absl::InvalidArgumentError(
        src.empty()
            ? "fromImage or fromSrc is required"
            : "importing from a URL is not supported: send the archive in the request body"));
  }
  NodeImages* store = backend.Images();
  if (store == nullptr) {
    Drain(body);
    return NoStore();
  }
  std::string repo = Query(req, "repo");
  const std::string tag = Query(req, "tag");
  if (!repo.empty() && !tag.empty()) repo += ":" + tag;
  std::vector<std::string> changes;
  if (auto it = req.query_all.find("changes"); it != req.query_all.end()) changes = it->second;
  StatusOr<ImageDetails> info = store->Import(SourceOf(body), repo, changes, Query(req, "message"));
  if (!info.ok()) {
    Drain(body);
    return ErrorResponse(info.status());
  }
  return MessageStream({json{{"status", info->id}}});
}

// POST /images/load: `docker load` of a `docker save` archive.
Response LoadImages(Backend& backend, BodyReader& body) {
  NodeImages* store = backend.Images();
  if (store == nullptr) {
    Drain(body);
    return NoStore();
  }
  StatusOr<std::vector<ImageDetails>> loaded = store->Load(SourceOf(body));
  if (!loaded.ok()) {
    Drain(body);
    return ErrorResponse(loaded.status());
  }
  std::vector<json> messages;
  for (const ImageDetails& i : *loaded) {
    if (i.repo_tags.empty()) messages.push_back({{"stream", "Loaded image ID: " + i.id + "\n"}});
    for (const std::string& t : i.repo_tags) {
      messages.push_back({{"stream", "Loaded image: " + t + "\n"}});
    }
  }
  return MessageStream(messages);
}

Response ListImages(Backend& backend) {
  NodeImages* store = backend.Images();
  if (store == nullptr) return NoStore();
  json out = json::array();
  for (const ImageDetails& i : store->List()) out.push_back(SummaryJson(i));
  return JsonResponse(200, out.dump());
}

Response InspectImage(Backend& backend, const std::string& name) {
  NodeImages* store = backend.Images();
  if (store == nullptr) return NoStore();
  StatusOr<ImageDetails> info = store->Inspect(name);
  if (!info.ok()) return ErrorResponse(info.status());
  return JsonResponse(200, InspectJson(*info).dump());
}

Response DeleteImage(Backend& backend, const Request& req, const std::string& name) {
  NodeImages* store = backend.Images();
  if (store == nullptr) return NoStore();
  auto items = store->Remove(name, BoolQuery(req, "force"));
  if (!items.ok()) return ErrorResponse(items.status());
  json out = json::array();
  for (const auto& [k, v] : *items) out.push_back({{k, v}});
  return JsonResponse(200, out.dump());
}

// GET /distribution/{name}/json: the image's registry asked for the manifest the name points
// to (the CLI pins services to its digest). A name the node does not resolve (its own
// imported image) gets an empty descriptor, so the CLI keeps the plain name (COMPAT.md).
Response InspectDistribution(Backend& backend, const Request& req, const std::string& name) {
  NodeImages* store = backend.Images();
  DistributionDetails details;
  if (store != nullptr) {
    auto auth = req.headers.find("x-registry-auth");
    StatusOr<DistributionDetails> found =
        store->Distribution(name, auth == req.headers.end() ? "" : auth->second);
    if (!found.ok()) return ErrorResponse(found.status());
    details = std::move(*found);
  }
  if (!details.resolved) return JsonResponse(200, R"({"Descriptor":{},"Platforms":[]})");
  // Docker's field order (Go structs), and Platforms null when there are none.
  nlohmann::ordered_json platforms = nullptr;
  for (const DistributionDetails::Platform& p : details.platforms) {
    nlohmann::ordered_json j = {{"architecture", p.architecture}, {"os", p.os}};
    if (!p.os_version.empty()) j["os.version"] = p.os_version;
    if (!p.os_features.empty()) j["os.features"] = p.os_features;
    if (!p.variant.empty()) j["variant"] = p.variant;
    platforms.push_back(std::move(j));
  }
  nlohmann::ordered_json out = {
      {"Descriptor",
       {{"mediaType", details.media_type}, {"digest", details.digest}, {"size", details.size}}},
      {"Platforms", std::move(platforms)}};
  return JsonResponse(200, out.dump());
}

}  // namespace

void RegisterImageRoutes(http::Router& router, Backend& backend) {
  AddStreamRoute(
      router, "POST", "/images/create",
      [&backend](const Request& r, const Params&, BodyReader& body, ResponseStream& out) {
        if (!Query(r, "fromImage").empty()) return PullImage(backend, r, body, out);
        return CreateImage(backend, r, body);
      });
  AddRoute(router, "POST", "/auth",
           [&backend](const Request& r, const Params&) { return Login(backend, r); });
  AddStreamRoute(router, "POST", "/images/load",
                 [&backend](const Request&, const Params&, BodyReader& body, ResponseStream&) {
                   return LoadImages(backend, body);
                 });
  AddRoute(router, "GET", "/images/json",
           [&backend](const Request&, const Params&) { return ListImages(backend); });
  AddRoute(router, "GET", "/images/{name*}/json", [&backend](const Request&, const Params& p) {
    return InspectImage(backend, p.at("name"));
  });
  AddRoute(router, "DELETE", "/images/{name*}", [&backend](const Request& r, const Params& p) {
    return DeleteImage(backend, r, p.at("name"));
  });
  AddRoute(router, "GET", "/distribution/{name*}/json",
           [&backend](const Request& r, const Params& p) {
             return InspectDistribution(backend, r, p.at("name"));
           });
}

}  // namespace capsule::dockerapi
