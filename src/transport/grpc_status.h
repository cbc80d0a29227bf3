// absl::Status <-> grpc::Status at the gRPC edge. The numeric codes are the same (both follow
// google.rpc.Code), so the mapping is direct; messages are kept.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace capsule::transport {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace capsule::transport
