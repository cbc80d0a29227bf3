// The Dispatcher service (api/capsule/dispatcher.proto) on a manager: sessions, heartbeats,
// assignments and task status reports.
//
//   Session       worker or manager certificate. Registers the node's session (the node ID
//                 comes from the certificate), reports it Ready, sends one SessionMessage
//                 (session ID, managers, heartbeat period) and keeps the stream open. A new
//                 session of the same node closes the old one (ABORTED). delivery_public_key
//                 must be 32 bytes and not of small order (crypto::ValidateDeliveryKey:
//                 zero, libsodium's blocklist, a trial X25519) → else INVALID_ARGUMENT.
//                 resources, when sent, go to the sink (SetNodeResources) before Ready; a
//                 negative value or one over node_status_sink.h's bounds → INVALID_ARGUMENT
//                 "invalid resources: ...", nothing reported.
//                 With an AssignmentSource, the next message is the node's complete assignment
//                 set and later ones carry changes (session_assignments.h); each secret is
//                 sealed for the session's delivery key (crypto/node_seal.h). One dispatcher
//                 thread, woken by the source's change notifications, computes them. A
//                 change larger than kAssignmentPartBudget is sent in parts
//                 (assignment_parts.h).
//                 The managers are the source's (AssignmentSource::Managers), else the
//                 configured ones; when the source's list changes, every open session gets a
//                 SessionMessage with the new list (and nothing else), so its node can fail
//                 over to any manager (agent/session_client.h). Every manager runs a
//                 dispatcher: a node's session may be with any of them. The node's desired
//                 role (AssignmentSource::DesiredRoleOf) is in the first message and, when it
//                 changes, in a message of its own (`node promote|demote`).
//   UpdateTaskStatus  worker or manager; see dispatcher.proto (needs a TaskStatusStore, else
//                 UNIMPLEMENTED). At most status_budget.burst updates per call (else
//                 INVALID_ARGUMENT); message/err cut to task_status_limits.h's bounds; a node
//                 over its update budget (report_budget.h) → RESOURCE_EXHAUSTED, nothing written.
//   Heartbeat     worker or manager; must name the node's open session → else NOT_FOUND.
//                 Refreshes the node's last-seen time and returns the period.
//   ListSessions  manager only: Authorizer::AuthorizeManager (a manager in the read model too).
// A node with no heartbeat for down_after_periods × heartbeat_period is reported Down and its
// stream is closed with UNAVAILABLE "node heartbeat expired" (the agent then reconnects).
// Heartbeat expiry, the expiry timer and the assignment retry all run on the injected Clock.
//
// Uses gRPC's callback API: an open session costs no thread. Thread-safe. The GrpcServer that
// serves it must be stopped before the service is destroyed.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ca/authorizer.h"
#include "capsule/dispatcher.grpc.pb.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "manager/dispatcher/assignment_source.h"
#include "manager/dispatcher/node_status_sink.h"
#include "manager/dispatcher/report_budget.h"

namespace capsule::dispatcher {

inline constexpr size_t kDeliveryPublicKeyBytes = 32;

struct DispatcherOptions {
  std::chrono::milliseconds heartbeat_period{5000};  // Docker's default
  int down_after_periods = 3;
  std::vector<ManagerAddr> managers;
  ReportBudgetOptions status_budget;  // task status updates per node (report_budget.h)
  // Told of every item sent in a session's assignments (secrets, and also configs and
  // registry credentials, which travel as AssignedSecret items): the node, the item's ID and
  // name. Runs on the assignment thread once the change is queued on the node's stream; it
  // must return quickly (the secrets audit log records deliveries through it). May be empty.
  std::function<void(const std::string& node_id, const std::string& id, const std::string& name)>
      on_sent;
};

// Where assignments come from and task status goes (both optional: without them the service
// only keeps sessions). Must outlive the service.
struct DispatcherBackends {
  AssignmentSource* assignments = nullptr;
  TaskStatusStore* task_status = nullptr;
};

// A session as the rest of the manager sees it (e.g. to seal secrets to delivery_public_key).
struct SessionSnapshot {
  std::string node_id;
  ca::NodeRole role = ca::NodeRole::kWorker;
  std::string session_id;
  std::string hostname;
  std::string delivery_public_key;
  TimePoint last_seen;
};

class DispatcherService final : public api::Dispatcher::CallbackService {
 public:
  DispatcherService(const ca::Authorizer& authorizer, NodeStatusSink& sink, const Clock& clock,
                    DispatcherOptions options, DispatcherBackends backends = {});
  ~DispatcherService() override;  // Shutdown()

