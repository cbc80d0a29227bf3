#include "manager/dispatcher/node_status_sink.h"

namespace capsule::dispatcher {

const char* NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kReady:
      return "ready";
    case NodeState::kDown:
      return "down";
  }
  return "unknown";
}

}  // namespace capsule::dispatcher
