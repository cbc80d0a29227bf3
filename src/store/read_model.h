// The read model: every manager's in-memory copy of all objects, fed by a store watch.
// Reads never go to the store. Read-your-writes: a reader first calls WaitFor(revision) with the
// highest revision it must see (Store::LastWrittenRevision()).
//
// Objects are kept decoded, with their API JSON rendered once at apply time, so a list is a
// concatenation. Lookups return shared_ptrs to immutable entries: callers can hold them
// without a lock. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "objects/network.h"
#include "objects/objects.h"
#include "objects/service.h"
#include "store/store.h"

namespace capsule::store {

template <typename T>
struct Versioned {
  T object;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  std::string json;  // rendered API JSON (secrets, services, tasks); empty for other kinds
};

using SecretEntry = std::shared_ptr<const Versioned<Secret>>;
using ConfigEntry = std::shared_ptr<const Versioned<Config>>;
using NodeEntry = std::shared_ptr<const Versioned<Node>>;
using ClusterEntry = std::shared_ptr<const Versioned<Cluster>>;
using ServiceEntry = std::shared_ptr<const Versioned<Service>>;
using TaskEntry = std::shared_ptr<const Versioned<Task>>;
using NetworkEntry = std::shared_ptr<const Versioned<Network>>;

class ReadModel {
 public:
  explicit ReadModel(Store& store);
  ~ReadModel();  // Stop()

  // Lists everything once, then follows the watch on a background thread; on a compacted
  // or broken watch it lists again (with backoff) until Stop().
  Status Start();
  void Stop();

  // Blocks until the model has applied `revision` (or the timeout → Unavailable).
  Status WaitFor(int64_t revision, std::chrono::milliseconds timeout) const;
  // WaitFor(store.LastWrittenRevision()).
  Status WaitFresh(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  int64_t applied_revision() const;

  // Secrets, ordered by ID.
  std::vector<SecretEntry> Secrets() const;
  SecretEntry SecretById(const std::string& id) const;
  // Case-insensitive exact name, as swarm's name index.
  SecretEntry SecretByName(const std::string& name) const;

  // Configs, as secrets (json is empty: a config's JSON shows its data, which is read from
  // the store when it is asked for).
  std::vector<ConfigEntry> Configs() const;
  ConfigEntry ConfigById(const std::string& id) const;
  ConfigEntry ConfigByName(const std::string& name) const;

  std::vector<NodeEntry> Nodes() const;
  NodeEntry NodeById(const std::string& id) const;
  ClusterEntry GetCluster() const;

  // Services, ordered by ID; by name case-insensitively (names are unique that way).
  std::vector<ServiceEntry> Services() const;
  ServiceEntry ServiceById(const std::string& id) const;
  ServiceEntry ServiceByName(const std::string& name) const;
  // Tasks, ordered by ID; and indexed by service and by node.
  std::vector<TaskEntry> Tasks() const;
  TaskEntry TaskById(const std::string& id) const;
  std::vector<TaskEntry> TasksOfService(const std::string& service_id) const;
  std::vector<TaskEntry> TasksOnNode(const std::string& node_id) const;
  // Networks, ordered by ID; by name case-insensitively (network_index.cc).
  std::vector<NetworkEntry> Networks() const;
  NetworkEntry NetworkById(const std::string& id) const;
  NetworkEntry NetworkByName(const std::string& name) const;

  // Change notification: `fn(revision)` runs on the watch thread after each applied batch
  // (and after a relist) with the model's new revision. It must be quick and must not call
  // back into Subscribe/Unsubscribe (typically: note the revision and wake a worker thread).
  using SubscriptionId = uint64_t;
  SubscriptionId Subscribe(std::function<void(int64_t revision)> fn);
  void Unsubscribe(SubscriptionId id);  // after it returns, fn is not running and never runs

 private:
  void Apply(const std::vector<ObjectEvent>& events, int64_t revision);
  void ApplyPut(const ObjectMeta& m);
  void ApplyDelete(const std::string& kind, const std::string& id);
  void ResetFrom(const MetaSnapshot& snap);
  void Run();
  void Notify(int64_t revision);
  void PutService(const ObjectMeta& m);
  void PutTask(const ObjectMeta& m);
  void EraseTask(const std::string& id);
  void PutNetwork(const ObjectMeta& m);
  void EraseNetwork(const std::string& id);

  // A kind of named object: its entries by ID and its lower-cased names → ID.
  template <typename T>
  struct NamedIndex {
    std::map<std::string, std::shared_ptr<const Versioned<T>>> by_id;
    std::unordered_map<std::string, std::string> names;
    void Clear();
    void Put(std::shared_ptr<Versioned<T>> entry);
    void Erase(const std::string& id);
    std::vector<std::shared_ptr<const Versioned<T>>> All() const;
    std::shared_ptr<const Versioned<T>> ById(const std::string& id) const;
    std::shared_ptr<const Versioned<T>> ByName(const std::string& name) const;
  };

  Store& store_;
  mutable std::shared_mutex mu_;
  NamedIndex<Secret> secrets_;
  NamedIndex<Config> configs_;
  std::map<std::string, NodeEntry> nodes_;
  ClusterEntry cluster_;
  std::map<std::string, ServiceEntry> services_;
  std::unordered_map<std::string, std::string> service_names_;  // lower-cased name → ID
  std::map<std::string, TaskEntry> tasks_;
  std::unordered_map<std::string, std::map<std::string, TaskEntry>> tasks_by_service_;
  std::unordered_map<std::string, std::map<std::string, TaskEntry>> tasks_by_node_;
  std::map<std::string, NetworkEntry> networks_;
  std::unordered_map<std::string, std::string> network_names_;  // lower-cased name → ID
  int64_t applied_ = 0;

  // Held while callbacks run, so Unsubscribe waits for a running callback.
  std::mutex subs_mu_;
  std::map<SubscriptionId, std::function<void(int64_t)>> subs_;
  SubscriptionId next_sub_ = 1;

  mutable std::mutex wait_mu_;
  mutable std::condition_variable applied_cv_;
  bool stopping_ = false;
  std::condition_variable stop_cv_;
  std::thread thread_;
};

std::string AsciiLower(std::string_view s);

}  // namespace capsule::store