  grpc::ServerWriteReactor<api::SessionMessage>* Session(grpc::CallbackServerContext* ctx,
                                                         const api::SessionRequest* req) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const api::HeartbeatRequest* req,
                                      api::HeartbeatResponse* resp) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const api::ListSessionsRequest* req,
                                         api::ListSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateTaskStatus(grpc::CallbackServerContext* ctx,
                                             const api::UpdateTaskStatusRequest* req,
                                             api::UpdateTaskStatusResponse* resp) override;

  // Starts a thread that runs CheckHeartbeats every half period of the injected clock.
  void StartExpiryTimer();
  // Reports nodes whose heartbeat expired as Down and closes their sessions.
  void CheckHeartbeats();
  // Closes node_id's session with `why` (e.g. PERMISSION_DENIED when the node was removed)
  // and forgets the node without reporting a state: the caller decides it. No-op if unknown.
  void EndSession(const std::string& node_id, const Status& why);
  // Stops the timer, closes every session with UNAVAILABLE and refuses new ones. Idempotent.
  void Shutdown();

  std::vector<SessionSnapshot> Sessions() const;  // nodes with an open session
  void SetManagers(std::vector<ManagerAddr> managers);
  // Recomputes every session's assignments now (the source's notifications do it too).
  void KickAssignments();

  struct SessionHandle;  // one open stream; see the .cc

 private:
  struct NodeEntry {
    SessionSnapshot info;
    std::shared_ptr<SessionHandle> stream;  // null once the stream ended
  };
  class SessionReactor;

  Status StartSession(grpc::CallbackServerContext* ctx, const api::SessionRequest& req,
                      std::shared_ptr<SessionHandle>* handle, api::SessionMessage* first);
  Status DoHeartbeat(grpc::CallbackServerContext* ctx, const api::HeartbeatRequest& req,
                     api::HeartbeatResponse* resp);
  void OnSessionDone(const std::shared_ptr<SessionHandle>& handle);
  std::chrono::milliseconds ExpiryAfter() const;
  Status DoUpdateTaskStatus(grpc::CallbackServerContext* ctx,
                            const api::UpdateTaskStatusRequest& req,
                            api::UpdateTaskStatusResponse* resp);
  // The assignment thread: waits for a change, then brings every session up to date.
  void RunAssignments();
  bool SendAssignments();
  // Takes the source's manager list; when it changed, sends it to every open session.
  void RefreshManagers();
  // Sends each open session whose node's desired role changed a message with the new role.
  void SendRoleChanges();

  const ca::Authorizer& authorizer_;
  NodeStatusSink& sink_;
  const Clock& clock_;
  const DispatcherOptions options_;
  const DispatcherBackends backends_;
  ReportBudget report_budget_;

  mutable Mutex mu_;
  std::map<std::string, NodeEntry> nodes_ ABSL_GUARDED_BY(mu_);  // by node ID
  std::vector<ManagerAddr> managers_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable timer_cv_;
  std::thread timer_;

  // The assignment thread and its wake-up.
  bool assignments_dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable assign_cv_;
  std::thread assigner_;
  uint64_t subscription_ = 0;
};

}  // namespace capsule::dispatcher
