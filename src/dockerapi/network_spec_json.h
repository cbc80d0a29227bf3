// Reading the body of POST /networks/create into a NetworkCreateRequest, with the engine's
// decoding errors (Go's json.Decoder and type errors against types.NetworkCreateRequest, all
// InvalidArgument). Validation and allocation are the control API's (controlapi/network.h).
#pragma once

#include <string>

#include "common/status.h"
#include "manager/controlapi/network_spec.h"

namespace capsule::dockerapi {

StatusOr<controlapi::NetworkCreateRequest> ParseNetworkCreate(const std::string& body);

}  // namespace capsule::dockerapi
