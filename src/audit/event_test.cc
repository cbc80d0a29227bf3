#include "audit/event.h"

#include <gtest/gtest.h>

namespace capsule::audit {
namespace {

TimePoint At(int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

TEST(AuditEvent, ApiEventRoundTripsThroughJson) {
  Event e;
  e.time = At(1800000000) + std::chrono::nanoseconds(5);
  e.action = Action::kRemove;
  e.secret_id = "abc123";
  e.secret_name = "pw";
  e.version = 3;
  e.caller = Caller{1000, 100, 4242};
  e.recorded_by = "node1";
  StatusOr<Event> back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->time, e.time);
  EXPECT_EQ(back->action, Action::kRemove);
  EXPECT_EQ(back->secret_id, "abc123");
  EXPECT_EQ(back->secret_name, "pw");
  EXPECT_EQ(back->version, 3);
  ASSERT_TRUE(back->caller.has_value());
  EXPECT_EQ(back->caller->uid, 1000u);
  EXPECT_EQ(back->caller->gid, 100u);
  EXPECT_EQ(back->caller->pid, 4242);
  EXPECT_EQ(back->node_id, "");
  EXPECT_EQ(back->recorded_by, "node1");
}

TEST(AuditEvent, DeliveryHasNodeAndNoCaller) {
  Event e;
  e.time = At(1800000000);
  e.action = Action::kDeliver;
  e.secret_id = "abc";
  e.secret_name = "pw";
  e.node_id = "worker1";
  const std::string json = EncodeEvent(e);
  EXPECT_EQ(json.find("Caller"), std::string::npos);
  StatusOr<Event> back = DecodeEvent(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->node_id, "worker1");
  EXPECT_FALSE(back->caller.has_value());
  EXPECT_EQ(back->version, kFirstVersion);
}

TEST(AuditEvent, EveryActionHasANameThatParsesBack) {
  for (Action a :
       {Action::kCreate, Action::kRemove, Action::kRotate, Action::kRollback, Action::kDeliver}) {
    StatusOr<Action> back = ParseAction(ActionName(a));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, a);
  }
  EXPECT_EQ(ActionName(Action::kRotate), "rotate");
  EXPECT_EQ(ActionName(Action::kRollback), "rollback");
  EXPECT_FALSE(ParseAction("update").ok());
}

TEST(AuditEvent, MalformedTextIsDataLoss) {
  EXPECT_TRUE(absl::IsDataLoss(DecodeEvent("not json").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeEvent("{}").status()));
  EXPECT_TRUE(absl::IsDataLoss(DecodeEvent(R"({"Time":"x","Action":"create","SecretID":"a",)"
                                           R"("SecretName":"b","Version":1})")
                                   .status()));
}

TEST(AuditEventKey, KeysSortByTimeThenSequence) {
  const int64_t t = 1800000000LL * 1000000000LL;
  EXPECT_LT(EventKey(t, "w", 9), EventKey(t, "w", 10));
  EXPECT_LT(EventKey(t, "w", 99), EventKey(t + 1, "w", 0));
  EXPECT_LT(EventKey(999, "w", 5), EventKey(1000, "w", 0));     // fixed width: no "999" > "1000"
  EXPECT_LT(EventKey(t, "zzz", 7), EventKey(t + 1, "aaa", 0));  // time first, writer after
}

TEST(AuditEventKey, KeyAtOrAfterStartsTheRangeOfItsInstant) {
  const TimePoint t = At(1800000000);
  const int64_t ns = UnixNanos(t);
  EXPECT_LE(KeyAtOrAfter(t), EventKey(ns, "w", 0));
  EXPECT_GT(KeyAtOrAfter(t), EventKey(ns - 1, "w", 999));
}

}  // namespace
}  // namespace capsule::audit
