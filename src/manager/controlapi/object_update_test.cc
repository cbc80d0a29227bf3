// UpdateTask / UpdateService against a real etcd member.
#include "manager/controlapi/object_update.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "crypto/keyring.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"

namespace capsule::controlapi {
namespace {

class ObjectUpdateTest : public etcd::testing::EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    store_ = store::NewEtcdStore(*client_, keyring_);
  }
  crypto::Keyring keyring_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ObjectUpdateTest, ConcurrentTaskWritersAllLand) {
  Task t;
  t.id = "t1";
  t.service_id = "s1";
  ASSERT_TRUE(CreateTask(*store_, t).ok());
  // Four writers bump different counters in the same object; optimistic retries keep all.
  constexpr int kWriters = 4, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        StatusOr<int64_t> rev = UpdateTask(*store_, "t1", [w](Task& task) {
          std::string key = "w" + std::to_string(w);
          int n = task.labels.count(key) ? std::stoi(task.labels[key]) : 0;
          task.labels[key] = std::to_string(n + 1);
          return absl::OkStatus();
        });
        if (!rev.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  // Under heavy contention a writer may exhaust its attempts (Aborted); every write that
  // reported success must be there.
  StatusOr<store::StoredRecord> got = store_->Get(kTasksKind, "t1");
  ASSERT_TRUE(got.ok());
  StatusOr<Task> back = DecodeTaskMeta(got->record.meta);
  ASSERT_TRUE(back.ok());
  int total = 0;
  for (const auto& [k, v] : back->labels) total += std::stoi(v);
  EXPECT_EQ(total, kWriters * kEach - failures.load());
  EXPECT_LE(failures.load(), 2);
}

TEST_F(ObjectUpdateTest, MutateErrorWritesNothing) {
  Task t;
  t.id = "t1";
  StatusOr<int64_t> created = CreateTask(*store_, t);
  ASSERT_TRUE(created.ok());
  StatusOr<int64_t> rev = UpdateTask(*store_, "t1", [](Task& task) {
    task.node_id = "n1";
    return absl::FailedPreconditionError("no");
  });
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Get(kTasksKind, "t1")->mod_revision, *created);
}

TEST_F(ObjectUpdateTest, MissingObjectsAreNotFound) {
  auto noop_t = [](Task&) { return absl::OkStatus(); };
  auto noop_s = [](Service&) { return absl::OkStatus(); };
  EXPECT_EQ(UpdateTask(*store_, "nope", noop_t).status().message(), "task nope not found");
  EXPECT_EQ(UpdateService(*store_, "nope", noop_s).status().message(), "service nope not found");
}

TEST_F(ObjectUpdateTest, ServiceUpdateKeepsItsName) {
  Service s;
  s.id = "s1";
  s.spec.name = "web";
  ASSERT_TRUE(store_->Create({kServicesKind, "s1", "web"}, {EncodeServiceMeta(s), {}}).ok());
  StatusOr<int64_t> created = store_->Get(kServicesKind, "s1")->mod_revision;
  StatusOr<int64_t> rev = UpdateService(*store_, "s1", [&](Service& svc) {
    // The spec's version is pinned to the write that stored it, and kept by this write.
    EXPECT_EQ(svc.spec_version, *created);
    svc.update_status = UpdateStatus{"updating", FromUnixNanos(1), {}, "update in progress"};
    return absl::OkStatus();
  });
  ASSERT_TRUE(rev.ok()) << rev.status();
  StatusOr<store::StoredRecord> got = store_->Get(kServicesKind, "s1");
  EXPECT_EQ(got->mod_revision, *rev);
  EXPECT_EQ(DecodeServiceMeta(got->record.meta)->spec_version, *created);
  EXPECT_EQ(DecodeServiceMeta(got->record.meta)->update_status->state, "updating");
  // The name key is still held.
  EXPECT_EQ(
      store_->Create({kServicesKind, "s2", "WEB"}, {EncodeServiceMeta(s), {}}).status().code(),
      absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace capsule::controlapi
