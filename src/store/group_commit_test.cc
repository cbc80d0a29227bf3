// Group commit against a real etcd member: the GroupCommitter with a gate in front of etcd
// (so the tests decide which writes wait behind a Txn in flight and share the next one), and
// the etcd store under many threads, where every caller's answer is checked exactly.
#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "objects/objects.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"
#include "store/keys.h"
#include "store/read_model.h"

namespace capsule::store {
namespace {

using etcd::Compare;
using etcd::Op;
using etcd::testing::EtcdTest;

// Forwards to the real client; while closed, the first Txn call blocks until Open().
class GatedClient : public etcd::Client {
 public:
  explicit GatedClient(etcd::Client& real) : real_(real) {}

  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_ > 0;
  }

  StatusOr<etcd::TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<Op>& success,
                                const std::vector<Op>& failure) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++held_;
      cv_.wait(lock, [this] { return open_; });
      --held_;
    }
    return real_.Txn(compares, success, failure);
  }
  StatusOr<etcd::RangeResult> Range(const std::string& key, const std::string& end) override {
    return real_.Range(key, end);
  }
  StatusOr<int64_t> Put(const std::string& key, const std::string& value) override {
    return real_.Put(key, value);
  }
  StatusOr<int64_t> Delete(const std::string& key, const std::string& end) override {
    return real_.Delete(key, end);
  }
  StatusOr<std::unique_ptr<etcd::Watch>> WatchRange(const std::string& key, const std::string& end,
                                                    int64_t start,
                                                    etcd::WatchCallbacks callbacks) override {
    return real_.WatchRange(key, end, start, std::move(callbacks));
  }
  StatusOr<int64_t> LeaseGrant(std::chrono::seconds ttl) override { return real_.LeaseGrant(ttl); }
  Status LeaseKeepAliveOnce(int64_t id) override { return real_.LeaseKeepAliveOnce(id); }
  Status LeaseRevoke(int64_t id) override { return real_.LeaseRevoke(id); }

 private:
  etcd::Client& real_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int held_ = 0;
};

std::string Obj(const std::string& id) { return ObjectKey(kSecretsKind, id); }
std::string NameK(const std::string& name) { return NameKey(kSecretsKind, name); }

// The writes as the etcd store prepares them, with plain values.
TxnWrite CreateW(const std::string& id, const std::string& name) {
  TxnWrite w{TxnWrite::Kind::kCreate, {kSecretsKind, id, name}, Obj(id), {}, {}, {}};
  w.compares.push_back({Obj(id), Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""});
  w.ops.push_back(Op::Put(Obj(id), "v-" + id));
  if (!name.empty()) {
    w.compares.push_back(
        {NameK(name), Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""});
    w.ops.push_back(Op::Put(NameK(name), id));
  }
  return w;
}

TxnWrite UpdateW(const std::string& id, int64_t expected, const std::string& value) {
  TxnWrite w{TxnWrite::Kind::kUpdate, {kSecretsKind, id, ""}, Obj(id), {}, {}, {}};
  w.compares.push_back(
      {Obj(id), Compare::Target::kModRevision, Compare::Result::kEqual, expected, ""});
  w.ops.push_back(Op::Put(Obj(id), value));
  return w;
}

TxnWrite DeleteW(const std::string& id, const std::string& name) {
  TxnWrite w{TxnWrite::Kind::kDelete, {kSecretsKind, id, name}, Obj(id), {}, {}, {}};
  w.compares.push_back(
      {Obj(id), Compare::Target::kCreateRevision, Compare::Result::kGreater, 0, ""});
  w.ops.push_back(Op::Delete(Obj(id)));
  if (!name.empty()) w.ops.push_back(Op::Delete(NameK(name)));
  return w;
}

class GroupCommitTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    gated_ = std::make_unique<GatedClient>(*client_);
  }

  void Make(GroupCommitOptions options = {}) {
    committer_ = std::make_unique<GroupCommitter>(*gated_, options);
  }

  // Holds the next Txn at the gate: a lone write from its own thread, which returns once it
  // is in flight. Open() lets it (and everything queued behind it) through.
  void HoldATxnInFlight(const std::string& id) {
    gated_->Close();
    threads_.emplace_back([this, id] { blocker_ = committer_->Commit(CreateW(id, "")); });
    ASSERT_TRUE(
        etcd::testing::WaitFor([this] { return gated_->held(); }, std::chrono::seconds(10)));
  }

  // Starts `write` on its own thread and returns once it waits for a Txn, so the next one
  // queued is behind it (arrival order).
  void Queue(TxnWrite write, StatusOr<int64_t>* result) {
    const size_t before = committer_->waiting();
    threads_.emplace_back([this, w = std::move(write), result]() mutable {
      *result = committer_->Commit(std::move(w));
    });
    ASSERT_TRUE(etcd::testing::WaitFor([&] { return committer_->waiting() == before + 1; },
                                       std::chrono::seconds(10)));
  }

  void ReleaseAndJoin() {
    gated_->Open();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    ASSERT_TRUE(blocker_.ok()) << blocker_.status();
  }

  std::optional<etcd::KeyValue> Stored(const std::string& key) {
    StatusOr<etcd::RangeResult> r = client_->Range(key, "");
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs.front();
  }

  std::unique_ptr<GatedClient> gated_;
  std::unique_ptr<GroupCommitter> committer_;
  std::vector<std::thread> threads_;
  StatusOr<int64_t> blocker_ = absl::UnknownError("not run");
};

