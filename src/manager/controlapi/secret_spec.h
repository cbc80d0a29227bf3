// The SecretSpec of a create/update request, as the control API takes it.
#pragma once

#include <optional>

#include "manager/controlapi/data_object_spec.h"

namespace capsule::controlapi {

struct SecretSpec : DataObjectSpec {
  std::optional<Driver> driver;
};

}  // namespace capsule::controlapi
