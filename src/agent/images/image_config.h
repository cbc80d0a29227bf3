// Image configuration JSON (Docker's image config: "config", "created", "rootfs", ...) and
// the Dockerfile change lines `docker import --change` sends.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/images/image_store.h"
#include "common/clock.h"
#include "common/status.h"

namespace capsule::agent {

// Applies "ENV K=V ...", "CMD ...", "ENTRYPOINT ...", "WORKDIR d", "USER u", "LABEL k=v ..."
// (exec form ["a","b"] or shell form). InvalidArgument "<X> is not a valid change command"
// for other instructions, and for malformed lines.
Status ApplyChanges(const std::vector<std::string>& changes, ImageConfig* config);

// Docker's container config of an image ("Config" in image inspect and in the stored config).
nlohmann::json ContainerConfigJson(const ImageConfig& config);

// The config written for `docker import`; the image ID is the sha256 of these bytes.
std::string ImportConfigJson(const ImageConfig& config, TimePoint created,
                             const std::string& diff_id, const std::string& comment);

struct ParsedConfig {
  ImageConfig config;
  TimePoint created{};
  std::string comment;
  std::vector<std::string> layers;  // rootfs.diff_ids
};

// Reads an image config (ours or one from a `docker save` archive).
StatusOr<ParsedConfig> ParseConfigJson(const std::string& json);

}  // namespace capsule::agent
