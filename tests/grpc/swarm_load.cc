// swarm_load: a light load client for measuring a real manager. Joins N worker nodes with the
// worker token (real NodeCA join: CSR, certificate) and holds one Dispatcher session with
// heartbeats per node (agent::SessionClient, each with its own TLS connection) until stdin
// closes or HOLD seconds pass. Prints "connected N" once all sessions are open.
//   swarm_load MANAGER_ADDR TOKEN N HOLD_SECONDS
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/session_client.h"
#include "ca/node_key.h"
#include "crypto/random.h"
#include "transport/join_client.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: swarm_load MANAGER_ADDR TOKEN N HOLD_SECONDS\n");
    return 2;
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::warn);
  if (!capsule::crypto::InitCrypto().ok()) return 1;
  const std::string manager = argv[1];
  const std::string token = argv[2];
  const int n = std::stoi(argv[3]);
  const int hold = std::stoi(argv[4]);
  std::vector<std::unique_ptr<capsule::agent::SessionClient>> sessions;
  for (int i = 0; i < n; ++i) {
    capsule::StatusOr<capsule::ca::NodeKeyAndCsr> key = capsule::ca::GenerateNodeKey();
    if (!key.ok()) return 1;
    capsule::StatusOr<capsule::transport::IssuedCertificate> issued = capsule::transport::JoinSwarm(
        manager, token, key->csr_pem, "load-" + std::to_string(i), "");
    if (!issued.ok()) {
      std::fprintf(stderr, "join %d: %s\n", i, issued.status().ToString().c_str());
      return 1;
    }
    capsule::agent::SessionConfig config;
    config.manager_addr = manager;
    config.root_ca_pem = issued->root_ca_pem;
    config.identity = {issued->cert_pem, std::move(key->key_pem)};
    config.hostname = "load-" + std::to_string(i);
    sessions.push_back(std::make_unique<capsule::agent::SessionClient>(std::move(config)));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int up = 0;
    for (const auto& s : sessions) up += s->connected() ? 1 : 0;
    if (up == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int up = 0;
  for (const auto& s : sessions) up += s->connected() ? 1 : 0;
  std::printf("connected %d\n", up);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(hold));
  for (auto& s : sessions) s->Stop();
  return up == n ? 0 : 1;
}
