// Test helpers for the executor: a busybox-static rootfs built from Debian's /bin/busybox, and
// an ImageStore holding exactly one such image.
#pragma once

#include <string>

#include "agent/images/image_store.h"

namespace capsule::agent::testing {

// Creates `dir` with bin/busybox and its applets as symlinks, etc/passwd and etc/group
// (root, and "app" uid 2000 / gid 3000 with supplementary group "extra" 4000), and empty
// proc, sys, dev, tmp, run directories.
void BuildBusyboxRootfs(const std::string& dir);

class OneImageStore : public ImageStore {
 public:
  OneImageStore(std::string name, std::string rootfs, ImageConfig config)
      : name_(std::move(name)), rootfs_(std::move(rootfs)), config_(std::move(config)) {}

  StatusOr<ImageInfo> Import(ChunkSource, const std::string&,
                             const std::vector<std::string>&) override {
    return absl::UnimplementedError("test store");
  }
  StatusOr<std::vector<ImageInfo>> Load(ChunkSource) override {
    return absl::UnimplementedError("test store");
  }
  std::vector<ImageInfo> List() const override { return {Info()}; }
  StatusOr<ImageInfo> Inspect(const std::string& ref) const override {
    if (ref != name_) return absl::NotFoundError("No such image: " + ref);
    return Info();
  }
  StatusOr<std::string> RootfsPath(const std::string& ref) const override {
    if (ref != name_) return absl::NotFoundError("No such image: " + ref);
    return rootfs_;
  }
  StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string&,
                                                                    bool) override {
    return absl::UnimplementedError("test store");
  }

 private:
  ImageInfo Info() const {
    ImageInfo info;
    info.id = "sha256:0123";
    info.repo_tags = {name_};
    info.config = config_;
    return info;
  }
  std::string name_, rootfs_;
  ImageConfig config_;
};

}  // namespace capsule::agent::testing
