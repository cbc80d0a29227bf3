#include "node/node_status_writer.h"

#include <spdlog/spdlog.h>

namespace capsule::node {

NodeStatusWriter::NodeStatusWriter(WriteFn write, WriteResourcesFn write_resources)
    : write_(std::move(write)),
      write_resources_(std::move(write_resources)),
      thread_([this] { Run(); }) {}

NodeStatusWriter::~NodeStatusWriter() { Stop(); }

void NodeStatusWriter::SetNodeState(const std::string& node_id, dispatcher::NodeState state) {
  Enqueue(node_id, dispatcher::NodeStateName(state));
}

void NodeStatusWriter::SetNodeResources(const std::string& node_id,
                                        const dispatcher::NodeResources& resources) {
  if (!write_resources_) return;
  Push({node_id, "", resources});
}

void NodeStatusWriter::Enqueue(const std::string& node_id, const std::string& state) {
  Push({node_id, state, std::nullopt});
}

void NodeStatusWriter::Push(Pending p) {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(p));
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

void NodeStatusWriter::Write(const Pending& p) {
  if (p.resources) {
    Status s = write_resources_(p.node_id, *p.resources);
    if (!s.ok()) spdlog::warn("recording node {}'s resources: {}", p.node_id, s.ToString());
    return;
  }
  Status s = write_(p.node_id, p.state);
  if (!s.ok()) spdlog::warn("recording node {} as {}: {}", p.node_id, p.state, s.ToString());
}

void NodeStatusWriter::Run() {
  MutexLock lock(mu_);
  while (true) {
    cv_.wait(lock.native(),
             [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    Write(p);
    lock.Lock();
  }
}

}  // namespace capsule::node
