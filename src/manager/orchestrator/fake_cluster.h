// Test double for planner tests: an in-memory cluster state with etcd-like revisions that
// applies a pass's writes with the same optimistic checks as the store, plus a simulated
// agent that moves task states the way a node would. Tests drive its clock with
// testing::FakeClock (included here for them). Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/orchestrator/planner.h"
#include "manager/orchestrator/working_set.h"
#include "testing/fake_clock.h"

namespace capsule::orchestrator::testing {

Node ReadyNode(const std::string& id, const std::string& hostname);

// A replicated service "app" of `replicas` tasks running `image`.
ServiceSpec Replicated(uint64_t replicas, const std::string& image = "busybox:1");

class FakeCluster {
 public:
  // Timestamps come from `clock` (a testing::FakeClock in the tests), which must outlive it.
  explicit FakeCluster(const Clock& clock) : clock_(clock) {}

  void PutNode(const Node& n);
  void SetNode(const std::string& id, const std::function<void(Node&)>& change);
  std::string CreateService(const ServiceSpec& spec);
  // As controlapi's update: new spec, PreviousSpec kept, UpdateStatus reset.
  void UpdateService(const std::string& id, const std::function<void(ServiceSpec&)>& change);
  // As controlapi's rollback (`service update --rollback`): Spec and PreviousSpec swap,
  // UpdateStatus "rollback_started" ("manually requested rollback").
  void RollbackService(const std::string& id);
  void RemoveService(const std::string& id);
  // As controlapi's secret rotation/rollback: the service pins `version` of `secret_id` (the
  // old pins kept for a failure rollback), the Spec unchanged, UpdateStatus reset.
  // A secret with a live-refresh policy is pinned without an update (no UpdateStatus reset).
  void PinSecretVersion(const std::string& id, const std::string& secret_id, int64_t version);
  // As controlapi's `--secret-refresh`: sets (or with "" removes) the service's policy.
  void SetSecretRefresh(const std::string& id, const std::string& secret_id,
                        const std::string& policy);
  void SetRetention(int64_t limit) { retention_ = limit; }

  // An agent's report for one task (timestamped now).
  void SetTaskState(const std::string& task_id, TaskState state, const std::string& err = "");
  // What well-behaved agents do on every Ready node: tasks assigned to them with desired
  // RUNNING run; tasks whose desired state is SHUTDOWN/REMOVE (and ran or were assigned)
  // shut down. Tasks on nodes listed in `dead_nodes` are left alone.
  void AgentsFollow();

  // One pass: plan, then apply the writes in order (stops at the first conflict).
  // Returns the number of writes applied.
  size_t Pass(Planner& planner);
  // Passes (with AgentsFollow in between when `agents`) until a pass writes nothing.
  void Settle(Planner& planner, bool agents = true, int max_passes = 50);

  Snapshot snapshot() const;
  const Service& service(const std::string& id) const { return services_.at(id).object; }
  int64_t service_revision(const std::string& id) const { return services_.at(id).mod_revision; }
  std::vector<Task> TasksOf(const std::string& service_id) const;
  // Tasks of the service with desired state <= RUNNING, ordered by slot then node.
  std::vector<Task> Runnable(const std::string& service_id) const;
  std::vector<Task> RunningOn(const std::string& service_id, const std::string& node_id) const;
  const Task* task(const std::string& id) const;
  std::vector<Write> last_writes() const { return last_writes_; }

 private:
  const Clock& clock_;
  int64_t revision_ = 1;
  int64_t retention_ = 5;
  std::map<std::string, store::Versioned<Service>> services_;
  std::map<std::string, store::Versioned<Task>> tasks_;
  std::map<std::string, store::Versioned<Node>> nodes_;
  std::vector<Write> last_writes_;
};

}  // namespace capsule::orchestrator::testing
