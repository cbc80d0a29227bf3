#include "audit/query.h"

#include <gtest/gtest.h>

namespace capsule::audit {
namespace {

TimePoint At(int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

Event Ev(int64_t seconds, std::string id, std::string name) {
  Event e;
  e.time = At(seconds);
  e.secret_id = std::move(id);
  e.secret_name = std::move(name);
  return e;
}

std::vector<std::string> Ids(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events)
    out.push_back(e.secret_id + "@" +
                  std::to_string(e.time.time_since_epoch().count() / 1000000000));
  return out;
}

TEST(AuditQuery, SecretMatchesNameIdOrIdPrefix) {
  Event e = Ev(1, "k3l9xq2", "pw");
  EXPECT_TRUE(MatchesSecret(e, ""));
  EXPECT_TRUE(MatchesSecret(e, "pw"));
  EXPECT_TRUE(MatchesSecret(e, "k3l9xq2"));
  EXPECT_TRUE(MatchesSecret(e, "k3l"));
  EXPECT_FALSE(MatchesSecret(e, "p"));  // names match whole
  EXPECT_FALSE(MatchesSecret(e, "PW"));
  EXPECT_FALSE(MatchesSecret(e, "k3l9xq2z"));
}

TEST(AuditQuery, FilterKeepsOrderAndAppliesSinceAndSecret) {
  std::vector<Event> events = {Ev(100, "a1", "pw"), Ev(200, "b2", "db"), Ev(300, "a1", "pw"),
                               Ev(400, "b2", "db")};
  Query q;
  EXPECT_EQ(Filter(events, q).size(), 4u);
  q.secret = "pw";
  EXPECT_EQ(Ids(Filter(events, q)), (std::vector<std::string>{"a1@100", "a1@300"}));
  q.since = At(300);
  EXPECT_EQ(Ids(Filter(events, q)), (std::vector<std::string>{"a1@300"}));
  q.secret = "";
  EXPECT_EQ(Ids(Filter(events, q)), (std::vector<std::string>{"a1@300", "b2@400"}));
}

TEST(AuditQuery, SinceTakesADurationBeforeNowOrATimestamp) {
  const TimePoint now = At(1800000000);
  StatusOr<Query> q = ParseQuery("1h", "pw", now);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(q->since.has_value());
  EXPECT_EQ(*q->since, now - std::chrono::hours(1));
  EXPECT_EQ(q->secret, "pw");

  q = ParseQuery("2027-01-15T08:00:00Z", "", now);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q->since, At(1800000000));

  q = ParseQuery("", "", now);
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->since.has_value());
}

TEST(AuditQuery, BadSinceIsInvalidArgument) {
  StatusOr<Query> q = ParseQuery("yesterday", "", At(1800000000));
  ASSERT_TRUE(absl::IsInvalidArgument(q.status()));
  EXPECT_NE(q.status().message().find("failed to parse value as time or duration"),
            std::string::npos);
}

}  // namespace
}  // namespace capsule::audit
