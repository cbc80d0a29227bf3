// The orchestrator's network step (swarmkit's allocator, for addresses only): once per pass,
// before scheduling,
//   - every service gets one virtual IP per attached network (Endpoint.VirtualIPs; none in
//     dnsrr mode), kept while the network stays attached;
//   - every task that is not dead and not yet attached gets one address per network of its
//     service (NetworksAttachments, with a copy of the network object). A task whose address
//     cannot be allocated (pool exhausted) stays NEW and unscheduled — as on Docker — and is
//     tried again on later passes;
//   - an address is free again once its task is dead (desired state and observed state both
//     past RUNNING, swarmkit's taskDead) or deleted, and once its service is gone.
// Networks that no longer exist are skipped (a task is not held back by them). Addresses are
// computed from the pass's working set, so allocations never collide as long as one
// orchestrator (the leader's) writes them. Not thread-safe.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "manager/orchestrator/working_set.h"
#include "objects/service.h"
#include "store/read_model.h"

namespace capsule::orchestrator {

// A service's networks as its tasks get them: TaskTemplate.Networks, else the deprecated
// ServiceSpec.Networks; each network once, in order.
std::vector<NetworkAttachmentConfig> EffectiveNetworks(const ServiceSpec& spec);

// swarmkit's taskDead: its addresses may be handed out again.
bool TaskDead(const Task& t);

// Runs the step on `ws`; returns the IDs of the tasks left waiting for an address.
std::set<std::string> AllocateNetworks(WorkingSet& ws,
                                       const std::vector<store::NetworkEntry>& networks,
                                       TimePoint now);

}  // namespace capsule::orchestrator
