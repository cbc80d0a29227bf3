// InspectDistribution and DistributionResolver (declared in distribution_inspect.h).
#include "agent/registry/distribution_inspect.h"

#include <nlohmann/json.hpp>

#include "agent/images/sha256.h"
#include "agent/registry/manifest.h"

namespace capsule::agent::registry {
namespace {

using nlohmann::json;

constexpr int64_t kConfigLimit = 8 << 20;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// An OCI platform object (an index entry's "platform", or an image config's top level).
DistributionPlatform PlatformOf(const json& j) {
  DistributionPlatform p;
  p.architecture = Str(j, "architecture");
  p.os = Str(j, "os");
  p.os_version = Str(j, "os.version");
  p.variant = Str(j, "variant");
  if (auto f = j.find("os.features"); f != j.end() && f->is_array()) {
    for (const json& s : *f) {
      if (s.is_string()) p.os_features.push_back(s.get<std::string>());
    }
  }
  return p;
}

// The image config's platform, when the config can be fetched and names one; Docker's daemon
// ignores a config it cannot read, and so does this.
std::vector<DistributionPlatform> ConfigPlatform(RegistryClient& client, const json& manifest) {
  auto config = manifest.find("config");
  if (config == manifest.end() || !config->is_object()) return {};
  const std::string digest = Str(*config, "digest");
  if (!IsSha256Digest(digest)) return {};
  std::string body;
  BodySink sink = [&body](std::string_view piece) -> Status {
    if (static_cast<int64_t>(body.size() + piece.size()) > kConfigLimit) {
      return absl::InvalidArgumentError("image config is too large");
    }
    body.append(piece);
    return absl::OkStatus();
  };
  if (!client.GetBlob(digest, sink).ok() || "sha256:" + Sha256Hex(body) != digest) return {};
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return {};
  DistributionPlatform p = PlatformOf(j);
  if (p.os.empty() && p.architecture.empty()) return {};
  return {std::move(p)};
}

// True for a bare image ID ("<64 hex>" or "sha256:<64 hex>"), which Docker's reference parser
// reads as a digest without a name.
bool IsImageId(const std::string& name) {
  const std::string hex = name.rfind("sha256:", 0) == 0 ? name.substr(7) : name;
  return IsSha256Digest("sha256:" + hex);
}

// The registry client's error as Docker's daemon answers it: the registry's own refusals keep
// their codes (unknown manifest 404, refused credentials 401, denied 403); a request that
// could not be answered (no credentials for a challenge, a registry down or refused by this
// node) is Unknown, which the API answers 500. A tag is looked up with HEAD by Docker, and its
// message says so.
Status AsDockerError(const Status& st, const PullReference& ref) {
  if (absl::IsNotFound(st) || absl::IsInvalidArgument(st) || absl::IsPermissionDenied(st)) {
    return st;
  }
  std::string message(st.message());
  const bool no_credentials =
      absl::IsUnauthenticated(st) && message.find("no basic auth credentials") != std::string::npos;
  if (absl::IsUnauthenticated(st) && !no_credentials) return st;
  if (no_credentials && ref.digest.empty() && message.rfind("Get \"", 0) == 0) {
    message = "Head" + message.substr(3);
  }
  return absl::UnknownError(message);
}

}  // namespace

StatusOr<DistributionInfo> InspectDistribution(HttpTransport& transport,
                                               const RegistryOptions& options,
                                               const PullReference& ref, const RegistryAuth& auth) {
  RegistryClient client(transport, RegistryBaseUrl(ref.domain, options), ref.path, auth);
  StatusOr<FetchedManifest> got = client.GetManifest(ref.ManifestRef());
  if (!got.ok()) return AsDockerError(got.status(), ref);
  const FetchedManifest& fetched = *got;
  json j = json::parse(fetched.body, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("invalid manifest: not a JSON object");
  if (j.value("schemaVersion", 0) == 1) {
    return absl::InvalidArgumentError(
        "image manifest schema 1 is not supported: push the image again with a newer client");
  }
  std::string type = Str(j, "mediaType");
  if (type.empty()) type = fetched.content_type.substr(0, fetched.content_type.find(';'));

  DistributionInfo info;
  info.resolved = true;
  info.digest = fetched.digest;
  info.size = static_cast<int64_t>(fetched.body.size());
  const bool index =
      type == kDockerManifestList || type == kOciIndex || (type.empty() && j.contains("manifests"));
  if (index) {
    // Docker's manifest list payload: its own mediaType, OCI's index type when it has none.
    info.media_type = Str(j, "mediaType").empty() ? kOciIndex : Str(j, "mediaType");
    auto list = j.find("manifests");
    if (list == j.end() || !list->is_array()) {
      return absl::InvalidArgumentError("invalid manifest: index without manifests");
    }
    for (const json& entry : *list) {
      auto p = entry.is_object() ? entry.find("platform") : entry.end();
      info.platforms.push_back(p != entry.end() && p->is_object() ? PlatformOf(*p)
                                                                  : DistributionPlatform{});
    }
    return info;
  }
  if (type == kDockerManifest) {
    info.media_type = kDockerManifest;
    info.platforms = ConfigPlatform(client, j);
    return info;
  }
  if (type == kOciManifest || (type.empty() && j.contains("config"))) {
    info.media_type = kOciManifest;
    return info;
  }
  return absl::InvalidArgumentError("unsupported manifest media type and no default available: " +
                                    type);
}

DistributionResolver::DistributionResolver(const ImageStore& store, HttpTransport& transport,
                                           const RegistryOptions& options)
    : store_(store), transport_(transport), options_(options) {}

StatusOr<DistributionInfo> DistributionResolver::Resolve(const std::string& name,
                                                         const RegistryAuth& auth) const {
  if (IsImageId(name)) return absl::UnknownError("no manifest found for full image ID");
  ASSIGN_OR_RETURN(PullReference ref, ParsePullReference(name));
  if (ref.digest.empty()) {
    // A name this node's store holds with no registry origin (imported or loaded) is the
    // node's own: no registry is asked, so none can pin a digest the nodes do not have.
    StatusOr<ImageInfo> local = store_.Inspect(ref.TagRef());
    if (local.ok() && local->repo_digests.empty()) return DistributionInfo{};
  }
  return InspectDistribution(transport_, options_, ref, auth);
}

}  // namespace capsule::agent::registry
