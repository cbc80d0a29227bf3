// A manager's swarm port for tests: a fresh root CA, the manager's certificate files in a temp
// dir, a GrpcServer on 127.0.0.1:<free port> serving NodeCA and Dispatcher with fake
// collaborators (tokens, registry, removed set, node states) and a fake clock for the
// dispatcher (its heartbeat expiry, expiry timer and assignment retry). Real TLS, real sockets.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ca/authorizer.h"
#include "ca/root_ca.h"
#include "ca/signing_ca.h"
#include "manager/caserver/node_ca_service.h"
#include "manager/dispatcher/dispatcher_service.h"
#include "testing/fake_clock.h"
#include "transport/channels.h"
#include "transport/grpc_server.h"

namespace capsule::grpctest {

class FakeTokens : public caserver::TokenSource {
 public:
  caserver::JoinTokens CurrentTokens() const override {
    std::lock_guard<std::mutex> lock(mu);
    return tokens;
  }
  mutable std::mutex mu;
  caserver::JoinTokens tokens;
};

class FakeRegistry : public caserver::NodeRegistry {
 public:
  Status Register(const caserver::NewNode& node) override {
    std::lock_guard<std::mutex> lock(mu);
    nodes.push_back(node);
    return absl::OkStatus();
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return nodes.size();
  }
  std::optional<caserver::RenewalFacts> RenewalOf(const std::string& node_id) const override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = renewals.find(node_id);
    if (it == renewals.end()) return std::nullopt;
    return it->second;
  }
  mutable std::mutex mu;
  std::vector<caserver::NewNode> nodes;
  std::map<std::string, caserver::RenewalFacts> renewals;  // RenewalOf (none: the cert's role)
};

class FakeSink : public dispatcher::NodeStatusSink {
 public:
  void SetNodeState(const std::string& node_id, dispatcher::NodeState state) override {
    std::lock_guard<std::mutex> lock(mu);
    states[node_id] = state;
    history.push_back(node_id + ":" + dispatcher::NodeStateName(state));
  }
  void SetNodeResources(const std::string& node_id, const dispatcher::NodeResources& r) override {
    std::lock_guard<std::mutex> lock(mu);
    resources[node_id] = r;
    history.push_back(node_id + ":resources " + std::to_string(r.nano_cpus) + " " +
                      std::to_string(r.memory_bytes));
  }
  std::string StateOf(const std::string& node_id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = states.find(node_id);
    return it == states.end() ? "none" : dispatcher::NodeStateName(it->second);
  }
  std::mutex mu;
  std::map<std::string, dispatcher::NodeState> states;
  std::map<std::string, dispatcher::NodeResources> resources;
  std::vector<std::string> history;
};

// A node identity issued directly by a CA (bypassing join), for hostile-client tests.
struct TestNode {
  std::string node_id;
  transport::ClientIdentity identity;
};

class GrpcTestEnv : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the server (SetUp does it with the defaults; tests may Restart with other options).
  void StartServer();
  void StopServer();

  // A certificate for a new node signed by `root` (default: this swarm's) for `cluster`.
  TestNode MakeNode(ca::NodeRole role, const ca::RootCa* root = nullptr,
                    const std::string& cluster = "");
  std::shared_ptr<grpc::Channel> Channel(const TestNode* node);  // verified against our root

  std::string dir_;
  std::unique_ptr<ca::RootCa> root_;
  std::unique_ptr<ca::SigningCa> signing_;  // root_ as the NodeCA signs with it
  std::string cluster_id_ = "testcluster1";
  std::string manager_id_;
  transport::ServerTlsFiles files_;
  testing::FakeClock fake_clock_;
  FakeTokens tokens_;
  FakeRegistry registry_;
  FakeSink sink_;
  std::mutex removed_mu_;
  std::set<std::string> removed_;
  // Node objects' roles for manager-only calls (guarded by removed_mu_): a node not listed
  // here (nor removed) is a manager in the store; the certificate's role is checked first.
  std::map<std::string, ca::StoreRoles> store_roles_;
  std::unique_ptr<ca::Authorizer> authorizer_;
  dispatcher::DispatcherOptions dispatcher_options_;
  dispatcher::DispatcherBackends dispatcher_backends_;  // none unless a test sets them
  std::unique_ptr<caserver::NodeCaService> ca_service_;
  std::unique_ptr<dispatcher::DispatcherService> dispatcher_;
  transport::GrpcServerOptions server_options_;  // StartServer sets address, TLS and refresh
  std::unique_ptr<transport::GrpcServer> server_;
  std::string addr_;
};

}  // namespace capsule::grpctest
