// A node's side of the Dispatcher (api/capsule/dispatcher.proto): one Session stream to
// a manager, opened with this node's certificate, its resources and a fresh delivery key pair
// (the secrets in the assignments are sealed to it), plus heartbeats at the period the manager
// asks for.
// Assignment changes go to `on_assignments` with the session's keys, on the stream's reader
// thread, in order; a change sent in parts is handed on once, whole, when its last part is in
// (assignment_assembler.h). Every session starts with a complete assignment set.
//
// Failover: the client keeps every manager's address (ManagerList: what the dispatcher sent in
// SessionMessage.managers, first and whenever it changes, handed to `on_managers` to be kept on
// disk). When a dial fails (refused, or no connection within connect_timeout), the stream
// breaks or a heartbeat fails, that manager loses weight and the next dial goes, after only
// switch_delay, to another manager not yet tried since the last good session; once every
// known manager failed in a row, the client waits its backoff (min_backoff doubling up to
// max_backoff) before the next round. A renewed certificate (SetIdentity) reconnects to the
// same manager at once. Heartbeat periods and reconnect waits are waited on the injected Clock;
// RPC deadlines and the connect timeout are gRPC's own (real time). Runs on its own threads.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/manager_list.h"
#include "capsule/dispatcher.pb.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "crypto/node_seal.h"
#include "transport/channels.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace capsule::agent {

// The keys of one session: what a sealed secret in its assignments opens with.
struct SessionKeys {
  const crypto::DeliveryKeyPair& keys;
  const std::string& node_id;
  const std::string& session_id;
};

using AssignmentsFn =
    std::function<void(const api::AssignmentChanges& changes, const SessionKeys& keys)>;

using ManagersFn = std::function<void(const std::vector<RemoteManager>& managers)>;

struct SessionConfig {
  std::string node_id;       // this node (the secrets' associated data names it)
  std::string manager_addr;  // ip:port of the manager's swarm port dialled first
  // Other managers known before the first session (the list kept on disk), in order of
  // preference; tried when manager_addr fails.
  std::vector<RemoteManager> other_managers;
  std::string root_ca_pem;  // the pinned swarm root
  transport::ClientIdentity identity;
  std::string hostname;
  // What this node offers tasks (its Description.Resources), sent at every session start
  // (the manager stores it on the node object); nullopt = not sent.
  std::optional<api::NodeResources> resources;
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  // The pause before dialling another manager after one failed.
  std::chrono::milliseconds switch_delay{50};
  // A manager whose connection is not up within this is given up (a dead host, a black hole)
  // when another manager is known (with only one, 20 s: nowhere else to go).
  std::chrono::milliseconds connect_timeout{3000};
  AssignmentsFn on_assignments;  // may be empty (assignments are then ignored)
  // Called with the managers (the current one first) at every session start and whenever the
  // dispatcher sends a changed list; calls never overlap. May be empty.
  ManagersFn on_managers;
};

class SessionClient {
 public:
  // Starts the session thread at once. `clock` must outlive the client.
  SessionClient(SessionConfig config, const Clock& clock);
  ~SessionClient();  // Stop()
  SessionClient(const SessionClient&) = delete;
  SessionClient& operator=(const SessionClient&) = delete;

  // Ends the session (the stream is cancelled; the manager notices) and joins the thread.
  // Idempotent.
  void Stop();

  // The managers known (the last list a dispatcher sent; the configured ones until then), the
  // current manager first.
  std::vector<RemoteManager> Managers() const;
  // The role the swarm wants this node to have, as a dispatcher last said
  // (SessionMessage.node_role: "manager" | "worker"); "" until one said it.
  std::string DesiredRole() const;
  // The manager of the open session, or the one being dialled.
  std::string CurrentManager() const;
  bool connected() const { return connected_.load(); }
  // The open session's channel (null when no session is open), for other services on the
  // same connection (the log publisher).
  std::shared_ptr<grpc::Channel> SessionChannel() const;

  // Sends task status reports over the open session's channel. Unavailable when no session is
  // open. OK = settled (refused updates are logged and dropped).
  Status UpdateTaskStatus(const api::UpdateTaskStatusRequest& req);

  // Uses `identity` from now on (a renewed certificate): the open session, if any, is closed
  // and reopened with it at once.
  void SetIdentity(transport::ClientIdentity identity);
  // Pins another swarm root from the next connection on (a finished root rotation: the open
  // session stays, its manager was verified already).
  void SetRootCa(std::string root_ca_pem);

 private:
  void Run();
  // One session with `addr`, until it fails or Stop(). OK only when stopped. `opened` is set
  // once the manager's first message arrived.
  Status RunSession(const std::string& addr, bool* opened);
  // Until `channel` is connected: Unavailable when the manager refuses or connect_timeout
  // passes, Cancelled on Stop().
  Status Connect(grpc::Channel& channel, const std::string& addr);
  // Takes the managers a dispatcher sent; calls on_managers when the list changed or `always`.
  void TakeManagers(const google::protobuf::RepeatedPtrField<api::ManagerInfo>& sent, bool always);
  void TakeRole(const std::string& role);  // a non-empty SessionMessage.node_role
  // Waits `d`; false when stopped or a reconnect was asked for (SetIdentity) meanwhile.
  bool Sleep(std::chrono::milliseconds d);

  const SessionConfig config_;
  const Clock& clock_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool reconnect_ ABSL_GUARDED_BY(mu_) = false;  // SetIdentity asked for it
  transport::ClientIdentity identity_ ABSL_GUARDED_BY(mu_);
  std::string root_ca_pem_ ABSL_GUARDED_BY(mu_);  // config_.root_ca_pem, then SetRootCa's
  grpc::ClientContext* stream_ctx_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open stream's context
  ManagerList managers_ ABSL_GUARDED_BY(mu_);
  std::string current_addr_ ABSL_GUARDED_BY(mu_);
  std::string desired_role_ ABSL_GUARDED_BY(mu_);
  Mutex notify_mu_;  // serializes on_managers calls (each with the list of its moment)
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);  // the open session's channel
  bool stream_ended_ ABSL_GUARDED_BY(mu_) = false;               // the reader saw the end
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace capsule::agent
