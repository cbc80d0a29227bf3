// The asking manager's side of LogPeer.SubscribeForPeer (api/capsule/logbroker.proto): reads one
// task's lines through the manager that holds the task's node's session, over mutual TLS with
// this manager's certificate (the server admits manager certificates only). Fits
// RoutedLogReader's PeerLogRead (routed_log_reader.h).
//
// Read makes a fresh channel per call (credentials are re-read each time, so a renewed
// certificate or a rotated root is used at once) and calls `sink` for each line as it comes
// (a slow sink holds the stream: gRPC's flow control pushes back to the serving manager, whose
// 1 MiB subscription queue pushes back to the node). It ends:
//   OK                 the node closed the subscription, `sink` returned false, or
//                      `cancelled()` turned true (polled every `poll_period`);
//   DEADLINE_EXCEEDED  without follow, nothing arrived for `idle_timeout` (a hung peer
//                      manager; the serving manager's own 5 s rule answers first for a hung
//                      node) — after the lines that did arrive;
//   else               the serving manager's code (UNAVAILABLE: the node has no session there
//                      or its stream ended; the manager is unreachable; PERMISSION_DENIED).
// Thread-safe; waits go through the injected Clock.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "capsule/logbroker.pb.h"
#include "common/clock.h"
#include "common/status.h"
#include "transport/channels.h"

namespace capsule::logbroker {

struct PeerCredentials {
  std::string root_ca_pem;
  transport::ClientIdentity identity;  // this manager's certificate and key
};

struct PeerLogClientOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(7)};
  std::chrono::milliseconds poll_period{std::chrono::milliseconds(250)};
};

class PeerLogClient {
 public:
  using CredentialsFn = std::function<StatusOr<PeerCredentials>()>;
  // `clock` must outlive the client.
  PeerLogClient(CredentialsFn credentials, const Clock& clock, PeerLogClientOptions options = {});

  Status Read(const std::string& manager_addr, const std::string& node_id,
              const std::string& task_id, const api::LogSelector& selector,
              const std::function<bool()>& cancelled,
              const std::function<bool(const api::LogLine&)>& sink) const;

 private:
  const CredentialsFn credentials_;
  const Clock& clock_;
  const PeerLogClientOptions options_;
};

}  // namespace capsule::logbroker
