// Which images this node's tasks are built on, so that removing an image refuses (as Docker
// does for the containers using it) to pull the rootfs from under a task. The node implements
// it over its executor (src/node/task_image_users.h); the image store asks it in Remove.
// Implementations are thread-safe and never call back into the image store.
#pragma once

#include <string>
#include <vector>

namespace capsule::agent {

// One task (Docker: one container) and the image its rootfs is an overlay on.
struct ImageUse {
  // "sha256:<hex>"; for a task prepared before image IDs were recorded, the reference its
  // spec named (the store resolves it).
  std::string image;
  std::string container_id;  // as the task's ContainerStatus reports it
  bool running = false;      // its process runs (else prepared, not started yet, or exited)
};

class ImageUsers {
 public:
  virtual ~ImageUsers() = default;
  // Every task on this node that has a rootfs (prepared, running, or exited and not yet
  // removed), running ones first.
  virtual std::vector<ImageUse> Uses() const = 0;
};

}  // namespace capsule::agent
