// Fencing of leader writes (issue 12 part 3). The leader's store writes go through a fenced
// view of the etcd store (store/etcd_store.h: NewFencedStore): each write carries a compare on
// the leadership this manager won, in the same Txn as the write's own compares, so it applies
// only while that leadership holds. A write whose fence fails writes nothing and answers
// FailedPrecondition with kNotLeaderMessage (the one store error beyond store.h's list).
#pragma once

#include <cstdint>
#include <string>

namespace capsule::store {

// The leadership a fenced write is conditioned on: the etcd key `key` (not an object key)
// still has create_revision `create_revision` — the leader key as this manager created it when
// it won the election (manager/election/elector.h). Once the key expired, was deleted or was
// created again by another manager, the fence fails.
struct Fence {
  std::string key;
  int64_t create_revision = 0;
};

inline constexpr char kNotLeaderMessage[] = "this manager is no longer the swarm's leader";

}  // namespace capsule::store
