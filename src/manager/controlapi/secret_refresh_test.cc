// Live-refresh policies in the control API (secret_refresh.h) over a MemoryStore: create and
// update take them by secret name, refuse bad values, unknown names and targets outside
// /run/secrets with nothing written, drop them with their secret; a rotation pins a refreshed
// secret without starting a rolling update.
#include "manager/controlapi/secret_refresh.h"

#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"
#include "manager/controlapi/secret_versions.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;

SecretReference Ref(const std::string& id, const std::string& name, const std::string& target) {
  SecretReference r;
  r.secret_id = id;
  r.secret_name = name;
  r.has_file = true;
  r.target = target;
  return r;
}

ServiceSpec TwoSecrets() {
  ServiceSpec spec;
  spec.name = "app";
  spec.task_template.container.image = "busybox";
  spec.task_template.container.secrets = {Ref("id1", "pw", "pw"), Ref("id2", "key", "/etc/key")};
  return spec;
}

TEST(ApplyRefreshChanges, SetsByNameInCanonicalFormAndRemovesWithAnEmptyValue) {
  std::map<std::string, std::string> p;
  ASSERT_TRUE(ApplyRefreshChanges(TwoSecrets(), {{"pw", "signal:SIGHUP"}}, &p).ok());
  EXPECT_EQ(p, (std::map<std::string, std::string>{{"id1", "signal:1"}}));
  ASSERT_TRUE(ApplyRefreshChanges(TwoSecrets(), {{"pw", "none"}}, &p).ok());
  EXPECT_EQ(p.at("id1"), "none");
  ASSERT_TRUE(ApplyRefreshChanges(TwoSecrets(), {{"pw", ""}}, &p).ok());
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(RefreshPoliciesByName(TwoSecrets(), {{"id1", "signal:1"}}),
            (std::map<std::string, std::string>{{"pw", "signal:SIGHUP"}}));
}

TEST(ApplyRefreshChanges, RefusesBadValuesUnknownNamesAndOutsideTargetsChangingNothing) {
  std::map<std::string, std::string> p = {{"id1", "none"}};
  Status s = ApplyRefreshChanges(TwoSecrets(), {{"pw", "signal:BOGUS"}}, &p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("invalid secret refresh policy \"signal:BOGUS\""),
            std::string::npos);
  s = ApplyRefreshChanges(TwoSecrets(), {{"nope", "none"}}, &p);
  EXPECT_EQ(s.message(), "secret refresh: the service does not use secret nope");
  s = ApplyRefreshChanges(TwoSecrets(), {{"pw", "signal:1"}, {"key", "none"}}, &p);
  EXPECT_EQ(s.message(),
            "secret refresh: secret key is mounted at /etc/key; live refresh needs a target "
            "inside /run/secrets");
  EXPECT_EQ(p, (std::map<std::string, std::string>{{"id1", "none"}}));
}

TEST(PruneRefreshPolicies, DropsPoliciesOfSecretsNoLongerMountedInRunSecrets) {
  std::map<std::string, std::string> p = {{"id1", "none"}, {"gone", "signal:1"}};
  EXPECT_EQ(PruneRefreshPolicies(TwoSecrets(), &p), 1u);
  EXPECT_EQ(p.count("id1"), 1u);
  ServiceSpec moved = TwoSecrets();
  moved.task_template.container.secrets[0].target = "/etc/pw";
  EXPECT_EQ(PruneRefreshPolicies(moved, &p), 1u);
  EXPECT_TRUE(p.empty());
}

class RefreshApiTest : public ::testing::Test {
 protected:
  RefreshApiTest() {
    SecretSpec spec;
    spec.name = "pw";
    spec.data = SecretBytes::CopyFrom(std::string_view("one"));
    secret_id_ = env_.secrets.Create(spec).value_or("");
  }
  ServiceSpec Spec() {
    ServiceSpec spec;
    spec.name = "app";
    spec.task_template.container.image = "busybox";
    spec.task_template.container.secrets = {Ref(secret_id_, "pw", "pw")};
    return spec;
  }
  StatusOr<store::StoredRecord> Record(const std::string& id) {
    return env_.store.Get(kServicesKind, id);
  }
  Service Stored(const std::string& id) {
    return DecodeServiceMeta(Record(id)->record.meta).value();
  }

  ApiTestEnv env_;
  SecretVersionApi versions_{env_.store, env_.reads, env_.clock};
  std::string secret_id_;
};

TEST_F(RefreshApiTest, CreateStoresThePolicyOutsideDockersJson) {
  StatusOr<Service> s = env_.services.Create(Spec(), SecretBytes(), {{"pw", "signal:HUP"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Stored(s->id).secret_refresh.at(secret_id_), "signal:1");
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  EXPECT_EQ(env_.reads.ServiceById(s->id)->json.find("Capsule"), std::string::npos);
}

TEST_F(RefreshApiTest, CreateWithABadPolicyWritesNothing) {
  StatusOr<Service> s = env_.services.Create(Spec(), SecretBytes(), {{"pw", "signal:"}});
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  EXPECT_TRUE(env_.reads.Services().empty());
}

TEST_F(RefreshApiTest, UpdateChangesThePolicyAndABadOneLeavesTheServiceAsItWas) {
  StatusOr<Service> s = env_.services.Create(Spec(), SecretBytes(), {{"pw", "none"}});
  ASSERT_TRUE(s.ok()) << s.status();
  int64_t rev = Record(s->id)->mod_revision;
  ASSERT_TRUE(env_.services.Update(s->id, rev, Spec(), false, {}, {{"pw", "signal:USR1"}}).ok());
  EXPECT_EQ(Stored(s->id).secret_refresh.at(secret_id_), "signal:10");
  rev = Record(s->id)->mod_revision;
  Status bad = env_.services.Update(s->id, rev, Spec(), false, {}, {{"pw", "restart"}});
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Record(s->id)->mod_revision, rev);  // nothing written
  // A Docker update without the secret drops its policy.
  ServiceSpec without = Spec();
  without.task_template.container.secrets.clear();
  ASSERT_TRUE(env_.services.Update(s->id, rev, without, false).ok());
  EXPECT_TRUE(Stored(s->id).secret_refresh.empty());
}

TEST_F(RefreshApiTest, RotationPinsARefreshedSecretWithoutARollingUpdate) {
  StatusOr<Service> refreshed = env_.services.Create(Spec(), SecretBytes(), {{"pw", "none"}});
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  ServiceSpec plain_spec = Spec();
  plain_spec.name = "plain";
  StatusOr<Service> plain = env_.services.Create(plain_spec);
  ASSERT_TRUE(plain.ok()) << plain.status();
  StatusOr<VersionChange> c =
      versions_.Rotate(secret_id_, SecretBytes::CopyFrom(std::string_view("two")), 0);
  ASSERT_TRUE(c.ok()) << c.status();
  const Service r = Stored(refreshed->id);
  EXPECT_EQ(r.secret_versions.at(secret_id_), 2);
  EXPECT_FALSE(r.previous_secret_versions.has_value());
  const Service p = Stored(plain->id);
  EXPECT_EQ(p.secret_versions.at(secret_id_), 2);
  EXPECT_TRUE(p.previous_secret_versions.has_value());  // rolls as before
}

}  // namespace
}  // namespace capsule::controlapi
