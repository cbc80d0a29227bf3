// SessionAssignments and a service's registry credentials: sent (sealed, as an
// AssignedSecret under the service's pull_auth_id) only to a node with a task of that service
// in ASSIGNED…RUNNING, named on the task, and withdrawn when no such task is left.
#include "manager/dispatcher/session_assignments.h"

#include <gtest/gtest.h>

namespace capsule::dispatcher {
namespace {

class FakeSource : public AssignmentSource {
 public:
  std::vector<store::TaskEntry> TasksOnNode(const std::string&) const override { return {}; }
  store::TaskEntry TaskById(const std::string&) const override { return nullptr; }
  StatusOr<SecretPayload> ReadSecret(const std::string& id) override {
    return absl::NotFoundError(id);
  }
  StatusOr<SecretPayload> ReadConfig(const std::string& id) override {
    return absl::NotFoundError(id);
  }
  StatusOr<SecretPayload> ReadPullAuth(const std::string& id) override {
    ++pull_auth_reads;
    if (id != "auth1" && id != "auth2") return absl::NotFoundError(id);
    return SecretPayload{"", SecretBytes::CopyFrom("header-bytes-" + id)};
  }
  std::string PullAuthOf(const std::string& service_id) const override {
    return service_id == "private" ? auth : "";
  }
  uint64_t Subscribe(std::function<void()>) override { return 1; }
  void Unsubscribe(uint64_t) override {}
  int pull_auth_reads = 0;
  std::string auth = "auth1";
};

store::TaskEntry MakeTask(const std::string& id, const std::string& service, TaskState state,
                          int64_t version = 1) {
  auto v = std::make_shared<store::Versioned<Task>>();
  v->object.id = id;
  v->object.service_id = service;
  v->object.node_id = "n1";
  v->object.status.state = state;
  v->object.desired_state = TaskState::kRunning;
  v->mod_revision = version;
  return v;
}

// "sealed(<id>:<data>)": what the fake sealer makes of a secret.
StatusOr<std::string> Seal(const std::string& id, const SecretBytes& data) {
  return "sealed(" + id + ":" + std::string(data.view()) + ")";
}

TEST(SessionAssignmentsPullAuth, ANodeWithAPrivateServiceTaskGetsTheCredentialsSealed) {
  FakeSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  ASSERT_TRUE(
      a.Next({MakeTask("t1", "private", TaskState::kAssigned)}, source, Seal, &out, &retry));
  EXPECT_FALSE(retry);
  ASSERT_EQ(out.tasks_size(), 1);
  EXPECT_EQ(out.tasks(0).registry_auth_id(), "auth1");
  ASSERT_EQ(out.secrets_size(), 1);
  EXPECT_EQ(out.secrets(0).id(), "auth1");
  EXPECT_EQ(out.secrets(0).sealed_data(), "sealed(auth1:header-bytes-auth1)");
}

TEST(SessionAssignmentsPullAuth, ANodeWithoutTheServiceTasksNeverGetsThem) {
  FakeSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  ASSERT_TRUE(a.Next({MakeTask("t1", "public", TaskState::kRunning)}, source, Seal, &out, &retry));
  EXPECT_EQ(out.secrets_size(), 0);
  EXPECT_EQ(out.tasks(0).registry_auth_id(), "");
  EXPECT_EQ(source.pull_auth_reads, 0);
}

TEST(SessionAssignmentsPullAuth, ATaskNotYetAssignedOrFinishedHoldsNoCredentials) {
  FakeSource source;
  for (TaskState s : {TaskState::kPending, TaskState::kFailed, TaskState::kRejected}) {
    SessionAssignments a;
    api::AssignmentChanges out;
    bool retry = false;
    a.Next({MakeTask("t1", "private", s)}, source, Seal, &out, &retry);
    EXPECT_EQ(out.secrets_size(), 0) << TaskStateName(s);
  }
}

TEST(SessionAssignmentsPullAuth, TheCredentialsAreSentOnceAndWithdrawnWithTheLastTask) {
  FakeSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  a.Next({MakeTask("t1", "private", TaskState::kRunning),
          MakeTask("t2", "private", TaskState::kAssigned)},
         source, Seal, &out, &retry);
  EXPECT_EQ(out.secrets_size(), 1);
  // One task ends: still needed by the other.
  a.Next({MakeTask("t1", "private", TaskState::kFailed, 2),
          MakeTask("t2", "private", TaskState::kAssigned)},
         source, Seal, &out, &retry);
  EXPECT_EQ(out.secrets_size(), 0);
  EXPECT_EQ(out.removed_secret_ids_size(), 0);
  // The last one goes: withdrawn.
  a.Next({MakeTask("t1", "private", TaskState::kFailed, 2)}, source, Seal, &out, &retry);
  ASSERT_EQ(out.removed_secret_ids_size(), 1);
  EXPECT_EQ(out.removed_secret_ids(0), "auth1");
  EXPECT_EQ(source.pull_auth_reads, 1);
}

TEST(SessionAssignmentsPullAuth, NewCredentialsAreSentWithTheTaskAndTheOldOnesWithdrawn) {
  FakeSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  a.Next({MakeTask("t1", "private", TaskState::kAssigned)}, source, Seal, &out, &retry);
  source.auth = "auth2";  // `service update --with-registry-auth` with new credentials
  ASSERT_TRUE(
      a.Next({MakeTask("t1", "private", TaskState::kAssigned)}, source, Seal, &out, &retry));
  ASSERT_EQ(out.tasks_size(), 1);
  EXPECT_EQ(out.tasks(0).registry_auth_id(), "auth2");
  ASSERT_EQ(out.secrets_size(), 1);
  EXPECT_EQ(out.secrets(0).sealed_data(), "sealed(auth2:header-bytes-auth2)");
  ASSERT_EQ(out.removed_secret_ids_size(), 1);
  EXPECT_EQ(out.removed_secret_ids(0), "auth1");
}

}  // namespace
}  // namespace capsule::dispatcher
