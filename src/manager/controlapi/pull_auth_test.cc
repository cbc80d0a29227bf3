// A service's registry credentials (pull_auth.h): kept in a sealed store object of their own,
// named by the service, never in its meta or its API JSON; an update without the header keeps
// them (or takes the previous spec's), as the engine does; rollback swaps them with the spec;
// credentials no longer named are deleted.
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;

constexpr char kCanary[] = "eyJwYXNzd29yZCI6ImNhbmFyeS1wdy0xIn0";
constexpr char kOther[] = "eyJwYXNzd29yZCI6ImNhbmFyeS1wdy0yIn0";

ServiceSpec Spec(const std::string& image) {
  ServiceSpec spec;
  spec.name = "web";
  spec.task_template.container.image = image;
  return spec;
}

class PullAuthTest : public ::testing::Test {
 protected:
  Service Current(const std::string& id) {
    StatusOr<store::StoredRecord> r = env_.store.Get(kServicesKind, id);
    EXPECT_TRUE(r.ok());
    version_ = r->mod_revision;
    return *DecodeServiceMeta(r->record.meta);
  }
  std::string Stored(const std::string& auth_id) {
    StatusOr<SecretBytes> b = ReadPullAuth(env_.store, auth_id);
    return b.ok() ? std::string(b->view()) : "<" + b.status().ToString() + ">";
  }
  // Every object's meta (what lists, watches and the read model see).
  std::string AllMeta() {
    std::string all;
    for (const store::ObjectMeta& m : Objects()) all += m.meta + "\n";
    return all;
  }
  std::vector<store::ObjectMeta> Objects() {
    StatusOr<store::MetaSnapshot> snap = env_.store.ListMeta();
    EXPECT_TRUE(snap.ok());
    return snap.ok() ? snap->objects : std::vector<store::ObjectMeta>{};
  }
  Status Update(const std::string& id, const std::string& image, const char* header,
                PullAuthFrom from = PullAuthFrom::kSpec, bool rollback = false) {
    Current(id);
    PullAuthUpdate auth;
    if (header != nullptr) auth.header = SecretBytes::CopyFrom(header);
    auth.from = from;
    return env_.services.Update(id, version_, Spec(image), rollback, auth);
  }

  ApiTestEnv env_;
  int64_t version_ = 0;
};

TEST_F(PullAuthTest, CreateStoresTheHeaderInTheSealedPartOnly) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok()) << s.status();
  Service stored = Current(s->id);
  ASSERT_FALSE(stored.pull_auth_id.empty());
  EXPECT_EQ(Stored(stored.pull_auth_id), kCanary);
  // Positive control: the scan below finds the ID it looks for in the meta.
  EXPECT_NE(AllMeta().find(stored.pull_auth_id), std::string::npos);
  EXPECT_EQ(AllMeta().find(kCanary), std::string::npos);
}

TEST_F(PullAuthTest, InspectJsonShowsNothingOfTheCredentials) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  for (bool defaults : {false, true}) {
    StatusOr<store::ServiceEntry> e = env_.services.Inspect(s->id, defaults);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ((*e)->json.find(kCanary), std::string::npos);
    EXPECT_EQ((*e)->json.find("PullAuth"), std::string::npos);
    EXPECT_EQ((*e)->json.find((*e)->object.pull_auth_id), std::string::npos);
  }
}

TEST_F(PullAuthTest, CreateWithoutTheHeaderStoresNothing) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(Current(s->id).pull_auth_id.empty());
}

TEST_F(PullAuthTest, AnUpdateWithoutTheHeaderKeepsTheCredentials) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  const std::string first = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "a:2", nullptr).ok());
  Service u = Current(s->id);
  EXPECT_EQ(u.pull_auth_id, first);
  EXPECT_EQ(u.previous_pull_auth_id, first);
  EXPECT_EQ(Stored(first), kCanary);
}

TEST_F(PullAuthTest, AnUpdateWithTheHeaderReplacesThemAndTheUnnamedOnesGo) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  const std::string first = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "a:2", kOther).ok());
  Service u = Current(s->id);
  EXPECT_NE(u.pull_auth_id, first);
  EXPECT_EQ(Stored(u.pull_auth_id), kOther);
  EXPECT_EQ(u.previous_pull_auth_id, first);  // the previous spec keeps its own
  ASSERT_TRUE(Update(s->id, "a:3", kOther).ok());
  EXPECT_TRUE(absl::IsNotFound(ReadPullAuth(env_.store, first).status()));
}

TEST_F(PullAuthTest, RegistryAuthFromPreviousSpecTakesThePreviousCredentials) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  const std::string first = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "a:2", kOther).ok());
  const std::string second = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "a:3", nullptr, PullAuthFrom::kPreviousSpec).ok());
  Service u = Current(s->id);
  EXPECT_EQ(u.pull_auth_id, first);
  EXPECT_EQ(u.previous_pull_auth_id, second);
}

TEST_F(PullAuthTest, RollbackSwapsTheCredentialsWithTheSpec) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  const std::string first = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "a:2", kOther).ok());
  const std::string second = Current(s->id).pull_auth_id;
  ASSERT_TRUE(Update(s->id, "ignored:9", nullptr, PullAuthFrom::kPreviousSpec, true).ok());
  Service u = Current(s->id);
  EXPECT_EQ(u.spec.task_template.container.image, "a:1");
  EXPECT_EQ(u.pull_auth_id, first);
  EXPECT_EQ(u.previous_pull_auth_id, second);
}

TEST_F(PullAuthTest, RemoveDeletesTheCredentials) {
  StatusOr<Service> s = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(Update(s->id, "a:2", kOther).ok());
  Service u = Current(s->id);
  ASSERT_TRUE(env_.services.Remove(s->id).ok());
  EXPECT_TRUE(absl::IsNotFound(ReadPullAuth(env_.store, u.pull_auth_id).status()));
  EXPECT_TRUE(absl::IsNotFound(ReadPullAuth(env_.store, u.previous_pull_auth_id).status()));
}

TEST_F(PullAuthTest, AFailedCreateLeavesNoCredentialsBehind) {
  ASSERT_TRUE(env_.services.Create(Spec("a:1")).ok());
  StatusOr<Service> dup = env_.services.Create(Spec("a:1"), SecretBytes::CopyFrom(kCanary));
  EXPECT_TRUE(absl::IsAlreadyExists(dup.status()));
  for (const store::ObjectMeta& m : Objects()) EXPECT_NE(m.kind, kPullAuthsKind);
}

}  // namespace
}  // namespace capsule::controlapi
