#include "node/task_image_users.h"

#include <algorithm>

namespace capsule::node {

std::vector<agent::ImageUse> TaskImageUsers::Uses() const {
  const agent::Executor* executor = executor_.load();
  if (executor == nullptr) return {};
  std::vector<agent::ImageUse> uses;
  for (const std::string& id : executor->Known()) {
    // A task removed meanwhile (NotFound) uses nothing any more.
    StatusOr<std::string> image = executor->ImageOf(id);
    if (!image.ok()) continue;
    StatusOr<agent::RunStatus> status = executor->Inspect(id);
    if (!status.ok()) continue;
    agent::ImageUse use;
    use.image = *image;
    use.container_id = status->container_id.empty() ? id : status->container_id;
    use.running = status->state == agent::RunStatus::State::kRunning;
    uses.push_back(std::move(use));
  }
  std::stable_partition(uses.begin(), uses.end(),
                        [](const agent::ImageUse& u) { return u.running; });
  return uses;
}

}  // namespace capsule::node
