// What the image routes need from this node's image store, as an interface: src/node adapts
// the agent's store to it; tests can use a fake. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::dockerapi {

// An image as the API shows it.
struct ImageDetails {
  std::string id;                      // "sha256:<hex>" (digest of the image config)
  std::vector<std::string> repo_tags;  // "name:tag"
  TimePoint created;
  int64_t size = 0;                           // bytes of the unpacked rootfs
  std::map<std::string, std::string> labels;  // Config.Labels
  std::string comment;                        // `docker import --message`
  std::vector<std::string> layers;            // RootFS.Layers: "sha256:<diff id>"
  std::vector<std::string> repo_digests;      // "name@sha256:<manifest digest>" (pulled images)
  nlohmann::json config;                      // Docker's container config of the image ("Config")
  nlohmann::json container_config;            // that of the container it was made from
};

// GET /distribution/{name}/json's answer: what the image's registry says about the name.
struct DistributionDetails {
  // False: the name was not looked up on a registry (the node's own image, or a node that
  // does not pull); the route then answers an empty descriptor and the CLI keeps the name.
  bool resolved = false;
  std::string media_type, digest;  // of the manifest the name points to
  int64_t size = 0;
  struct Platform {
    std::string architecture, os, os_version, variant;
    std::vector<std::string> os_features;
  };
  std::vector<Platform> platforms;
};

// An upload arriving in pieces (the HTTP body); an empty view is the end, an error aborts.
using ChunkSource = std::function<StatusOr<std::string_view>()>;

class NodeImages {
 public:
  virtual ~NodeImages() = default;
  // `docker import`: the tar is a rootfs. `reference` "name[:tag]" or empty (untagged);
  // `changes`: Dockerfile lines (ENV, CMD, ...); `message`: the image's comment.
  // InvalidArgument for a bad reference, change line or archive.
  virtual StatusOr<ImageDetails> Import(ChunkSource tar, const std::string& reference,
                                        const std::vector<std::string>& changes,
                                        const std::string& message) = 0;
  // `docker load` of a `docker save` archive → the images loaded (with their tags).
  virtual StatusOr<std::vector<ImageDetails>> Load(ChunkSource tar) = 0;
  virtual std::vector<ImageDetails> List() const = 0;
  // By "name:tag", "name" or (short) ID. NotFound "No such image: <ref>".
  virtual StatusOr<ImageDetails> Inspect(const std::string& ref) const = 0;
  // Docker's [{"Untagged":...},{"Deleted":...}] items as (key, value) pairs. NotFound "No such
  // image: <ref>"; AlreadyExists (409) when an ID has several tags and !force.
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string& ref,
                                                                            bool force) = 0;

  // `docker pull` (fromImage, tag as POST /images/create gets them; registry_auth: the
  // X-Registry-Auth header). Each of Docker's JSON progress messages goes to `progress`
  // (false from it: the client went away). Errors returned before any message was sent
  // are answered as HTTP errors; later ones end the stream. FailedPrecondition when this
  // node does not pull (the default, for test doubles).
  virtual StatusOr<ImageDetails> Pull(const std::string& image, const std::string& tag,
                                      const std::string& registry_auth,
                                      const std::function<bool(const std::string&)>& progress) {
    (void)image, (void)tag, (void)registry_auth, (void)progress;
    return absl::FailedPreconditionError(
        "pulling images is not supported: import or load the image on each node");
  }
  // `docker login` (POST /auth, body: Docker's AuthConfig JSON): checks the credentials
  // against the registry. Unauthenticated with Docker's text when refused.
  virtual Status Login(const std::string& auth_config_json) {
    (void)auth_config_json;
    return absl::FailedPreconditionError("logging in to registries is not supported");
  }
  // GET /distribution/{name}/json (registry_auth: the X-Registry-Auth header). The default
  // (test doubles, nodes that do not pull) resolves nothing.
  virtual StatusOr<DistributionDetails> Distribution(const std::string& name,
                                                     const std::string& registry_auth) {
    (void)name, (void)registry_auth;
    return DistributionDetails{};
  }
};

}  // namespace capsule::dockerapi
