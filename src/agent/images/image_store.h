// The node's image store: images imported (`docker import`, `capsule image import`) or loaded
// (`docker load` of a `docker save` archive) into <data-root>/images, each an unpacked rootfs
// plus its config, and images pulled from registries (AddPulled; their compressed layers kept
// once each in the blob store, see blob_store.h). Nothing here ever contacts a registry.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/images/blob_store.h"
#include "agent/images/image_users.h"
#include "common/clock.h"
#include "common/status.h"

namespace capsule::agent {

struct ImageConfig {
  std::vector<std::string> env;         // "K=V"; empty = none given (tasks then get a default PATH)
  std::vector<std::string> cmd;         // Config.Cmd
  std::vector<std::string> entrypoint;  // Config.Entrypoint
  std::string working_dir;
  std::string user;
  std::map<std::string, std::string> labels;  // Config.Labels
};

struct ImageInfo {
  std::string id;                      // "sha256:<hex>" (digest of the image config)
  std::vector<std::string> repo_tags;  // "name:tag"
  TimePoint created;
  int64_t size = 0;  // bytes of the unpacked rootfs
  ImageConfig config;
  std::string comment;                    // `docker import --message`
  std::vector<std::string> layers;        // RootFS.Layers: "sha256:<diff id>" per layer
  std::vector<std::string> repo_digests;  // "name@sha256:<manifest digest>" of pulled images
};

// A tar stream arriving in pieces (the HTTP body); returning an error aborts the import.
using ChunkSource = std::function<StatusOr<std::string_view>()>;  // empty view = end

// An image pulled from a registry, ready to be stored: its config (the bytes whose sha256 is
// the image ID) and its layers as uncompressed tar streams, opened in order. A stream that
// fails (a digest check) aborts AddPulled with its error and nothing stored.
struct PulledImage {
  std::string config_json;
  size_t layer_count = 0;
  std::function<StatusOr<ChunkSource>(size_t index)> open_layer;
  std::vector<std::string> tags;     // "name:tag" (may be empty for a pull by digest)
  std::vector<std::string> digests;  // "name@sha256:<manifest digest>"
};

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // `docker import`: the tar is a rootfs. `reference` "name[:tag]" (tag defaults to latest),
  // may be empty (untagged). `changes`: Dockerfile lines (ENV, CMD, ENTRYPOINT, WORKDIR, USER).
  // InvalidArgument for a bad reference, change line or archive (nothing is left behind).
  virtual StatusOr<ImageInfo> Import(ChunkSource tar, const std::string& reference,
                                     const std::vector<std::string>& changes) = 0;
  // The same with `docker import --message` (the image's Comment). The default ignores it
  // (for test doubles that implement only the three-argument form).
  virtual StatusOr<ImageInfo> ImportWithMessage(ChunkSource tar, const std::string& reference,
                                                const std::vector<std::string>& changes,
                                                const std::string& message) {
    (void)message;
    return Import(std::move(tar), reference, changes);
  }
  // `docker load`: a `docker save` archive (manifest.json; layers applied in order with
  // whiteouts). Returns the images loaded (with their tags).
  virtual StatusOr<std::vector<ImageInfo>> Load(ChunkSource tar) = 0;
  virtual std::vector<ImageInfo> List() const = 0;
  // By "name:tag", "name" (= name:latest), full or short ID (prefix of the hex). NotFound
  // "No such image: <ref>".
  virtual StatusOr<ImageInfo> Inspect(const std::string& ref) const = 0;
  // The unpacked rootfs directory of an image (read-only to callers: tasks get an overlay).
  virtual StatusOr<std::string> RootfsPath(const std::string& ref) const = 0;
  // Untags `ref`; removes the image when no tag is left (or when ref is an ID and force).
  // Returns Docker's [{"Untagged":...},{"Deleted":...}] items as (key, value) pairs.
  // NotFound "No such image: <ref>". AlreadyExists (HTTP 409) with Docker's texts, <short> being
  // the first 12 hex digits of the ID and <c> the first 12 characters of a task's container ID:
  //   a tag that is the image's only one, used by a task, without force:
  //     conflict: unable to remove repository reference "<ref>" (must force) - container <c> is
  //     using its referenced image <short>
  //   an ID, used by a running task (force or not):
  //     conflict: unable to delete <short> (cannot be forced) - image is being used by running
  //     container <c>
  //   an ID with several tags, without force:
  //     conflict: unable to delete <short> (must be forced) - image is referenced in multiple
  //     repositories
  //   an ID, used by a task that does not run (prepared or exited), without force:
  //     conflict: unable to delete <short> (must be forced) - image is being used by stopped
  //     container <c>
  // An image a task uses is never deleted, only untagged (with force): it stays, dangling, until
  // removed again after its tasks are gone. (Docker deletes an image a stopped container uses
  // when forced, as its layers live on with the container; here the task's rootfs is an
  // overlay on the image's own files.)
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string& ref,
                                                                            bool force) = 0;

  // Stores a pulled image: unless the image (by ID) is stored already, its layers are applied
  // into a staging rootfs that is renamed into place only when every layer applied; then its
  // tags and digests point at it. InvalidArgument for a bad config, tag or layer.
  // The default (test doubles): Unimplemented.
  virtual StatusOr<ImageInfo> AddPulled(PulledImage image) {
    (void)image;
    return absl::UnimplementedError("pulling images is not supported by this store");
  }
  // The store's blobs (see blob_store.h); null for stores without (test doubles).
  virtual BlobStore* Blobs() { return nullptr; }
};

// Opens (creating it 0700 if needed) the store in images_dir; removes leftovers of imports
// interrupted by a crash. Times come from clock. `users` (optional; must outlive the store)
// tells Remove which images the node's tasks use; without it no image counts as used.
StatusOr<std::unique_ptr<ImageStore>> NewImageStore(const std::string& images_dir,
                                                    Clock& clock = RealClock(),
                                                    const ImageUsers* users = nullptr);

}  // namespace capsule::agent