TEST_F(GroupCommitTest, ALoneWriteGoesAtOnceInItsOwnTxn) {
  Make();
  StatusOr<int64_t> rev = committer_->Commit(CreateW("a", "alpha"));
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(committer_->txns_sent(), 1u);
  ASSERT_TRUE(Stored(Obj("a")).has_value());
  EXPECT_EQ(Stored(Obj("a"))->mod_revision, *rev);
}

TEST_F(GroupCommitTest, WritesWaitingBehindATxnShareTheNextOne) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  HoldATxnInFlight("first");
  std::vector<StatusOr<int64_t>> results(10, absl::UnknownError("not run"));
  for (int i = 0; i < 10; ++i) {
    Queue(CreateW("s" + std::to_string(i), "name" + std::to_string(i)), &results[i]);
  }
  ReleaseAndJoin();
  EXPECT_EQ(committer_->txns_sent(), 2u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(*results[i], *results[0]);  // one Txn, one revision
    EXPECT_EQ(Stored(Obj("s" + std::to_string(i)))->mod_revision, *results[0]);
  }
  EXPECT_GT(*results[0], *blocker_);
}

TEST_F(GroupCommitTest, AFailedBatchIsSplitAndEachWriteGetsItsOwnAnswer) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  ASSERT_TRUE(committer_->Commit(CreateW("owner", "taken")).ok());
  StatusOr<int64_t> x_rev = committer_->Commit(CreateW("x", ""));
  ASSERT_TRUE(x_rev.ok());
  StatusOr<int64_t> y_rev = committer_->Commit(CreateW("y", ""));
  ASSERT_TRUE(y_rev.ok());
  ASSERT_TRUE(committer_->Commit(UpdateW("x", *x_rev, "x2")).ok());  // x is now past x_rev
  const uint64_t before = committer_->txns_sent();

  HoldATxnInFlight("first");
  StatusOr<int64_t> clash = absl::UnknownError(""), stale = absl::UnknownError(""),
                    missing = absl::UnknownError(""), clean_create = absl::UnknownError(""),
                    clean_update = absl::UnknownError(""), taken_id = absl::UnknownError("");
  Queue(CreateW("new1", "taken"), &clash);
  Queue(UpdateW("x", *x_rev, "x3"), &stale);
  Queue(CreateW("fresh", "freshname"), &clean_create);
  Queue(DeleteW("nosuch", "nosuchname"), &missing);
  Queue(UpdateW("y", *y_rev, "y2"), &clean_update);
  Queue(CreateW("owner", "othername"), &taken_id);
  ReleaseAndJoin();

  EXPECT_EQ(clash.status(), absl::AlreadyExistsError("secrets taken already exists"));
  EXPECT_EQ(stale.status(), absl::AbortedError("update out of sequence"));
  EXPECT_EQ(missing.status(), absl::NotFoundError("secrets nosuch not found"));
  EXPECT_EQ(taken_id.status(), absl::AlreadyExistsError("secrets othername already exists"));
  ASSERT_TRUE(clean_create.ok()) << clean_create.status();
  ASSERT_TRUE(clean_update.ok()) << clean_update.status();
  EXPECT_EQ(*clean_create, *clean_update);
  // The gate's Txn, the failed batch, and the clean writes again.
  EXPECT_EQ(committer_->txns_sent() - before, 3u);
  // Applied exactly once each; nothing of the failed writes.
  EXPECT_EQ(Stored(Obj("fresh"))->version, 1);
  EXPECT_EQ(Stored(Obj("y"))->value, "y2");
  EXPECT_EQ(Stored(Obj("y"))->version, 2);
  EXPECT_EQ(Stored(Obj("x"))->value, "x2");
  EXPECT_FALSE(Stored(Obj("new1")).has_value());
  EXPECT_EQ(Stored(NameK("taken"))->value, "owner");
  EXPECT_FALSE(Stored(NameK("othername")).has_value());
}

