// The managers a node can open its session with: every manager's node ID and swarm address, as
// the dispatcher last sent them (SessionMessage.managers), with a weight per address that this
// node's own observations move (swarmkit's remotes: a manager that served a session gains
// weight, one that failed loses much more), so the next dial goes to the manager most likely to
// answer and never straight back to the one that just failed while another is known.
//
// The list is kept on disk (SaveManagerList: <data-root>/swarm/managers.json, 0600, written
// atomically) so a node restarted after its first manager died still finds another one.
// Not thread-safe: the session client guards it.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::agent {

struct RemoteManager {
  std::string node_id;  // may be "" (an address given by hand: the join's remote address)
  std::string addr;     // ip:port of the manager's swarm listener
  bool operator==(const RemoteManager&) const = default;
};

// Weights: a session that opened adds kSuccessWeight (up to kMaxWeight); a failed dial or a
// broken session subtracts kFailureWeight (down to kMinWeight).
inline constexpr int kSuccessWeight = 1;
inline constexpr int kFailureWeight = 10;
inline constexpr int kMaxWeight = 10;
inline constexpr int kMinWeight = -100;

class ManagerList {
 public:
  // `initial` in order of preference (the first is dialled first); duplicates by address are
  // dropped. Every entry starts at weight 0.
  explicit ManagerList(std::vector<RemoteManager> initial);

  // Replaces the list with the managers a dispatcher sent. Addresses already known keep their
  // weight; new ones start at 0; those not sent are forgotten. An empty list is ignored (a
  // dispatcher that names no manager does not make this node forget them all). Returns
  // whether the list (IDs or addresses, in order) changed.
  bool Replace(const std::vector<RemoteManager>& managers);

  void ObserveSuccess(const std::string& addr);
  void ObserveFailure(const std::string& addr);

  // The address to dial next: the highest weight among the managers other than `avoid` (the
  // one that just failed; "" avoids none), ties going to the earlier entry. `avoid` itself
  // only when it is the only manager known. "" when the list is empty.
  std::string Pick(const std::string& avoid) const;

  // The managers in list order; `first` (if known) moved to the front.
  std::vector<RemoteManager> Ordered(const std::string& first) const;
  int WeightOf(const std::string& addr) const;  // 0 if unknown
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    RemoteManager manager;
    int weight = 0;
  };
  Entry* Find(const std::string& addr);
  const Entry* Find(const std::string& addr) const;

  std::vector<Entry> entries_;
};

// The list file of a node: the managers (current one first) and the swarm they belong to.
// Written atomically (temp file, fsync, rename) with mode 0600; its directory must exist.
Status SaveManagerList(const std::string& path, const std::string& cluster_id,
                       const std::vector<RemoteManager>& managers);
// The managers saved for `cluster_id`: empty when the file is absent or names another swarm;
// DataLoss when it is malformed.
StatusOr<std::vector<RemoteManager>> LoadManagerList(const std::string& path,
                                                     const std::string& cluster_id);

}  // namespace capsule::agent
