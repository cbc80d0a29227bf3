#include "audit/log_recorder.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "audit/memory_log.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"

namespace capsule::audit {
namespace {

using capsule::testing::Eventually;
using capsule::testing::FakeClock;

Event Created(std::string name) {
  Event e;
  e.action = Action::kCreate;
  e.secret_id = "id-" + name;
  e.secret_name = std::move(name);
  e.caller = Caller{1000, 1000, 77};
  return e;
}

std::vector<Event> All(const MemoryLog& log) { return *log.ReadSince(TimePoint{}); }

TEST(LogRecorder, StampsTimeWriterAndKeyAndAppends) {
  MemoryLog log;
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "mgr1"});
  rec.Start();
  rec.Record(Created("pw"));
  ASSERT_TRUE(Eventually([&] { return log.size() == 1; }));
  Event e = All(log).front();
  EXPECT_EQ(e.time, clock.Now());
  EXPECT_EQ(e.recorded_by, "mgr1");
  const std::string start = EventKey(UnixNanos(clock.Now()), "mgr1.", 0);
  EXPECT_EQ(e.key.substr(0, 26), start.substr(0, 26));  // "<20-digit ns>-mgr1."
  EXPECT_EQ(e.key.substr(e.key.size() - 11), "-0000000000");
  EXPECT_EQ(e.secret_name, "pw");
  EXPECT_EQ(e.caller->pid, 77);
}

TEST(LogRecorder, KeepsAGivenTime) {
  MemoryLog log;
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m"});
  rec.Start();
  Event e = Created("pw");
  e.time = clock.Now() - std::chrono::seconds(5);
  rec.Record(e);
  ASSERT_TRUE(Eventually([&] { return log.size() == 1; }));
  EXPECT_EQ(All(log).front().time, e.time);
}

TEST(LogRecorder, KeysFollowRecordOrderEvenWhenTheClockStepsBack) {
  MemoryLog log;
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m"});
  rec.Record(Created("first"));  // queued before Start: one batch later
  clock.SetNow(clock.Now() - std::chrono::hours(1));
  rec.Record(Created("second"));
  clock.SetNow(clock.Now() + std::chrono::hours(2));
  rec.Record(Created("third"));
  rec.Start();
  ASSERT_TRUE(Eventually([&] { return log.size() == 3; }));
  std::vector<Event> all = All(log);  // in key order
  EXPECT_EQ(all[0].secret_name, "first");
  EXPECT_EQ(all[1].secret_name, "second");
  EXPECT_EQ(all[2].secret_name, "third");
  EXPECT_LT(all[1].time, all[0].time);  // the event keeps the clock's time
}

TEST(LogRecorder, RetriesAfterTheStoreFailsWithoutLosingEvents) {
  MemoryLog log;
  FakeClock clock;
  log.set_fail_appends(true);
  LogRecorder rec(log, clock, {.writer = "m", .retry_backoff = std::chrono::seconds(1)});
  rec.Start();
  rec.Record(Created("pw"));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // failed once, backing off
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(rec.queued(), 1u);
  log.set_fail_appends(false);
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Eventually([&] { return log.size() == 1; }));
  EXPECT_EQ(rec.queued(), 0u);
}

TEST(LogRecorder, RecordDoesNotWaitForTheStore) {
  MemoryLog log;
  FakeClock clock;
  log.set_fail_appends(true);
  LogRecorder rec(log, clock, {.writer = "m"});
  rec.Start();
  for (int i = 0; i < 50; ++i) rec.Record(Created("s" + std::to_string(i)));
  EXPECT_EQ(log.size(), 0u);  // returned although nothing could be written
  EXPECT_EQ(rec.dropped(), 0u);
}

TEST(LogRecorder, DropsTheNewestPastTheQueueLimit) {
  MemoryLog log;
  FakeClock clock;
  log.set_fail_appends(true);
  LogRecorder rec(log, clock, {.writer = "m", .queue_limit = 3});
  for (int i = 0; i < 5; ++i) rec.Record(Created("s" + std::to_string(i)));
  EXPECT_EQ(rec.queued(), 3u);
  EXPECT_EQ(rec.dropped(), 2u);
}

TEST(LogRecorder, TrimsToMaxEntriesInBatchesOldestFirst) {
  MemoryLog log;
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m", .max_entries = 10, .trim_every = 5});
  rec.Start();
  for (int i = 0; i < 40; ++i) {
    rec.Record(Created("s" + std::to_string(i)));
    clock.Advance(std::chrono::milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return rec.queued() == 0; }));
    EXPECT_LE(log.size(), 15u);  // never more than max_entries + trim_every
  }
  rec.Stop();
  std::vector<Event> all = All(log);
  ASSERT_GE(all.size(), 10u);
  EXPECT_EQ(all.back().secret_name, "s39");  // the newest are kept
  for (const Event& e : all) EXPECT_GE(std::stoi(e.secret_name.substr(1)), 25);
  // One trim after the first append, then one per 5 appended events: not one per event.
  EXPECT_LE(log.trims(), 1u + 40u / 5u);
  EXPECT_GE(log.trims(), 40u / 5u);
}

