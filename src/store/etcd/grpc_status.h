// gRPC status → capsule Status, at the edge of the etcd client. Internal to src/store/etcd.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "common/status.h"

namespace capsule::etcd {

// Maps the code 1:1 (the numeric codes of gRPC and absl are the same set) and prefixes the
// message with the call name: "etcd Range: etcdserver: request timed out". etcd's and
// gRPC's messages carry no keys' values.
Status FromGrpcStatus(const grpc::Status& status, const std::string& call);

}  // namespace capsule::etcd