TEST_F(GroupCommitTest, AllFailingBatchAnswersEveryWriteInOneTxn) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  ASSERT_TRUE(committer_->Commit(CreateW("owner", "taken")).ok());
  const uint64_t before = committer_->txns_sent();
  HoldATxnInFlight("first");
  StatusOr<int64_t> a = absl::UnknownError(""), b = absl::UnknownError("");
  Queue(CreateW("n1", "taken"), &a);
  Queue(DeleteW("gone", ""), &b);
  ReleaseAndJoin();
  EXPECT_EQ(a.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(b.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(committer_->txns_sent() - before, 2u);  // the gate's Txn and the failed batch
}

TEST_F(GroupCommitTest, TwoCreatesOfOneNameKeepArrivalOrder) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  HoldATxnInFlight("first");
  StatusOr<int64_t> first = absl::UnknownError(""), second = absl::UnknownError("");
  Queue(CreateW("one", "same"), &first);
  Queue(CreateW("two", "same"), &second);
  ReleaseAndJoin();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(second.status(), absl::AlreadyExistsError("secrets same already exists"));
  EXPECT_EQ(Stored(NameK("same"))->value, "one");
}

TEST_F(GroupCommitTest, CreateThenDeleteOfOneObjectKeepArrivalOrder) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  HoldATxnInFlight("first");
  StatusOr<int64_t> create = absl::UnknownError(""), del = absl::UnknownError("");
  Queue(CreateW("k", "kname"), &create);
  Queue(DeleteW("k", "kname"), &del);
  ReleaseAndJoin();
  ASSERT_TRUE(create.ok()) << create.status();
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_GT(*del, *create);
  EXPECT_FALSE(Stored(Obj("k")).has_value());
  EXPECT_FALSE(Stored(NameK("kname")).has_value());
}

TEST_F(GroupCommitTest, DeleteThenCreateOfOneObjectKeepArrivalOrder) {
  Make({BatchLimits{}, /*max_in_flight=*/1});
  HoldATxnInFlight("first");
  StatusOr<int64_t> del = absl::UnknownError(""), create = absl::UnknownError("");
  Queue(DeleteW("k", "kname"), &del);
  Queue(CreateW("k", "kname"), &create);
  ReleaseAndJoin();
  EXPECT_EQ(del.status(), absl::NotFoundError("secrets k not found"));
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_TRUE(Stored(Obj("k")).has_value());
}

TEST_F(GroupCommitTest, BatchesStayWithinTheOpsLimit) {
  GroupCommitOptions options{BatchLimits{}, /*max_in_flight=*/1};
  options.limits.max_ops = 4;
  Make(options);
  HoldATxnInFlight("first");
  std::vector<StatusOr<int64_t>> results(10, absl::UnknownError("not run"));
  for (int i = 0; i < 10; ++i) Queue(CreateW("s" + std::to_string(i), ""), &results[i]);
  ReleaseAndJoin();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(committer_->txns_sent(), 1u + 3u);  // 4 + 4 + 2
}

TEST_F(GroupCommitTest, CommitAllOverEtcdsTxnLimitTakesAsFewTxnsAsItAllows) {
  Make();
  std::vector<TxnWrite> writes;
  for (int i = 0; i < 300; ++i) writes.push_back(CreateW("t" + std::to_string(i), ""));
  const std::vector<StatusOr<int64_t>> results = committer_->CommitAll(std::move(writes));
  ASSERT_EQ(results.size(), 300u);
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(committer_->txns_sent(), 3u);  // 128 + 128 + 44 (etcd's --max-txn-ops)
}

TEST_F(GroupCommitTest, CommitAllAppliesWritesOnOneKeyInTheOrderGiven) {
  Make();
  std::vector<TxnWrite> writes;
  writes.push_back(CreateW("k", "kname"));
  writes.push_back(CreateW("other", ""));
  writes.push_back(DeleteW("k", "kname"));
  writes.push_back(CreateW("k", "kname"));
  writes.push_back(CreateW("k2", "kname"));  // the name is taken again by then
  const std::vector<StatusOr<int64_t>> r = committer_->CommitAll(std::move(writes));
  ASSERT_TRUE(r[0].ok() && r[1].ok() && r[2].ok() && r[3].ok());
  EXPECT_EQ(*r[0], *r[1]);  // independent writes share the first Txn
  EXPECT_LT(*r[0], *r[2]);
  EXPECT_LT(*r[2], *r[3]);
  EXPECT_EQ(r[4].status(), absl::AlreadyExistsError("secrets kname already exists"));
  EXPECT_EQ(Stored(NameK("kname"))->value, "k");
}

// ---- The etcd store under many threads: exact per-caller outcomes.

class GroupCommitStoreTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    store_ = NewEtcdStore(*client_, keyring_);
  }
  Record SecretRecord(const std::string& id, const std::string& name) {
    Secret s;
    s.id = id;
    s.name = name;
    return Record{EncodeSecretMeta(s), SecretBytes::CopyFrom("data-" + id)};
  }
  size_t KeysUnder(const std::string& prefix) {
    StatusOr<etcd::RangeResult> r = client_->Range(prefix, etcd::PrefixEnd(prefix));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->kvs.size() : 0;
  }

  crypto::Keyring keyring_;
  std::unique_ptr<Store> store_;
};

TEST_F(GroupCommitStoreTest, ManyThreadsCreatingAndDeletingGetExactlyTheirOwnAnswers) {
  constexpr int kThreads = 16, kOwn = 20, kContested = 10;
  std::atomic<int> wrong{0};
  std::vector<std::vector<int>> won(kContested);  // per contested name: the threads that won
  std::mutex won_mu;
  std::set<int64_t> revisions;
  std::mutex rev_mu;
  auto worker = [&](int t) {
    for (int j = 0; j < kOwn; ++j) {
      const std::string id = "own-" + std::to_string(t) + "-" + std::to_string(j);
      StatusOr<int64_t> r = store_->Create({kSecretsKind, id, id}, SecretRecord(id, id));
      if (!r.ok()) {
        ++wrong;
        continue;
      }
      std::lock_guard<std::mutex> lock(rev_mu);
      revisions.insert(*r);
    }
    for (int k = 0; k < kContested; ++k) {
      const std::string name = "Contested-" + std::to_string(k);
      const std::string id = "c-" + std::to_string(k) + "-" + std::to_string(t);
      // Names are unique case-insensitively: half the threads use another case.
      const std::string as = t % 2 ? AsciiLower(name) : name;
      StatusOr<int64_t> r = store_->Create({kSecretsKind, id, as}, SecretRecord(id, as));
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(won_mu);
        won[k].push_back(t);
      } else if (r.status() != absl::AlreadyExistsError("secrets " + as + " already exists")) {
        ++wrong;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  threads.clear();
  EXPECT_EQ(wrong.load(), 0);
  for (int k = 0; k < kContested; ++k) EXPECT_EQ(won[k].size(), 1u) << "name " << k;
  EXPECT_EQ(KeysUnder(KindPrefix(kSecretsKind)), size_t{kThreads * kOwn + kContested});
  EXPECT_EQ(KeysUnder(std::string(kRoot) + "names/"), size_t{kThreads * kOwn + kContested});

  // Deletes: every thread deletes its own (OK) and every contested winner (one OK each, the
  // others NotFound).
  std::vector<std::atomic<int>> deleted(kContested);
  auto deleter = [&](int t) {
    for (int j = 0; j < kOwn; ++j) {
      const std::string id = "own-" + std::to_string(t) + "-" + std::to_string(j);
      if (!store_->Delete({kSecretsKind, id, id}, 0).ok()) ++wrong;
    }
    for (int k = 0; k < kContested; ++k) {
      const int w = won[k].front();
      const std::string name = "Contested-" + std::to_string(k);
      const std::string id = "c-" + std::to_string(k) + "-" + std::to_string(w);
      StatusOr<int64_t> r = store_->Delete({kSecretsKind, id, name}, 0);
      if (r.ok()) {
        ++deleted[k];
      } else if (r.status() != absl::NotFoundError("secrets " + id + " not found")) {
        ++wrong;
      }
    }
  };
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(deleter, t);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  for (int k = 0; k < kContested; ++k) EXPECT_EQ(deleted[k].load(), 1) << "name " << k;
  EXPECT_EQ(KeysUnder(kObjectsPrefix), 0u);
  EXPECT_EQ(KeysUnder(std::string(kRoot) + "names/"), 0u);
  // Every revision returned is one etcd actually wrote; LastWrittenRevision is the highest.
  EXPECT_GE(store_->LastWrittenRevision(), *revisions.rbegin());
}

TEST_F(GroupCommitStoreTest, ConcurrentUpdatesAtOneRevisionExactlyOneWins) {
  StatusOr<int64_t> created = store_->Create({kSecretsKind, "x", "x"}, SecretRecord("x", "x"));
  ASSERT_TRUE(created.ok());
  constexpr int kThreads = 16;
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      StatusOr<int64_t> r =
          store_->Update({kSecretsKind, "x", ""}, *created, SecretRecord("x", "x"));
      if (r.ok()) {
        ++ok;
      } else if (r.status() == absl::AbortedError("update out of sequence")) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  StatusOr<StoredRecord> now = store_->Get(kSecretsKind, "x");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->mod_revision, store_->LastWrittenRevision());
}

}  // namespace
}  // namespace capsule::store
