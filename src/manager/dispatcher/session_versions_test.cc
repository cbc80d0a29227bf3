// SessionAssignments and secret versions (objects/secret_versions.h): each (secret, version) a
// node's tasks mount travels as its own AssignedSecret under its delivery ID — the secret's ID
// for version 1 (as before versions existed), "<ID>@<n>" otherwise — so a start-first rotation
// can run both versions on one node, and an old version is withdrawn with its last task.
#include <gtest/gtest.h>

#include "manager/dispatcher/session_assignments.h"
#include "objects/secret_versions.h"

namespace capsule::dispatcher {
namespace {

class VersionSource : public AssignmentSource {
 public:
  std::vector<store::TaskEntry> TasksOnNode(const std::string&) const override { return {}; }
  store::TaskEntry TaskById(const std::string&) const override { return nullptr; }
  StatusOr<SecretPayload> ReadSecret(const std::string& id) override {
    reads.push_back(id);
    if (id == "s1") return SecretPayload{"pw", SecretBytes::CopyFrom("v1")};
    if (id == "s1@2") return SecretPayload{"pw", SecretBytes::CopyFrom("v2")};
    return absl::NotFoundError(id);
  }
  StatusOr<SecretPayload> ReadConfig(const std::string& id) override {
    return absl::NotFoundError(id);
  }
  uint64_t Subscribe(std::function<void()>) override { return 1; }
  void Unsubscribe(uint64_t) override {}
  std::vector<std::string> reads;
};

store::TaskEntry TaskOn(const std::string& id, int64_t secret_version) {
  auto v = std::make_shared<store::Versioned<Task>>();
  v->object.id = id;
  v->object.service_id = "svc";
  v->object.node_id = "n1";
  v->object.status.state = TaskState::kRunning;
  SecretReference r;
  r.secret_id = "s1";
  r.secret_name = "pw";
  r.has_file = true;
  r.target = "pw";
  v->object.spec.container.secrets.push_back(r);
  if (secret_version != 1) v->object.secret_versions["s1"] = secret_version;
  v->mod_revision = 1;
  return v;
}

StatusOr<std::string> Seal(const std::string& id, const SecretBytes& data) {
  return "sealed(" + id + ":" + std::string(data.view()) + ")";
}

TEST(SessionAssignmentsVersions, DeliveryIdsNameTheVersion) {
  EXPECT_EQ(DeliveryId("s1", 1), "s1");
  EXPECT_EQ(DeliveryId("s1", 0), "s1");
  EXPECT_EQ(DeliveryId("s1", 7), "s1@7");
  EXPECT_EQ(ParseDeliveryId("s1@7")->secret_id, "s1");
  EXPECT_EQ(ParseDeliveryId("s1@7")->version, 7);
  EXPECT_EQ(ParseDeliveryId("s1")->version, 1);
  EXPECT_FALSE(ParseDeliveryId("s1@1").has_value());
  EXPECT_FALSE(ParseDeliveryId("s1@x").has_value());
  EXPECT_FALSE(ParseDeliveryId("@2").has_value());
  EXPECT_EQ(VersionObjectId("s1", 3), "s1.3");
}

TEST(SessionAssignmentsVersions, BothVersionsGoToANodeRunningBoth) {
  VersionSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  ASSERT_TRUE(a.Next({TaskOn("old", 1), TaskOn("new", 2)}, source, Seal, &out, &retry));
  EXPECT_FALSE(retry);
  ASSERT_EQ(out.secrets_size(), 2);
  EXPECT_EQ(out.secrets(0).id(), "s1");
  EXPECT_EQ(out.secrets(0).sealed_data(), "sealed(s1:v1)");
  EXPECT_EQ(out.secrets(1).id(), "s1@2");
  EXPECT_EQ(out.secrets(1).sealed_data(), "sealed(s1@2:v2)");
}

TEST(SessionAssignmentsVersions, TheOldVersionIsWithdrawnWithItsLastTask) {
  VersionSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  ASSERT_TRUE(a.Next({TaskOn("old", 1), TaskOn("new", 2)}, source, Seal, &out, &retry));
  ASSERT_TRUE(a.Next({TaskOn("new", 2)}, source, Seal, &out, &retry));
  EXPECT_EQ(out.secrets_size(), 0);
  ASSERT_EQ(out.removed_secret_ids_size(), 1);
  EXPECT_EQ(out.removed_secret_ids(0), "s1");
}

TEST(SessionAssignmentsVersions, ATaskMadeBeforeVersionsGetsTheSecretUnderItsId) {
  VersionSource source;
  SessionAssignments a;
  api::AssignmentChanges out;
  bool retry = false;
  ASSERT_TRUE(a.Next({TaskOn("legacy", 1)}, source, Seal, &out, &retry));
  EXPECT_EQ(source.reads, std::vector<std::string>{"s1"});
}

}  // namespace
}  // namespace capsule::dispatcher
