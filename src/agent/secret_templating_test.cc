#include "agent/secret_templating.h"

#include <gtest/gtest.h>

namespace capsule::agent {
namespace {

Task MakeTask() {
  Task t;
  t.id = "t1";
  t.service_id = "svc1";
  t.node_id = "node1";
  t.slot = 0;
  t.spec.container.env = {"A=1"};
  SecretReference r;
  r.secret_id = "s1";
  r.has_file = true;
  r.target = "pw";
  t.spec.container.secrets = {r};
  return t;
}

TEST(SecretTemplating, PayloadContextComesFromTheTaskAndService) {
  tmpl::SwarmTask c = PayloadTaskContext(MakeTask(), TaskService{"web", {{"k", "v"}}});
  EXPECT_EQ(c.service_id, "svc1");
  EXPECT_EQ(c.service_name, "web");
  EXPECT_EQ(c.service_labels.at("k"), "v");
  EXPECT_EQ(c.node_id, "node1");
  EXPECT_FALSE(c.node.has_value());  // as moby: no node description for payloads
  EXPECT_EQ(c.task_name, "web.node1.t1");
  ASSERT_EQ(c.secrets.size(), 1u);
  EXPECT_EQ(c.secrets[0].id, "s1");
  EXPECT_EQ(c.secrets[0].target, "pw");
  EXPECT_EQ(c.env, std::vector<std::string>{"A=1"});
}

TEST(SecretTemplating, LookupReadsOnlyTheTasksOwnSecrets) {
  SecretCache cache;
  cache.Put("s1", SecretBytes::CopyFrom(std::string_view("mine")));
  cache.Put("s9", SecretBytes::CopyFrom(std::string_view("theirs")));
  tmpl::DependencyLookup lookup = TaskSecretLookup(cache, MakeTask());
  absl::StatusOr<tmpl::Str> mine = lookup("s1");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(std::string(*mine), "mine");
  absl::StatusOr<tmpl::Str> theirs = lookup("s9");
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(std::string(theirs.status().message()), "secret s9 not found");
}

TEST(SecretTemplating, ExpandsGolangTemplatesIntoSecretBytes) {
  Task t = MakeTask();
  SecretCache cache;
  cache.Put("s1", SecretBytes::CopyFrom(std::string_view("pw!")));
  StatusOr<SecretBytes> out = ExpandTemplatedPayload(
      "secret", "s0", "golang",
      SecretBytes::CopyFrom(std::string_view("{{secret \"pw\"}}+{{env \"A\"}}")),
      PayloadTaskContext(t, {"web", {}}), TaskSecretLookup(cache, t), {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->view(), "pw!+1");
}

TEST(SecretTemplating, ErrorsNameTheKindAndId) {
  Task t = MakeTask();
  StatusOr<SecretBytes> bad = ExpandTemplatedPayload("config", "c1", "golang",
                                                     SecretBytes::CopyFrom(std::string_view("{{")),
                                                     PayloadTaskContext(t, {"web", {}}), {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "failed to expand templated config c1: template: expansion:1: unclosed action");
  StatusOr<SecretBytes> driver =
      ExpandTemplatedPayload("secret", "s1", "", SecretBytes::CopyFrom(std::string_view("x")),
                             PayloadTaskContext(t, {"web", {}}), {}, {});
  ASSERT_FALSE(driver.ok());
  EXPECT_EQ(driver.status().message(),
            "failed to expand templated secret s1: unrecognized template type");
}

}  // namespace
}  // namespace capsule::agent
