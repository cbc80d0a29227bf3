// What the MemoryStore adds to the Store contract (the contract itself:
// store_conformance_test.cc).
#include "store/memory_store.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace capsule::store {
namespace {

TEST(MemoryStoreTest, CompactRefusesTheFutureAndWhatIsAlreadyCompacted) {
  MemoryStore store;
  StatusOr<int64_t> rev = store.Create({"things", "a", ""}, {"{}", {}});
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(store.Compact(*rev + 1).code(), StatusCode::kOutOfRange);
  ASSERT_TRUE(store.Compact(*rev).ok());
  EXPECT_EQ(store.Compact(*rev).code(), StatusCode::kOutOfRange);
  // A watch from the compacted revision itself still works (etcd keeps that revision).
  std::mutex mu;
  std::condition_variable cv;
  size_t seen = 0;
  StoreWatchCallbacks cb;
  cb.on_events = [&](const std::vector<ObjectEvent>& events, int64_t) {
    std::lock_guard<std::mutex> lock(mu);
    seen += events.size();
    cv.notify_all();
  };
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(*rev, cb);
  ASSERT_TRUE(watch.ok());
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen == 1; }));
}

// The MemoryStore cannot keep side writes (store.h): a write carrying one is refused whole.
TEST(MemoryStoreTest, RefusesAWriteWithSideWritesAndStoresNothingOfIt) {
  MemoryStore store;
  std::vector<WriteRequest> writes;
  writes.push_back({WriteRequest::Kind::kCreate,
                    {"things", "a", ""},
                    0,
                    {"{}", {}},
                    {{"/capsule/v1/audit/e", "x"}}});
  writes.push_back({WriteRequest::Kind::kCreate, {"things", "b", ""}, 0, {"{}", {}}, {}});
  std::vector<StatusOr<int64_t>> r = store.WriteBatch(std::move(writes));
  EXPECT_EQ(r[0].status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r[1].ok());
  EXPECT_EQ(store.Get("things", "a").status().code(), StatusCode::kNotFound);
}

TEST(MemoryStoreTest, WatchCallbacksMayWriteToTheStore) {
  MemoryStore store;
  std::mutex mu;
  std::condition_variable cv;
  bool echoed = false;
  StoreWatchCallbacks cb;
  cb.on_events = [&](const std::vector<ObjectEvent>& events, int64_t) {
    for (const ObjectEvent& e : events) {
      if (e.object.id != "ping") continue;
      EXPECT_TRUE(store.Create({"things", "pong", ""}, {"{}", {}}).ok());
      std::lock_guard<std::mutex> lock(mu);
      echoed = true;
      cv.notify_all();
    }
  };
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(0, cb);
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store.Create({"things", "ping", ""}, {"{}", {}}).ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return echoed; }));
  }
  EXPECT_TRUE(store.Get("things", "pong").ok());
}

}  // namespace
}  // namespace capsule::store
