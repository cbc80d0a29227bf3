// The images this node's tasks use (agent::ImageUsers), read from its executor: every task the
// executor has on disk, its image and whether it runs. The image store asks it before removing
// an image (`docker image rm`), so an image a task is built on is refused as Docker refuses one
// a container uses.
//
// The executor is built after the image store (it reads images from it), so it is attached
// once built; until then no task uses any image. Thread-safe.
#pragma once

#include <atomic>
#include <vector>

#include "agent/executor/executor.h"
#include "agent/images/image_users.h"

namespace capsule::node {

class TaskImageUsers : public agent::ImageUsers {
 public:
  // `executor` must outlive this object. Once.
  void Attach(const agent::Executor& executor) { executor_.store(&executor); }

  std::vector<agent::ImageUse> Uses() const override;

 private:
  std::atomic<const agent::Executor*> executor_{nullptr};
};

}  // namespace capsule::node
