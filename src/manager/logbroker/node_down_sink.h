// A NodeStatusSink (manager/dispatcher/node_status_sink.h) in front of another: a node
// reported Down (its dispatcher session expired) also ends its log subscriptions
// (LogBroker::EndNode), so a follow of a node that hangs without its streams breaking ends
// with its session. Everything is passed on unchanged. Thread-safe as the wrapped sink.
#pragma once

#include <string>

#include "manager/dispatcher/node_status_sink.h"
#include "manager/logbroker/log_broker.h"

namespace capsule::logbroker {

class NodeDownSink final : public dispatcher::NodeStatusSink {
 public:
  // Both must outlive the sink.
  NodeDownSink(dispatcher::NodeStatusSink& inner, LogBroker& broker)
      : inner_(inner), broker_(broker) {}

  void SetNodeState(const std::string& node_id, dispatcher::NodeState state) override {
    inner_.SetNodeState(node_id, state);
    if (state == dispatcher::NodeState::kDown) broker_.EndNode(node_id);
  }
  void SetNodeResources(const std::string& node_id,
                        const dispatcher::NodeResources& resources) override {
    inner_.SetNodeResources(node_id, resources);
  }

 private:
  dispatcher::NodeStatusSink& inner_;
  LogBroker& broker_;
};

}  // namespace capsule::logbroker
