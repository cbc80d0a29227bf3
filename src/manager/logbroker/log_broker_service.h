// The LogBroker gRPC service (api/capsule/logbroker.proto) on a manager's swarm port: the
// node's side of LogBroker (log_broker.h).
//
//   ListenSubscriptions  worker or manager certificate; the node ID comes from it. Registers
//                        the stream with the broker (Listen) until the node cancels it or
//                        Shutdown (UNAVAILABLE); subscription messages are written one at a
//                        time, in order.
//   PublishLogs          worker or manager certificate. Each message goes to
//                        LogBroker::Publish; a refused one ends the call with the broker's
//                        code (PERMISSION_DENIED, NOT_FOUND). While the subscription's queue is
//                        full the next message is not read (flow control).
//
// Uses gRPC's callback API: an open stream costs no thread. Thread-safe. The GrpcServer that
// serves it must be stopped before the service is destroyed; `broker` must outlive it.
#pragma once

#include <grpcpp/support/server_callback.h>

#include "ca/authorizer.h"
#include "capsule/logbroker.grpc.pb.h"
#include "manager/logbroker/log_broker.h"

namespace capsule::logbroker {

class LogBrokerService final : public api::LogBroker::CallbackService {
 public:
  LogBrokerService(const ca::Authorizer& authorizer, LogBroker& broker);

  grpc::ServerWriteReactor<api::SubscriptionMessage>* ListenSubscriptions(
      grpc::CallbackServerContext* ctx, const api::ListenSubscriptionsRequest* req) override;
  grpc::ServerReadReactor<api::PublishLogsMessage>* PublishLogs(
      grpc::CallbackServerContext* ctx, api::PublishLogsResponse* resp) override;

  // Ends every open ListenSubscriptions stream (UNAVAILABLE) and refuses new ones. The broker
  // is shut down by its owner. Idempotent.
  void Shutdown();

  struct ListenHandle;  // see the .cc

 private:
  const ca::Authorizer& authorizer_;
  LogBroker& broker_;
  Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::shared_ptr<ListenHandle>> listens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace capsule::logbroker
