// The stored forms of secret versions: a secret's versions, a service's pins and a task's
// versions round-trip through the store encoding and never appear in Docker's JSON; a secret,
// service or task without versions encodes exactly as before versions existed.
#include "objects/secret_versions.h"

#include <gtest/gtest.h>

#include "objects/service.h"

namespace capsule {
namespace {

TEST(SecretVersionsCodec, SecretVersionsRoundTripAndStayOutOfDockerJson) {
  Secret s;
  s.id = "s1";
  s.name = "pw";
  s.current_version = 2;
  s.versions = {{1, FromUnixNanos(10), -1, "aa"}, {2, FromUnixNanos(20), 1000, "bb"}};
  StatusOr<Secret> back = DecodeSecretMeta(EncodeSecretMeta(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->current_version, 2);
  ASSERT_EQ(back->versions.size(), 2u);
  EXPECT_EQ(back->versions[1].number, 2);
  EXPECT_EQ(back->versions[1].created_at, FromUnixNanos(20));
  EXPECT_EQ(back->versions[1].created_by_uid, 1000);
  EXPECT_EQ(back->versions[1].digest, "bb");
  const std::string docker = RenderSecret(s, 7);
  EXPECT_EQ(docker.find("Capsule"), std::string::npos);
  EXPECT_EQ(docker.find("bb"), std::string::npos);
}

TEST(SecretVersionsCodec, ANeverRotatedSecretEncodesAsBefore) {
  Secret s;
  s.id = "s1";
  s.name = "pw";
  EXPECT_EQ(EncodeSecretMeta(s).find("Capsule"), std::string::npos);
  StatusOr<Secret> back = DecodeSecretMeta(EncodeSecretMeta(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->current_version, 1);
  EXPECT_TRUE(back->versions.empty());
}

TEST(SecretVersionsCodec, ServicePinsRoundTripAndStayOutOfDockerJson) {
  Service s;
  s.id = "svc";
  s.spec.name = "web";
  s.spec.task_template.container.image = "busybox";
  s.secret_versions = {{"s1", 3}};
  s.previous_secret_versions = std::map<std::string, int64_t>{{"s1", 2}};
  StatusOr<Service> back = DecodeServiceMeta(EncodeServiceMeta(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->secret_versions, s.secret_versions);
  EXPECT_EQ(back->previous_secret_versions, s.previous_secret_versions);
  EXPECT_EQ(ServiceJson(s, 5).dump().find("Capsule"), std::string::npos);
  Service plain = s;
  plain.secret_versions.clear();
  plain.previous_secret_versions.reset();
  EXPECT_EQ(EncodeServiceMeta(plain).find("Capsule"), std::string::npos);
  EXPECT_FALSE(DecodeServiceMeta(EncodeServiceMeta(plain))->previous_secret_versions.has_value());
}

TEST(SecretVersionsCodec, TaskVersionsRoundTripAndStayOutOfDockerJson) {
  Task t;
  t.id = "t1";
  t.service_id = "svc";
  t.secret_versions = {{"s1", 2}};
  StatusOr<Task> back = DecodeTaskMeta(EncodeTaskMeta(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->secret_versions, t.secret_versions);
  EXPECT_EQ(TaskJson(t, 5).dump().find("Capsule"), std::string::npos);
  Task legacy = t;
  legacy.secret_versions.clear();
  EXPECT_TRUE(DecodeTaskMeta(EncodeTaskMeta(legacy))->secret_versions.empty());
  EXPECT_EQ(PinnedVersion(legacy.secret_versions, "s1"), 1);
}

TEST(SecretVersionsCodec, ClusterKeepsTheVersionsSettingOutOfDockerJson) {
  Cluster c;
  c.id = "c1";
  c.spec.secret_versions_kept = 5;
  StatusOr<Cluster> back = DecodeClusterMeta(EncodeClusterMeta(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->spec.secret_versions_kept, 5);
  EXPECT_EQ(ClusterJson(c, 1, true).dump().find("Capsule"), std::string::npos);
  Cluster d;
  d.id = "c1";
  EXPECT_EQ(DecodeClusterMeta(EncodeClusterMeta(d))->spec.secret_versions_kept, 2);
}

}  // namespace
}  // namespace capsule
