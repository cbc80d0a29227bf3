// NewFencedStore on the etcd store: leader work's writes carry a compare on the leader key's
// create_revision, in the same Txn as their own compares, so a stale leader's write is refused
// (nothing written) while the current leader's lands.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "objects/service_model.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"
#include "store/keys.h"

namespace capsule::store {
namespace {

using etcd::testing::EtcdTest;

class FencedStoreTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    store_ = NewEtcdStore(*client_, keyring_);
  }

  // Creates the leader key as an elector would (no lease needed here) and returns its fence.
  Fence TakeLeadership(const std::string& who) {
    StatusOr<etcd::TxnResult> r =
        client_->Txn({etcd::Compare{kLeaderKey, etcd::Compare::Target::kCreateRevision,
                                    etcd::Compare::Result::kEqual, 0, ""}},
                     {etcd::Op::Put(kLeaderKey, who)}, {});
    EXPECT_TRUE(r.ok() && r->succeeded);
    return Fence{kLeaderKey, r.ok() ? r->revision : 0};
  }
  void LoseLeadership() { ASSERT_OK(client_->Delete(kLeaderKey, "").status()); }

  std::unique_ptr<Store> FencedView(const Fence& fence) {
    StatusOr<std::unique_ptr<Store>> v =
        NewFencedStore(*store_, fence, [this] { fence_failures_.fetch_add(1); });
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }

  static Record Task(const std::string& meta) { return Record{meta, {}}; }
  bool Exists(const std::string& id) { return store_->Get(kTasksKind, id).ok(); }

  crypto::Keyring keyring_;
  std::unique_ptr<Store> store_;
  std::atomic<int> fence_failures_{0};
};

bool IsNotLeader(const StatusOr<int64_t>& r) {
  return !r.ok() && r.status().code() == absl::StatusCode::kFailedPrecondition &&
         r.status().message() == kNotLeaderMessage;
}

TEST_F(FencedStoreTest, TheCurrentLeadersWritesLand) {
  std::unique_ptr<Store> leader = FencedView(TakeLeadership("m1"));
  ASSERT_OK(leader->Create({kTasksKind, "t1", ""}, Task("{\"a\":1}")).status());
  StatusOr<StoredRecord> got = leader->Get(kTasksKind, "t1");
  ASSERT_OK(got.status());
  ASSERT_OK(leader->Update({kTasksKind, "t1", ""}, got->mod_revision, Task("{\"a\":2}")).status());
  ASSERT_OK(leader->Delete({kTasksKind, "t1", ""}, 0).status());
  EXPECT_EQ(fence_failures_.load(), 0);
}

TEST_F(FencedStoreTest, AStaleLeadersCreateIsRefusedAndWritesNothing) {
  const Fence old_term = TakeLeadership("m1");
  std::unique_ptr<Store> stale = FencedView(old_term);
  LoseLeadership();
  TakeLeadership("m2");  // a new term: the key exists again, with another create_revision

  const int64_t before = client_->Range(kLeaderKey, "")->revision;
  EXPECT_TRUE(IsNotLeader(stale->Create({kTasksKind, "t1", ""}, Task("{}"))));
  EXPECT_FALSE(Exists("t1"));
  EXPECT_EQ(client_->Range(kLeaderKey, "")->revision, before);  // no revision was written
  EXPECT_EQ(fence_failures_.load(), 1);
}

TEST_F(FencedStoreTest, AStaleLeadersUpdateAndDeleteAreRefusedWhileTheNewLeadersLand) {
  ASSERT_OK(store_->Create({kTasksKind, "t1", ""}, Task("{\"v\":0}")).status());
  const int64_t rev = store_->Get(kTasksKind, "t1")->mod_revision;
  std::unique_ptr<Store> stale = FencedView(TakeLeadership("m1"));
  LoseLeadership();
  std::unique_ptr<Store> current = FencedView(TakeLeadership("m2"));

  EXPECT_TRUE(IsNotLeader(stale->Update({kTasksKind, "t1", ""}, rev, Task("{\"v\":1}"))));
  EXPECT_TRUE(IsNotLeader(stale->Delete({kTasksKind, "t1", ""}, rev)));
  EXPECT_EQ(store_->Get(kTasksKind, "t1")->record.meta, "{\"v\":0}");
  // Positive control: the same write, with the current leadership, lands.
  ASSERT_OK(current->Update({kTasksKind, "t1", ""}, rev, Task("{\"v\":2}")).status());
  EXPECT_EQ(store_->Get(kTasksKind, "t1")->record.meta, "{\"v\":2}");
}

