// The audit log against a real etcd member: sealed values, key order, since reads, trimming.
#include "audit/etcd_log.h"

#include <gtest/gtest.h>

#include "store/etcd/etcd_test_env.h"

namespace capsule::audit {
namespace {

using etcd::testing::EtcdTest;

TimePoint At(int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

Event Ev(int64_t seconds, uint64_t seq, std::string name, std::string writer = "mgr1") {
  Event e;
  e.time = At(seconds);
  e.action = Action::kCreate;
  e.secret_id = "id-" + name;
  e.secret_name = std::move(name);
  e.caller = Caller{1000, 1000, 42};
  e.recorded_by = writer;
  e.key = EventKey(UnixNanos(e.time), writer, seq);
  return e;
}

class EtcdLogTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    log_ = std::make_unique<EtcdLog>(*client_, keyring_);
  }
  std::vector<std::string> Names(TimePoint since = TimePoint{}) {
    StatusOr<std::vector<Event>> all = log_->ReadSince(since);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<std::string> out;
    if (all.ok()) {
      for (const Event& e : *all) out.push_back(e.secret_name);
    }
    return out;
  }

  crypto::Keyring keyring_;
  std::unique_ptr<EtcdLog> log_;
};

TEST_F(EtcdLogTest, AppendedEventsReadBackInKeyOrderWithTheirKeys) {
  ASSERT_OK(log_->Append({Ev(200, 1, "b"), Ev(100, 0, "a")}));
  ASSERT_OK(log_->Append({Ev(300, 2, "c", "mgr2")}));
  StatusOr<std::vector<Event>> all = log_->ReadSince(TimePoint{});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].secret_name, "a");
  EXPECT_EQ((*all)[0].key, Ev(100, 0, "a").key);
  EXPECT_EQ((*all)[0].caller->pid, 42);
  EXPECT_EQ((*all)[2].recorded_by, "mgr2");
}

TEST_F(EtcdLogTest, ValuesAreSealedAndKeysCarryNoNames) {
  ASSERT_OK(log_->Append({Ev(100, 0, "database-password-name")}));
  StatusOr<etcd::RangeResult> raw = client_->Range(kAuditPrefix, etcd::PrefixEnd(kAuditPrefix));
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->kvs.size(), 1u);
  EXPECT_EQ(raw->kvs[0].key.find("database"), std::string::npos);
  EXPECT_EQ(raw->kvs[0].value.find("database"), std::string::npos);
  EXPECT_EQ(raw->kvs[0].value.find("create"), std::string::npos);
  // Another keyring cannot open it: DataLoss, never a wrong event.
  crypto::Keyring other = crypto::Keyring::Generate();
  EtcdLog foreign(*client_, other);
  EXPECT_FALSE(foreign.ReadSince(TimePoint{}).ok());
}

TEST_F(EtcdLogTest, AValueMovedToAnotherKeyDoesNotOpen) {
  ASSERT_OK(log_->Append({Ev(100, 0, "a")}));
  StatusOr<etcd::RangeResult> raw = client_->Range(kAuditPrefix, etcd::PrefixEnd(kAuditPrefix));
  ASSERT_TRUE(raw.ok());
  ASSERT_OK(
      client_
          ->Put(std::string(kAuditPrefix) + EventKey(UnixNanos(At(50)), "x", 0), raw->kvs[0].value)
          .status());
  EXPECT_TRUE(absl::IsDataLoss(log_->ReadSince(TimePoint{}).status()));
}

TEST_F(EtcdLogTest, ReadSinceStartsAtThatInstant) {
  ASSERT_OK(log_->Append({Ev(100, 0, "a"), Ev(200, 1, "b"), Ev(300, 2, "c")}));
  EXPECT_EQ(Names(At(200)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Names(At(201)), (std::vector<std::string>{"c"}));
  EXPECT_EQ(Names(At(400)), (std::vector<std::string>{}));
}

TEST_F(EtcdLogTest, TrimDropsTheOldestFirst) {
  std::vector<Event> batch;
  for (int i = 0; i < 30; ++i) batch.push_back(Ev(100 + i, i, "s" + std::to_string(i)));
  ASSERT_OK(log_->Append(batch));
  StatusOr<size_t> dropped = log_->Trim(12);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 18u);
  std::vector<std::string> names = Names();
  ASSERT_EQ(names.size(), 12u);
  EXPECT_EQ(names.front(), "s18");
  EXPECT_EQ(names.back(), "s29");
  dropped = log_->Trim(12);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 0u);
}

TEST_F(EtcdLogTest, TrimLeavesOtherKeysAlone) {
  ASSERT_OK(client_->Put("/capsule/v1/audis", "before").status());
  ASSERT_OK(client_->Put("/capsule/v1/audit0", "after").status());
  ASSERT_OK(log_->Append({Ev(100, 0, "a"), Ev(200, 1, "b")}));
  ASSERT_TRUE(log_->Trim(0).ok());
  EXPECT_EQ(Names().size(), 0u);
  EXPECT_EQ(client_->Range("/capsule/v1/audis", "")->kvs.size(), 1u);
  EXPECT_EQ(client_->Range("/capsule/v1/audit0", "")->kvs.size(), 1u);
}

TEST_F(EtcdLogTest, AppendRefusesOversizedBatchesAndKeylessEvents) {
  std::vector<Event> big(kMaxAppend + 1, Ev(100, 0, "a"));
  EXPECT_TRUE(absl::IsInvalidArgument(log_->Append(big)));
  Event keyless = Ev(100, 0, "a");
  keyless.key.clear();
  EXPECT_TRUE(absl::IsInvalidArgument(log_->Append({keyless})));
  EXPECT_EQ(Names().size(), 0u);
}

}  // namespace
}  // namespace capsule::audit
