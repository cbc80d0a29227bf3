// A secret's create and its audit event in one etcd Txn (audited_write.h), against a real etcd
// member: the event is in the log as soon as Create returns, with the revision of the secret's
// own write, and a create that fails leaves no event. The recorder's thread is never started in
// the first tests, so an event written after the create (the old path) could not be there;
// the control shows that with a log that cannot be written in the create's Txn.
#include "manager/controlapi/audited_write.h"

#include <gtest/gtest.h>

#include "audit/etcd_log.h"
#include "audit/log_recorder.h"
#include "common/clock.h"
#include "manager/controlapi/secret.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"
#include "store/keys.h"
#include "store/read_model.h"

namespace capsule::controlapi {
namespace {

using etcd::testing::EtcdTest;
using etcd::testing::WaitFor;

SecretSpec Spec(const std::string& name, std::string_view data) {
  SecretSpec spec;
  spec.name = name;
  spec.data = SecretBytes::CopyFrom(data);
  return spec;
}

// The etcd log, except that its events cannot go in a change's Txn (the recorder then
// records them after the change, from its own thread).
class AppendOnlyLog : public audit::Log {
 public:
  explicit AppendOnlyLog(audit::Log& log) : log_(log) {}
  Status Append(const std::vector<audit::Event>& events) override { return log_.Append(events); }
  StatusOr<std::vector<audit::Event>> ReadSince(TimePoint since) const override {
    return log_.ReadSince(since);
  }
  StatusOr<size_t> Trim(size_t keep) override { return log_.Trim(keep); }

 private:
  audit::Log& log_;
};

class AuditedCreateTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    store_ = store::NewEtcdStore(*client_, keyring_);
    reads_ = std::make_unique<store::ReadModel>(*store_);
    ASSERT_OK(reads_->Start());
    secrets_ = std::make_unique<SecretApi>(*store_, *reads_, RealClock());
    log_ = std::make_unique<audit::EtcdLog>(*client_, keyring_);
  }

  std::vector<audit::Event> Events() {
    StatusOr<std::vector<audit::Event>> all = log_->ReadSince(TimePoint{});
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? *all : std::vector<audit::Event>{};
  }
  etcd::KeyValue Raw(const std::string& key) {
    StatusOr<etcd::RangeResult> r = client_->Range(key, "");
    EXPECT_TRUE(r.ok() && r->kvs.size() == 1) << key;
    return r.ok() && r->kvs.size() == 1 ? r->kvs.front() : etcd::KeyValue{};
  }

  crypto::Keyring keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ReadModel> reads_;
  std::unique_ptr<SecretApi> secrets_;
  std::unique_ptr<audit::EtcdLog> log_;
};

TEST_F(AuditedCreateTest, TheEventIsStoredByTheCreateItself) {
  audit::LogRecorder rec(*log_, RealClock(), {.writer = "mgr1"});  // never started
  StatusOr<std::string> id = secrets_->Create(Spec("pw", "s3cr3t"), {&rec, audit::Caller{7, 8, 9}});
  ASSERT_OK(id.status());

  std::vector<audit::Event> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, audit::Action::kCreate);
  EXPECT_EQ(events[0].secret_id, *id);
  EXPECT_EQ(events[0].secret_name, "pw");
  EXPECT_EQ(events[0].recorded_by, "mgr1");
  ASSERT_TRUE(events[0].caller.has_value());
  EXPECT_EQ(events[0].caller->uid, 7u);
  EXPECT_EQ(events[0].caller->pid, 9);
  EXPECT_EQ(rec.queued(), 0u);

  // One Txn: the event's key was written at the secret's own revision.
  const etcd::KeyValue secret = Raw(store::ObjectKey(kSecretsKind, *id));
  const etcd::KeyValue event = Raw(std::string(store::kAuditPrefix) + events[0].key);
  EXPECT_GT(secret.mod_revision, 0);
  EXPECT_EQ(event.mod_revision, secret.mod_revision);
  // Sealed like every value: the stored bytes are not the event's JSON.
  EXPECT_EQ(event.value.find("\"pw\""), std::string::npos);
}

TEST_F(AuditedCreateTest, AFailedCreateStoresNoEvent) {
  audit::LogRecorder rec(*log_, RealClock(), {.writer = "mgr1"});
  rec.Start();
  ASSERT_OK(secrets_->Create(Spec("pw", "x"), {&rec, std::nullopt}).status());
  StatusOr<std::string> again = secrets_->Create(Spec("PW", "y"), {&rec, std::nullopt});
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  rec.Stop();  // whatever it had queued is written now
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(AuditedCreateTest, ControlAnEventRecordedAfterTheCreateIsNotThereUntilTheRecorderRuns) {
  AppendOnlyLog append_only(*log_);
  audit::LogRecorder rec(append_only, RealClock(), {.writer = "mgr1"});
  ASSERT_OK(secrets_->Create(Spec("pw", "x"), {&rec, std::nullopt}).status());
  EXPECT_TRUE(Events().empty());  // queued, not written: the first test would see this
  EXPECT_EQ(rec.queued(), 1u);
  rec.Start();
  EXPECT_TRUE(WaitFor([&] { return Events().size() == 1; }, std::chrono::seconds(10)));
}

TEST_F(AuditedCreateTest, StoredEventsCountTowardTheLogsTrim) {
  audit::LogRecorder rec(*log_, RealClock(), {.writer = "mgr1", .max_entries = 3, .trim_every = 1});
  rec.Start();
  for (int i = 0; i < 8; ++i) {
    ASSERT_OK(secrets_->Create(Spec("s" + std::to_string(i), "x"), {&rec, std::nullopt}).status());
  }
  // Trimmed by the recorder's thread after each stored event: back to 3.
  EXPECT_TRUE(WaitFor([&] { return Events().size() == 3; }, std::chrono::seconds(10)));
  std::vector<audit::Event> left = Events();
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.back().secret_name, "s7");  // the newest are kept
}

TEST_F(AuditedCreateTest, TheRemovalStoresItsEventAndAFailedOneNone) {
  audit::LogRecorder rec(*log_, RealClock(), {.writer = "mgr1"});  // never started
  StatusOr<std::string> id = secrets_->Create(Spec("pw", "x"));    // no event
  ASSERT_OK(id.status());
  ASSERT_OK(secrets_->Remove(*id, {&rec, audit::Caller{1, 2, 3}}));
  std::vector<audit::Event> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, audit::Action::kRemove);
  EXPECT_EQ(events[0].secret_id, *id);
  EXPECT_EQ(events[0].secret_name, "pw");
  EXPECT_EQ(events[0].caller->pid, 3);
  EXPECT_TRUE(absl::IsNotFound(secrets_->Remove(*id, {&rec, std::nullopt})));
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(rec.queued(), 0u);
}

TEST_F(AuditedCreateTest, NoRecorderNoEvent) {
  ASSERT_OK(secrets_->Create(Spec("pw", "x")).status());
  EXPECT_TRUE(Events().empty());
}

}  // namespace
}  // namespace capsule::controlapi
