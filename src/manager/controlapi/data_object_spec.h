// What a create/update request of a secret or a config carries: the fields the Docker API's
// SecretSpec and ConfigSpec share (secret_spec.h and config_spec.h add theirs). Plain structs,
// so request parsing and its fuzz targets need nothing from the store.
#pragma once

#include <optional>
#include <string>

#include "common/secret_bytes.h"
#include "objects/objects.h"

namespace capsule::controlapi {

struct DataObjectSpec {
  std::string name;
  Labels labels;
  std::optional<SecretBytes> data;  // nullopt = field absent / null
  std::optional<Driver> templating;
};

}  // namespace capsule::controlapi