TEST(LogRecorder, ARestartAtTheSameInstantWritesNewKeys) {
  MemoryLog log;
  FakeClock clock;
  for (int run = 0; run < 2; ++run) {
    LogRecorder rec(log, clock, {.writer = "m"});
    rec.Start();
    rec.Record(Created("run" + std::to_string(run)));
    ASSERT_TRUE(Eventually([&] { return log.size() == static_cast<size_t>(run + 1); }));
  }
}

TEST(LogRecorder, TrimsAtStartSoALoweredLimitApplies) {
  MemoryLog log;
  FakeClock clock;
  {
    LogRecorder rec(log, clock, {.writer = "m", .max_entries = 100});
    rec.Start();
    for (int i = 0; i < 20; ++i) rec.Record(Created("s" + std::to_string(i)));
    ASSERT_TRUE(Eventually([&] { return log.size() == 20; }));
  }
  clock.Advance(std::chrono::seconds(1));  // a restart comes later (same-instant order: by run ID)
  LogRecorder rec(log, clock, {.writer = "m", .max_entries = 5});
  rec.Start();
  rec.Record(Created("after"));
  ASSERT_TRUE(Eventually([&] { return log.size() == 5; }));
  EXPECT_EQ(All(log).back().secret_name, "after");
}

TEST(LogRecorder, StopWritesWhatIsQueued) {
  MemoryLog log;
  FakeClock clock;
  log.set_fail_appends(true);
  LogRecorder rec(log, clock, {.writer = "m"});
  rec.Start();
  rec.Record(Created("pw"));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // backing off after the failure
  log.set_fail_appends(false);
  rec.Stop();  // no clock step: the last attempt is Stop's
  EXPECT_EQ(log.size(), 1u);
}

TEST(LogRecorder, AppendsAtMostMaxAppendPerCall) {
  MemoryLog log;
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m", .max_entries = 1000});
  for (size_t i = 0; i < kMaxAppend * 2 + 1; ++i) rec.Record(Created("s" + std::to_string(i)));
  rec.Start();
  ASSERT_TRUE(Eventually([&] { return log.size() == kMaxAppend * 2 + 1; }));
  EXPECT_EQ(log.appends(), 3u);
}

TEST(LogRecorder, AttachStampsLikeRecordAndLeavesTheWritingToTheCaller) {
  MemoryLog log;
  log.set_stored_by_caller(true);
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m"});  // not started: the caller writes
  rec.Record(Created("before"));
  std::optional<StoredEvent> stored = rec.Attach(Created("pw"));
  rec.Record(Created("after"));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(rec.queued(), 2u);  // the attached one is not queued
  ASSERT_TRUE(log.Put(*stored).ok());
  rec.Start();
  ASSERT_TRUE(Eventually([&] { return log.size() == 3; }));
  std::vector<Event> all = All(log);  // key order = the order they were stamped
  EXPECT_EQ(all[0].secret_name, "before");
  EXPECT_EQ(all[1].secret_name, "pw");
  EXPECT_EQ(all[2].secret_name, "after");
  EXPECT_EQ(all[1].key, stored->key);
  EXPECT_EQ(all[1].recorded_by, "m");
  EXPECT_EQ(all[1].time, clock.Now());
  EXPECT_EQ(all[1].caller->pid, 77);
}

TEST(LogRecorder, AttachIsRefusedWhenTheLogCannotBeWrittenByTheCaller) {
  MemoryLog log;  // stored_by_caller off
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m"});
  EXPECT_FALSE(rec.Attach(Created("pw")).has_value());
  EXPECT_EQ(rec.queued(), 0u);
}

TEST(LogRecorder, AttachedEventsAreTrimmedByTheThread) {
  MemoryLog log;
  log.set_stored_by_caller(true);
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m", .max_entries = 3, .trim_every = 2});
  rec.Start();
  for (int i = 0; i < 10; ++i) {
    std::optional<StoredEvent> stored = rec.Attach(Created("s" + std::to_string(i)));
    ASSERT_TRUE(stored.has_value());
    ASSERT_TRUE(log.Put(*stored).ok());
    rec.Attached(1);
    clock.Advance(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(Eventually([&] { return log.size() <= 3 + 2 && log.trims() >= 1; }));
  EXPECT_EQ(All(log).back().secret_name, "s9");
  EXPECT_EQ(log.appends(), 0u);  // the recorder wrote none of them
}

TEST(LogRecorder, AFailedTrimIsTriedAgainAfterTheBackoffNotAtOnce) {
  MemoryLog log;
  log.set_stored_by_caller(true);
  log.set_fail_trims(true);
  FakeClock clock;
  LogRecorder rec(log, clock, {.writer = "m", .retry_backoff = std::chrono::seconds(1)});
  rec.Start();
  ASSERT_TRUE(log.Put(*rec.Attach(Created("pw"))).ok());
  rec.Attached(1);
  ASSERT_TRUE(Eventually([&] { return log.trims() == 1; }));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // backing off
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(log.trims(), 1u);  // no spinning on the failure
  log.set_fail_trims(false);
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Eventually([&] { return log.trims() == 2; }));
}

}  // namespace
}  // namespace capsule::audit
