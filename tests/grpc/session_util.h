// Opening a Dispatcher session from a test client.
#pragma once

#include <grpcpp/client_context.h>

#include <memory>
#include <optional>
#include <string>

#include "capsule/dispatcher.grpc.pb.h"

namespace capsule::grpctest {

struct ClientSession {
  std::unique_ptr<api::Dispatcher::Stub> stub;
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<api::SessionMessage>> reader;
  api::SessionMessage first;
  bool got_first = false;

  // After the stream ended (Read returned false): its status.
  grpc::Status Finish() { return reader->Finish(); }
  ~ClientSession() {
    if (ctx) ctx->TryCancel();
  }
};

// Opens a session (with `resources` when given) and reads the first message (got_first false
// when refused).
inline std::unique_ptr<ClientSession> OpenSession(
    std::shared_ptr<grpc::Channel> channel, std::string key = std::string(32, 'k'),
    std::optional<api::NodeResources> resources = std::nullopt) {
  auto s = std::make_unique<ClientSession>();
  s->stub = api::Dispatcher::NewStub(channel);
  s->ctx = std::make_unique<grpc::ClientContext>();
  s->ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  api::SessionRequest req;
  req.set_hostname("test-host");
  req.set_delivery_public_key(key);
  if (resources) *req.mutable_resources() = *resources;
  s->reader = s->stub->Session(s->ctx.get(), req);
  s->got_first = s->reader->Read(&s->first);
  return s;
}

inline grpc::Status Heartbeat(std::shared_ptr<grpc::Channel> channel, const std::string& session_id,
                              api::HeartbeatResponse* resp = nullptr) {
  auto stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  api::HeartbeatRequest req;
  req.set_session_id(session_id);
  api::HeartbeatResponse local;
  return stub->Heartbeat(&ctx, req, resp ? resp : &local);
}

inline grpc::Status ListSessions(std::shared_ptr<grpc::Channel> channel,
                                 api::ListSessionsResponse* resp = nullptr) {
  auto stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  api::ListSessionsResponse local;
  return stub->ListSessions(&ctx, {}, resp ? resp : &local);
}

}  // namespace capsule::grpctest
