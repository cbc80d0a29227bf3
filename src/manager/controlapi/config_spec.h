// The ConfigSpec of a create/update request, as the control API takes it: a SecretSpec
// without Driver. Its data is held as a secret's is: Capsule treats configs as secret-grade
// in memory and in the store.
#pragma once

#include "manager/controlapi/data_object_spec.h"

namespace capsule::controlapi {

struct ConfigSpec : DataObjectSpec {};

}  // namespace capsule::controlapi
