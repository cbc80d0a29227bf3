// UpdateTask on the MemoryStore (store_conformance_test.cc holds it to the etcd store's
// behaviour).
#include "manager/controlapi/object_update.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/memory_store.h"

namespace capsule::controlapi {
namespace {

class ObjectUpdateTest : public ::testing::Test {
 protected:
  StatusOr<int64_t> CreateTask(const Task& t) {
    return store_.Create({kTasksKind, t.id, ""}, {EncodeTaskMeta(t), {}});
  }
  store::MemoryStore store_;
};

TEST_F(ObjectUpdateTest, ConcurrentTaskWritersAllLand) {
  Task t;
  t.id = "t1";
  t.service_id = "s1";
  ASSERT_TRUE(CreateTask(t).ok());
  // Four writers bump different counters in the same object; optimistic retries keep all.
  constexpr int kWriters = 4, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        StatusOr<int64_t> rev =
            UpdateTask(store_, "t1", [w](Task& task) -> StatusOr<store::Mutation> {
              std::string key = "w" + std::to_string(w);
              int n = task.labels.count(key) ? std::stoi(task.labels[key]) : 0;
              task.labels[key] = std::to_string(n + 1);
              return store::Mutation::kWrite;
            });
        if (rev.ok()) continue;
        EXPECT_EQ(rev.status().message(), "update out of sequence");
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  // Under heavy contention a writer may exhaust its attempts ("update out of sequence"; how often
  // depends on the scheduler, so it is not bounded here). The property: every write that reported
  // success is there, none twice, and each round of the race has a winner.
  StatusOr<store::StoredRecord> got = store_.Get(kTasksKind, "t1");
  ASSERT_TRUE(got.ok());
  StatusOr<Task> back = DecodeTaskMeta(got->record.meta);
  ASSERT_TRUE(back.ok());
  int total = 0;
  for (const auto& [k, v] : back->labels) total += std::stoi(v);
  EXPECT_EQ(total, kWriters * kEach - failures.load());
  EXPECT_LT(failures.load(), kWriters * kEach);
}

TEST_F(ObjectUpdateTest, MutateErrorWritesNothing) {
  Task t;
  t.id = "t1";
  StatusOr<int64_t> created = CreateTask(t);
  ASSERT_TRUE(created.ok());
  StatusOr<int64_t> rev = UpdateTask(store_, "t1", [](Task& task) -> StatusOr<store::Mutation> {
    task.node_id = "n1";
    return absl::FailedPreconditionError("no");
  });
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_.Get(kTasksKind, "t1")->mod_revision, *created);
}

TEST_F(ObjectUpdateTest, AMissingTaskIsNotFound) {
  auto noop = [](Task&) -> StatusOr<store::Mutation> { return store::Mutation::kKeep; };
  EXPECT_EQ(UpdateTask(store_, "nope", noop).status().message(), "task nope not found");
}

}  // namespace
}  // namespace capsule::controlapi
