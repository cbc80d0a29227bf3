// The SecretSpec of a create/update request, as the control API takes it (a plain struct, so
// request parsing and its fuzz target need nothing from the store).
#pragma once

#include <optional>
#include <string>

#include "common/secret_bytes.h"
#include "objects/objects.h"

namespace capsule::controlapi {

struct SecretSpec {
  std::string name;
  Labels labels;
  std::optional<SecretBytes> data;  // nullopt = field absent / null
  std::optional<Driver> driver;
  std::optional<Driver> templating;
};

}  // namespace capsule::controlapi
