// Presence against a real etcd member: a manager's key exists while it renews its lease, a
// manager that stops is unreachable at once, one whose lease ends (it died: no more
// keepalives) becomes unreachable, and the caller itself is always reachable. Membership: a
// node is a member while an etcd member is named after it.
#include "manager/membership/presence.h"

#include <gtest/gtest.h>

#include "store/etcd/etcd_test_env.h"

namespace capsule::membership {
namespace {

using etcd::testing::EtcdTest;
using etcd::testing::WaitFor;

constexpr auto kSoon = std::chrono::seconds(8);

PresenceOptions For(const std::string& id) {
  PresenceOptions o;
  o.node_id = id;
  o.ttl = std::chrono::seconds(1);
  o.period = std::chrono::milliseconds(100);
  return o;
}

TEST(ReachabilityOf, SelfOrPresentIsReachable) {
  EXPECT_EQ(ReachabilityOf("a", "a", {}), "reachable");
  EXPECT_EQ(ReachabilityOf("b", "a", {"b"}), "reachable");
  EXPECT_EQ(ReachabilityOf("c", "a", {"b"}), "unreachable");
}

class PresenceTest : public EtcdTest {
 protected:
  etcd::Client& client() { return *client_; }
};

TEST_F(PresenceTest, ManagersSeeEachOtherWhileTheyRenew) {
  Presence a(client(), RealClock(), For("a"));
  Presence b(client(), RealClock(), For("b"));
  a.Start();
  b.Start();
  EXPECT_TRUE(WaitFor([&] { return a.Present() == std::set<std::string>{"a", "b"}; }, kSoon));
  EXPECT_EQ(a.Reachability("b"), "reachable");
  // Past several TTLs: renewals keep the keys.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(a.Reachability("b"), "reachable");
  EXPECT_EQ(b.Reachability("a"), "reachable");
}

TEST_F(PresenceTest, AStoppedManagerIsUnreachableAtOnce) {
  Presence a(client(), RealClock(), For("a"));
  a.Start();
  {
    Presence b(client(), RealClock(), For("b"));
    b.Start();
    ASSERT_TRUE(WaitFor([&] { return a.Reachability("b") == "reachable"; }, kSoon));
  }
  EXPECT_TRUE(WaitFor([&] { return a.Reachability("b") == "unreachable"; }, kSoon));
  EXPECT_EQ(a.Reachability("a"), "reachable");
}

TEST_F(PresenceTest, AManagerThatStopsRenewingBecomesUnreachableWhenItsLeaseEnds) {
  Presence a(client(), RealClock(), For("a"));
  a.Start();
  // "b" as a dead manager leaves it: a key on a lease nobody renews.
  StatusOr<int64_t> lease = client().LeaseGrant(std::chrono::seconds(1));
  ASSERT_OK(lease.status());
  ASSERT_OK(client()
                .Txn({}, {etcd::Op::Put(std::string(kPresencePrefix) + "b", "", *lease)}, {})
                .status());
  ASSERT_TRUE(WaitFor([&] { return a.Reachability("b") == "reachable"; }, kSoon));
  EXPECT_TRUE(WaitFor([&] { return a.Reachability("b") == "unreachable"; }, kSoon));
}

TEST_F(PresenceTest, AManagerThatJustStartedIsReachableBeforeTheNextRead) {
  PresenceOptions slow = For("a");
  slow.period = std::chrono::seconds(60);  // no second read during the test
  Presence a(client(), RealClock(), slow);
  a.Start();
  Presence b(client(), RealClock(), For("b"));
  b.Start();
  EXPECT_EQ(a.Present(), std::set<std::string>{"a"});
  EXPECT_EQ(a.Reachability("b"), "reachable");  // looked up in etcd
  EXPECT_EQ(a.Reachability("c"), "unreachable");
}

// Docker's ManagerStatus only for Raft members: a manager node is a member while an etcd member
// is named after it (the test's member is "m1"); no other name is.
TEST_F(PresenceTest, OnlyANodeAStoreMemberIsNamedAfterIsAMember) {
  Presence a(client(), RealClock(), For("m1"));
  a.Start();
  EXPECT_TRUE(a.IsMember("m1"));
  EXPECT_FALSE(a.IsMember("m2"));  // e.g. removed by --force-new-cluster on another manager
  EXPECT_FALSE(a.IsMember(""));
}

}  // namespace
}  // namespace capsule::membership
