#include "node/node_status_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace capsule::node {
namespace {

TEST(NodeStatusWriterTest, WritesTransitionsInOrderOffTheCallersThread) {
  std::mutex mu;
  std::vector<std::string> written;
  std::thread::id writer_thread;
  {
    NodeStatusWriter writer([&](const std::string& id, const std::string& state) {
      std::lock_guard<std::mutex> lock(mu);
      writer_thread = std::this_thread::get_id();
      written.push_back(id + "=" + state);
      return absl::OkStatus();
    });
    writer.SetNodeState("a", dispatcher::NodeState::kReady);
    writer.SetNodeState("b", dispatcher::NodeState::kReady);
    writer.SetNodeState("a", dispatcher::NodeState::kDown);
    writer.Enqueue("b", "down");
    writer.Stop();  // flushes what is queued
  }
  EXPECT_EQ(written, (std::vector<std::string>{"a=ready", "b=ready", "a=down", "b=down"}));
  EXPECT_NE(writer_thread, std::this_thread::get_id());
}

TEST(NodeStatusWriterTest, ResourcesAreWrittenInOrderWithTheStates) {
  std::vector<std::string> written;  // only the writer's thread appends; read after Stop
  {
    NodeStatusWriter writer(
        [&](const std::string& id, const std::string& state) {
          written.push_back(id + "=" + state);
          return absl::OkStatus();
        },
        [&](const std::string& id, const dispatcher::NodeResources& r) {
          written.push_back(id + " cpus=" + std::to_string(r.nano_cpus) +
                            " mem=" + std::to_string(r.memory_bytes));
          return absl::OkStatus();
        });
    writer.SetNodeResources("a", {2'000'000'000, 4096});
    writer.SetNodeState("a", dispatcher::NodeState::kReady);
    writer.Stop();
  }
  EXPECT_EQ(written, (std::vector<std::string>{"a cpus=2000000000 mem=4096", "a=ready"}));
}

TEST(NodeStatusWriterTest, ResourcesAreDroppedWithoutAResourcesWriter) {
  std::vector<std::string> written;
  NodeStatusWriter writer([&](const std::string& id, const std::string& state) {
    written.push_back(id + "=" + state);
    return absl::OkStatus();
  });
  writer.SetNodeResources("a", {1, 1});
  writer.SetNodeState("a", dispatcher::NodeState::kReady);
  writer.Stop();
  EXPECT_EQ(written, (std::vector<std::string>{"a=ready"}));
}

TEST(NodeStatusWriterTest, ASlowOrFailingWriteDoesNotBlockTheCaller) {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  NodeStatusWriter writer([&](const std::string&, const std::string&) {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++calls;
    return absl::UnavailableError("etcd down");
  });
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) writer.SetNodeState("n", dispatcher::NodeState::kDown);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(calls.load(), 0);
  release = true;
  writer.Stop();
  EXPECT_EQ(calls.load(), 100);
}

TEST(NodeStatusWriterTest, NothingIsQueuedAfterStop) {
  int calls = 0;
  NodeStatusWriter writer([&](const std::string&, const std::string&) {
    ++calls;
    return absl::OkStatus();
  });
  writer.Stop();
  writer.SetNodeState("n", dispatcher::NodeState::kReady);
  writer.Stop();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace capsule::node