TEST_F(FencedStoreTest, AWriteWhileNoOneLeadsIsRefused) {
  std::unique_ptr<Store> stale = FencedView(TakeLeadership("m1"));
  LoseLeadership();  // the lease expired; no one won yet
  EXPECT_TRUE(IsNotLeader(stale->Create({kTasksKind, "t1", ""}, Task("{}"))));
  EXPECT_FALSE(Exists("t1"));
}

TEST_F(FencedStoreTest, EveryWriteOfAStaleLeadersBatchIsRefused) {
  std::unique_ptr<Store> stale = FencedView(TakeLeadership("m1"));
  LoseLeadership();
  TakeLeadership("m2");
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 20; ++i) {
    writes.push_back({WriteRequest::Kind::kCreate,
                      {kTasksKind, "t" + std::to_string(i), ""},
                      0,
                      Task("{}"),
                      {}});
  }
  std::vector<StatusOr<int64_t>> results = stale->WriteBatch(std::move(writes));
  ASSERT_EQ(results.size(), 20u);
  for (const StatusOr<int64_t>& r : results) EXPECT_TRUE(IsNotLeader(r)) << r.status();
  StatusOr<MetaSnapshot> all = store_->ListMeta();
  ASSERT_OK(all.status());
  EXPECT_TRUE(all->objects.empty());
  EXPECT_EQ(fence_failures_.load(), 1);  // once per refused batch
}

TEST_F(FencedStoreTest, AFencedBatchSharesOneTxnAndAppliesAtOneRevision) {
  std::unique_ptr<Store> leader = FencedView(TakeLeadership("m1"));
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 50; ++i) {
    writes.push_back({WriteRequest::Kind::kCreate,
                      {kTasksKind, "t" + std::to_string(i), ""},
                      0,
                      Task("{}"),
                      {}});
  }
  std::vector<StatusOr<int64_t>> results = leader->WriteBatch(std::move(writes));
  ASSERT_EQ(results.size(), 50u);
  for (const StatusOr<int64_t>& r : results) {
    ASSERT_OK(r.status());
    EXPECT_EQ(*r, *results.front());  // the fence did not split the batch
  }
}

TEST_F(FencedStoreTest, AStaleLeadersWritesFailAloneInGroupCommitWithOthersWrites) {
  // Unfenced API writes and a stale leader's writes, concurrently: the group committer may
  // put them in one Txn; only the fenced ones fail, each API write lands.
  std::unique_ptr<Store> stale = FencedView(TakeLeadership("m1"));
  LoseLeadership();
  TakeLeadership("m2");
  std::vector<std::thread> threads;
  std::atomic<int> api_ok{0}, stale_refused{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string suffix = std::to_string(t) + "-" + std::to_string(i);
        if (store_->Create({kTasksKind, "api" + suffix, ""}, Task("{}")).ok()) ++api_ok;
        if (IsNotLeader(stale->Create({kTasksKind, "old" + suffix, ""}, Task("{}")))) {
          ++stale_refused;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(api_ok.load(), 80);
  EXPECT_EQ(stale_refused.load(), 80);
  StatusOr<MetaSnapshot> all = store_->ListMeta();
  ASSERT_OK(all.status());
  EXPECT_EQ(all->objects.size(), 80u);
  for (const ObjectMeta& m : all->objects) EXPECT_EQ(m.id.rfind("api", 0), 0u) << m.id;
}

TEST_F(FencedStoreTest, AnObjectKeyCannotBeAFence) {
  EXPECT_FALSE(NewFencedStore(*store_, Fence{ObjectKey(kTasksKind, "t1"), 1}, nullptr).ok());
}

}  // namespace
}  // namespace capsule::store
