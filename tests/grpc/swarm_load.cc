// swarm_load: a light load client for measuring a real manager. Joins N worker nodes with the
// worker token (real NodeCA join: CSR, certificate) and holds one Dispatcher session with
// heartbeats per node (agent::SessionClient, each with its own TLS connection) until HOLD
// seconds pass (or it is signalled). Prints "connected N" once all sessions are open.
//   swarm_load MANAGER_ADDR TOKEN N HOLD_SECONDS [--agents]
// With --agents each node runs the real agent (agent::Agent: assignments, secrets opened with
// the session's delivery key into its SecretCache, TaskWorker reporting task states through
// UpdateTaskStatus) over a simulated executor that runs no containers (sim_executor.h), and stdout
// carries one JSON line per event after "connected N": {"node":i,"event":"joined","node_id":..},
// {"node":i,"event":"secret","id":..,"task":..,"service":..,"sha":..} (a secret handed to a
// task's Prepare), {"node":i,"event":"refresh","id":..,"task":..,"sha":..,"signal":n} (a live
// refresh swapped a running task's secret), {"node":i,"event":"start","task":..}, each with
// "t_ms" (wall clock).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/agent.h"
#include "agent/session_client.h"
#include "ca/node_key.h"
#include "crypto/random.h"
#include "sim_executor.h"
#include "testing/eventually.h"
#include "transport/join_client.h"

namespace {

using capsule::agent::Agent;
using capsule::agent::SessionClient;

struct SimNode {
  std::unique_ptr<SessionClient> session;  // session-only mode
  std::unique_ptr<capsule::testing::FakeExecutor> executor;
  std::unique_ptr<Agent> agent;  // --agents mode
  bool connected() const { return agent ? agent->session().connected() : session->connected(); }
  void Stop() { agent ? agent->Stop() : session->Stop(); }
};

}  // namespace

int main(int argc, char** argv) {
  const bool agents = argc == 6 && std::strcmp(argv[5], "--agents") == 0;
  if (argc != 5 && !agents) {
    std::fprintf(stderr, "usage: swarm_load MANAGER_ADDR TOKEN N HOLD_SECONDS [--agents]\n");
    return 2;
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::warn);
  if (!capsule::crypto::InitCrypto().ok()) return 1;
  const std::string manager = argv[1];
  const std::string token = argv[2];
  const int n = std::stoi(argv[3]);
  const int hold = std::stoi(argv[4]);
  const capsule::Clock& clock = capsule::RealClock();
  capsule::loadsim::EventSink events(clock);
  std::vector<SimNode> nodes(n);
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
    config.node_id = issued->node_id;
    config.manager_addr = manager;
    config.root_ca_pem = issued->root_ca_pem;
    config.identity = {issued->cert_pem, std::move(key->key_pem)};
    config.hostname = "load-" + std::to_string(i);
    if (agents) {
      events.Emit(i, "joined", "\"node_id\":\"" + issued->node_id + "\"");
      nodes[i].executor = capsule::loadsim::NewSimExecutor(i, events, clock);
      capsule::agent::AgentOptions options;
      options.worker.poll_interval = std::chrono::seconds(2);  // nothing exits on its own
      nodes[i].agent =
          std::make_unique<Agent>(std::move(config), *nodes[i].executor, clock, options);
    } else {
      nodes[i].session = std::make_unique<SessionClient>(std::move(config), clock);
    }
  }
  auto count_up = [&nodes] {
    int up = 0;
    for (const SimNode& s : nodes) up += s.connected() ? 1 : 0;
    return up;
  };
  capsule::testing::Eventually([&] { return count_up() >= n; }, std::chrono::seconds(60),
                               std::chrono::milliseconds(50));
  const int up = count_up();
  std::printf("connected %d\n", up);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(hold));
  for (SimNode& s : nodes) s.Stop();
  return up == n ? 0 : 1;
}
