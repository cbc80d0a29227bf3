// ManagerStatus.Leader on the node objects, written by the elected leader through its fenced
// store (a manager that is no longer the leader cannot mark itself: the write is refused).
// `docker node ls` then shows "Leader" on the elected manager and "Reachable" on the others.
//
// The leader's own node object is written at the start of every term, changed or not: that
// write's revision is above the term's start (the leader key's creation), and every write of an
// earlier leader is below it (its fence fails from then on), so once the read model has applied
// it, it holds every decision of every earlier leader. Leader work starts from there.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

// Writes `self`'s node object with Leader set (a write that lost a race is read and tried
// again; a missing object — swarm init still creating it — is waited for), then waits until the
// read model has applied it. Returns its revision; FailedPrecondition if the store refused it
// (not the leader any more); Cancelled once `stop()` is true.
StatusOr<int64_t> MarkSelfLeader(store::Store& store, const store::ReadModel& reads,
                                 const std::string& self, const std::function<bool()>& stop);

// Clears Leader on every other node object (bounded retries; the flag is cosmetic).
Status ClearOtherLeaders(store::Store& store, const store::ReadModel& reads,
                         const std::string& self, const std::function<bool()>& stop);

}  // namespace capsule::node
