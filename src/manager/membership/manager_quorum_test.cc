// Docker's manager-removal rules: swarmkit's CanRemoveMember and demotion checks, and moby's
// `swarm leave` refusal texts, byte for byte.
#include "manager/membership/manager_quorum.h"

#include <gtest/gtest.h>

namespace capsule::membership {
namespace {

const std::string kFirst =
    "You are attempting to leave the swarm on a node that is participating as a manager. ";
const std::string kLast =
    "The only way to restore a swarm that has lost consensus is to reinitialize it with "
    "`--force-new-cluster`. Use `--force` to suppress this message.";

TEST(CanRemoveMember, CountsTheOthersThatStayReachableAgainstTheCurrentMajority) {
  const std::vector<ManagerMember> all = {{"a", true}, {"b", true}, {"c", true}};
  EXPECT_TRUE(CanRemoveMember(all, "c", "a"));
  const std::vector<ManagerMember> c_down = {{"a", true}, {"b", true}, {"c", false}};
  EXPECT_TRUE(CanRemoveMember(c_down, "c", "a"));   // a, b remain: 2 >= 2
  EXPECT_FALSE(CanRemoveMember(c_down, "b", "a"));  // only a remains reachable: 1 < 2
  const std::vector<ManagerMember> two = {{"a", true}, {"b", true}};
  EXPECT_TRUE(CanRemoveMember(two, "b", "a"));  // a remains: 1 >= (2-1)/2+1 = 1
  const std::vector<ManagerMember> two_b_down = {{"a", true}, {"b", false}};
  EXPECT_TRUE(CanRemoveMember(two_b_down, "b", "a"));
  const std::vector<ManagerMember> two_a_down = {{"a", false}, {"b", true}};
  EXPECT_FALSE(CanRemoveMember(two_a_down, "b", "b"));  // b itself, with a unreachable: none
}

TEST(CanRemoveMember, TheCallerCountsAsReachableEvenIfItsPresenceIsNotSeen) {
  const std::vector<ManagerMember> m = {{"a", false}, {"b", true}, {"c", true}};
  EXPECT_TRUE(CanRemoveMember(m, "c", "a"));
}

TEST(CheckDemotion, LastManagerComesFirst) {
  Status s = CheckDemotion(1, {}, "a", "a");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "attempting to demote the last manager of the swarm");
}

TEST(CheckDemotion, AManagerWithoutMemberIsNotFound) {
  Status s = CheckDemotion(2, {{"a", true}}, "b", "a");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "can't find manager in raft memberlist");
}

TEST(CheckDemotion, LossOfQuorumIsRefused) {
  Status s = CheckDemotion(3, {{"a", true}, {"b", true}, {"c", false}}, "b", "a");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "can't remove member from the raft: this would result in a loss of quorum");
  EXPECT_TRUE(CheckDemotion(3, {{"a", true}, {"b", true}, {"c", false}}, "c", "a").ok());
}

TEST(ManagerLeaveRefusal, AWorkerLeavesWithoutQuestion) {
  EXPECT_FALSE(ManagerLeaveRefusal(false, ManagerStats{true, 1, 0}).has_value());
}

TEST(ManagerLeaveRefusal, TheLastManagerIsToldItErasesTheSwarm) {
  EXPECT_EQ(ManagerLeaveRefusal(true, ManagerStats{true, 1, 0}),
            kFirst +
                "Removing the last manager erases all current state of the swarm. Use `--force` "
                "to ignore this message. ");
}

TEST(ManagerLeaveRefusal, LosingQuorumNamesTheCounts) {
  // Two managers, both reachable: 2-2 <= 0.
  EXPECT_EQ(ManagerLeaveRefusal(true, ManagerStats{true, 2, 0}),
            kFirst +
                "Removing this node leaves 1 managers out of 2. Without a Raft quorum your "
                "swarm will be inaccessible. " +
                kLast);
  // Three managers, one unreachable: 2-2 <= 1.
  EXPECT_EQ(ManagerLeaveRefusal(true, ManagerStats{true, 2, 1}),
            kFirst +
                "Removing this node leaves 1 managers out of 3. Without a Raft quorum your "
                "swarm will be inaccessible. " +
                kLast);
}

TEST(ManagerLeaveRefusal, KeepingQuorumStillWarns) {
  EXPECT_EQ(ManagerLeaveRefusal(true, ManagerStats{true, 3, 0}), kFirst + kLast);
}

TEST(ManagerLeaveRefusal, WithoutStatsOnlyTheGeneralWarning) {
  EXPECT_EQ(ManagerLeaveRefusal(true, std::nullopt), kFirst + kLast);
  // Not counted among the reachable ones: Docker's `active` is false, no counts.
  EXPECT_EQ(ManagerLeaveRefusal(true, ManagerStats{false, 1, 0}), kFirst + kLast);
}

}  // namespace
}  // namespace capsule::membership
