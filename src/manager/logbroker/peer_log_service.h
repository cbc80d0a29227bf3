// The serving manager's side of LogPeer.SubscribeForPeer (api/capsule/logbroker.proto): another
// manager reads one task's lines from a node whose session is here. The lines come from this
// manager's LogBroker::Read exactly as for a reader of its own (tail, since, follow, streams,
// the 1 MiB subscription queue, the idle timeout without follow, the node's end), written to
// the stream one by one; the call's end carries Read's status. Never forwarded further: a node
// whose session is not here → UNAVAILABLE.
//
// Managers only (Authorizer::AuthorizeManager: a worker's certificate, or a demoted or
// removed manager's → PERMISSION_DENIED), the one authorization check of this service.
//
// A synchronous service: each open call holds one of the swarm port's handler threads
// (GrpcServerOptions::max_threads), blocked in Write while the asking manager's reader is slow
// (flow control). Thread-safe; `authorizer` and `broker` must outlive the server serving it.
#pragma once

#include "ca/authorizer.h"
#include "capsule/logbroker.grpc.pb.h"
#include "manager/logbroker/log_broker.h"

namespace capsule::logbroker {

class PeerLogService final : public api::LogPeer::Service {
 public:
  PeerLogService(const ca::Authorizer& authorizer, LogBroker& broker)
      : authorizer_(authorizer), broker_(broker) {}

  grpc::Status SubscribeForPeer(grpc::ServerContext* ctx, const api::PeerLogsRequest* req,
                                grpc::ServerWriter<api::LogLine>* writer) override;

 private:
  const ca::Authorizer& authorizer_;
  LogBroker& broker_;
};

}  // namespace capsule::logbroker
