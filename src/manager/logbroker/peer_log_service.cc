#include "manager/logbroker/peer_log_service.h"

#include <spdlog/spdlog.h>

#include "transport/grpc_status.h"

namespace capsule::logbroker {

grpc::Status PeerLogService::SubscribeForPeer(grpc::ServerContext* ctx,
                                              const api::PeerLogsRequest* req,
                                              grpc::ServerWriter<api::LogLine>* writer) {
  // A demoted or removed manager's old certificate is refused too (ca/manager_check.h).
  StatusOr<ca::PeerIdentity> who = authorizer_.AuthorizeManager(*ctx);
  if (!who.ok()) return transport::ToGrpcStatus(who.status());
  if (req->node_id().empty() || req->task_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node_id and task_id are required");
  }
  spdlog::debug("log peer: manager {} reads task {} of node {}", who->node_id, req->task_id(),
                req->node_id());
  Status s = broker_.Read(
      req->node_id(), req->task_id(), req->selector(), [ctx] { return ctx->IsCancelled(); },
      [writer](const api::LogLine& line) { return writer->Write(line); });
  return transport::ToGrpcStatus(s);
}

}  // namespace capsule::logbroker
