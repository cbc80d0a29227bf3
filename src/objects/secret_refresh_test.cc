// Refresh policies: the accepted forms and their canonical value, the refused ones with their
// message, which targets can be refreshed, and the stored form (never in Docker's JSON).
#include "objects/secret_refresh.h"

#include <gtest/gtest.h>

#include <csignal>

#include "objects/service.h"

namespace capsule {
namespace {

TEST(SecretRefreshPolicy, AcceptsNoneNamesWithAndWithoutSigAndNumbers) {
  EXPECT_EQ(*ParseRefreshPolicy("none"), "none");
  EXPECT_EQ(*ParseRefreshPolicy("signal:HUP"), "signal:1");
  EXPECT_EQ(*ParseRefreshPolicy("signal:SIGHUP"), "signal:1");
  EXPECT_EQ(*ParseRefreshPolicy("signal:sighup"), "signal:1");
  EXPECT_EQ(*ParseRefreshPolicy("signal:USR1"), "signal:" + std::to_string(SIGUSR1));
  EXPECT_EQ(*ParseRefreshPolicy("signal:10"), "signal:10");
  EXPECT_EQ(*ParseRefreshPolicy("signal:64"), "signal:64");
}

TEST(SecretRefreshPolicy, RefusesBadValuesWithAClearMessage) {
  for (const char* bad :
       {"", "None", "hup", "signal:", "signal:FOO", "signal:0", "signal:65", "signal:1x",
        "signal:-1", "signal:KILL", "signal:SIGSTOP", "signal:9", "restart"}) {
    StatusOr<std::string> p = ParseRefreshPolicy(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(std::string(p.status().message()).find("invalid secret refresh policy \""),
              std::string::npos)
        << p.status();
    EXPECT_NE(std::string(p.status().message()).find("signal:SIG"), std::string::npos);
  }
}

TEST(SecretRefreshPolicy, SignalAndTextOfTheCanonicalForm) {
  EXPECT_EQ(RefreshSignal("signal:1"), 1);
  EXPECT_EQ(RefreshSignal("none"), 0);
  EXPECT_EQ(RefreshSignal("signal:x"), 0);
  EXPECT_EQ(RefreshPolicyText("signal:1"), "signal:SIGHUP");
  EXPECT_EQ(RefreshPolicyText("signal:40"), "signal:40");
  EXPECT_EQ(RefreshPolicyText("none"), "none");
}

TEST(SecretRefreshPolicy, OnlyTargetsInsideRunSecretsAreRefreshable) {
  EXPECT_TRUE(RefreshableTarget("pw"));
  EXPECT_TRUE(RefreshableTarget("dir/pw"));
  EXPECT_TRUE(RefreshableTarget("/run/secrets/pw"));
  EXPECT_FALSE(RefreshableTarget("/etc/pw"));
  EXPECT_FALSE(RefreshableTarget("/run/secrets/"));
  EXPECT_FALSE(RefreshableTarget("/run/secretsx"));
  EXPECT_FALSE(RefreshableTarget(""));
}

TEST(SecretRefreshPolicy, LayoutDiffersOnlyBetweenNoPolicyAndSome) {
  EXPECT_TRUE(SameRefreshLayout({}, {}));
  EXPECT_TRUE(SameRefreshLayout({{"a", "none"}}, {{"a", "signal:1"}, {"b", "none"}}));
  EXPECT_FALSE(SameRefreshLayout({}, {{"a", "none"}}));
  EXPECT_FALSE(SameRefreshLayout({{"a", "none"}}, {}));
}

TEST(SecretRefreshCodec, PoliciesRoundTripForServicesAndTasksAndStayOutOfDockerJson) {
  Service s;
  s.id = "svc";
  s.spec.name = "web";
  s.spec.task_template.container.image = "busybox";
  s.secret_refresh = {{"s1", "signal:1"}, {"s2", "none"}};
  StatusOr<Service> back = DecodeServiceMeta(EncodeServiceMeta(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->secret_refresh, s.secret_refresh);
  EXPECT_EQ(ServiceJson(s, 5).dump().find("Capsule"), std::string::npos);

  Task t;
  t.id = "t1";
  t.service_id = "svc";
  t.spec = s.spec.task_template;
  t.secret_refresh = s.secret_refresh;
  StatusOr<Task> tb = DecodeTaskMeta(EncodeTaskMeta(t));
  ASSERT_TRUE(tb.ok()) << tb.status();
  EXPECT_EQ(tb->secret_refresh, t.secret_refresh);
  EXPECT_EQ(TaskJson(t, 5).dump().find("Capsule"), std::string::npos);

  Task plain = t;
  plain.secret_refresh.clear();
  EXPECT_EQ(EncodeTaskMeta(plain).find("CapsuleSecretRefresh"), std::string::npos);
}

}  // namespace
}  // namespace capsule
