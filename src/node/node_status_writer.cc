#include "node/node_status_writer.h"

#include <spdlog/spdlog.h>

namespace capsule::node {

NodeStatusWriter::NodeStatusWriter(WriteFn write)
    : write_(std::move(write)), thread_([this] { Run(); }) {}

NodeStatusWriter::~NodeStatusWriter() { Stop(); }

void NodeStatusWriter::SetNodeState(const std::string& node_id, dispatcher::NodeState state) {
  Enqueue(node_id, dispatcher::NodeStateName(state));
}

void NodeStatusWriter::Enqueue(const std::string& node_id, const std::string& state) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    queue_.emplace_back(node_id, state);
  }
  cv_.notify_one();
}

void NodeStatusWriter::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void NodeStatusWriter::Run() {
  MutexLock lock(mu_);
  while (true) {
    cv_.wait(lock.native(),
             [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto [node_id, state] = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    Status s = write_(node_id, state);
    if (!s.ok()) spdlog::warn("recording node {} as {}: {}", node_id, state, s.ToString());
    lock.Lock();
  }
}

}  // namespace capsule::node
