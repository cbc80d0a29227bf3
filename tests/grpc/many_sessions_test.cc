// Many nodes at once: open sessions cost no server thread each (gRPC callback API).
#include <fstream>
#include <iostream>
#include <string>

#include "grpc_test_env.h"
#include "session_util.h"

namespace capsule::grpctest {
namespace {

// A field of /proc/self/status ("Threads", "VmRSS"), as its leading number.
long ProcStatus(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

using ManySessionsTest = GrpcTestEnv;

TEST_F(ManySessionsTest, HundredNodesHoldSessionsWithoutAThreadEach) {
  constexpr int kNodes = 100;
  std::vector<TestNode> nodes;
  for (int i = 0; i < kNodes; ++i) nodes.push_back(MakeNode(ca::NodeRole::kWorker));
  // Warm up gRPC's own threads with one session first.
  auto warm = OpenSession(Channel(&nodes[0]));
  ASSERT_TRUE(warm->got_first);
  long threads_before = ProcStatus("Threads");
  long rss_before = ProcStatus("VmRSS");

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<ClientSession>> sessions;
  for (int i = 1; i < kNodes; ++i) {
    channels.push_back(Channel(&nodes[i]));
    sessions.push_back(OpenSession(channels.back()));
    ASSERT_TRUE(sessions.back()->got_first) << i;
  }
  for (int i = 1; i < kNodes; ++i) {
    ASSERT_TRUE(Heartbeat(channels[i - 1], sessions[i - 1]->first.session_id()).ok()) << i;
  }
  EXPECT_EQ(dispatcher_->Sessions().size(), static_cast<size_t>(kNodes));
  for (const TestNode& n : nodes) EXPECT_EQ(sink_.StateOf(n.node_id), "ready");

  long threads_after = ProcStatus("Threads");
  long rss_after = ProcStatus("VmRSS");
  // A thread per stream would add ~99; gRPC's pools may grow a little.
  EXPECT_LT(threads_after - threads_before, 40)
      << "threads " << threads_before << " -> " << threads_after;
  std::cout << "[figures] " << kNodes << " sessions (client and server in one process): threads "
            << threads_before << " -> " << threads_after << ", VmRSS " << rss_before << " kB -> "
            << rss_after << " kB\n";
}

}  // namespace
}  // namespace capsule::grpctest
