// Reading the body of POST /secrets/create and /secrets/{id}/update into a SecretSpec (and of
// /configs/create and /configs/{id}/update into a ConfigSpec: the same shape without Driver), with
// the engine's exact decoding errors (Go's json.Decoder and type errors, all InvalidArgument).
// Validation (name rules, data size, drivers) is the control API's.
#pragma once

#include <string>

#include "common/status.h"
#include "manager/controlapi/config_spec.h"
#include "manager/controlapi/secret_spec.h"

namespace capsule::dockerapi {

// Data is decoded straight into SecretBytes and the base64 text inside the parsed JSON is
// wiped; an invalid base64 Data → InvalidArgument "illegal base64 data at input byte N".
StatusOr<controlapi::SecretSpec> ParseSecretSpec(const std::string& body);
// The same for a config ("Go struct field ConfigSpec.<f>" in type errors).
StatusOr<controlapi::ConfigSpec> ParseConfigSpec(const std::string& body);

}  // namespace capsule::dockerapi
