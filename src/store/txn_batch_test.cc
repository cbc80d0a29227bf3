// The batch splitter of the etcd store's group commit (txn_batch.h), as pure functions: which
// writes share a Txn, and, for a failed batch, which writes failed and with what answer.
#include "store/txn_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace capsule::store {
namespace {

using etcd::Compare;
using etcd::KeyValue;
using etcd::Op;

std::string Obj(const std::string& id) { return "/o/secrets/" + id; }
std::string Name(const std::string& name) { return "/n/secrets/" + name; }

TxnWrite CreateW(const std::string& id, const std::string& name, size_t value_bytes = 10) {
  TxnWrite w{TxnWrite::Kind::kCreate, {"secrets", id, name}, Obj(id), {}, {}, {}};
  w.compares.push_back({Obj(id), Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""});
  w.ops.push_back(Op::Put(Obj(id), std::string(value_bytes, 'x')));
  if (!name.empty()) {
    w.compares.push_back(
        {Name(name), Compare::Target::kCreateRevision, Compare::Result::kEqual, 0, ""});
    w.ops.push_back(Op::Put(Name(name), id));
  }
  return w;
}

TxnWrite UpdateW(const std::string& id, int64_t expected) {
  TxnWrite w{TxnWrite::Kind::kUpdate, {"secrets", id, ""}, Obj(id), {}, {}, {}};
  w.compares.push_back(
      {Obj(id), Compare::Target::kModRevision, Compare::Result::kEqual, expected, ""});
  w.ops.push_back(Op::Put(Obj(id), "v"));
  return w;
}

TxnWrite DeleteW(const std::string& id, const std::string& name, int64_t expected) {
  TxnWrite w{TxnWrite::Kind::kDelete, {"secrets", id, name}, Obj(id), {}, {}, {}};
  if (expected > 0) {
    w.compares.push_back(
        {Obj(id), Compare::Target::kModRevision, Compare::Result::kEqual, expected, ""});
  } else {
    w.compares.push_back(
        {Obj(id), Compare::Target::kCreateRevision, Compare::Result::kGreater, 0, ""});
  }
  w.ops.push_back(Op::Delete(Obj(id)));
  if (!name.empty()) w.ops.push_back(Op::Delete(Name(name)));
  return w;
}

KeyValue Kv(const std::string& key, int64_t create, int64_t mod) {
  KeyValue kv;
  kv.key = key;
  kv.create_revision = create;
  kv.mod_revision = mod;
  kv.version = 1;
  return kv;
}

std::vector<const TxnWrite*> Ptrs(const std::vector<TxnWrite>& ws) {
  std::vector<const TxnWrite*> out;
  for (const TxnWrite& w : ws) out.push_back(&w);
  return out;
}

// ---- PickBatch

TEST(PickBatchTest, TakesEveryWriteOnDistinctKeys) {
  const std::vector<TxnWrite> ws = {CreateW("a", "alpha"), UpdateW("b", 3), DeleteW("c", "", 0)};
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, BatchLimits{}), (std::vector<size_t>{0, 1, 2}));
}

TEST(PickBatchTest, TwoCreatesOfOneNameNeverShareATxn) {
  const std::vector<TxnWrite> ws = {CreateW("a", "same"), CreateW("b", "same"), CreateW("c", "")};
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, BatchLimits{}), (std::vector<size_t>{0, 2}));
}

TEST(PickBatchTest, CreateAndDeleteOfOneObjectKeepArrivalOrder) {
  const std::vector<TxnWrite> ws = {CreateW("a", ""), DeleteW("a", "", 0)};
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, BatchLimits{}), (std::vector<size_t>{0}));
}

TEST(PickBatchTest, AWriteOnABusyKeyWaitsAndSoDoesALaterWriteOnItsKeys) {
  // "a" is in flight: the update of a waits, the create of b goes, and the later delete of a
  // waits behind the update.
  const std::vector<TxnWrite> ws = {UpdateW("a", 2), CreateW("b", ""), DeleteW("a", "", 0)};
  EXPECT_EQ(PickBatch(Ptrs(ws), {Obj("a")}, BatchLimits{}), (std::vector<size_t>{1}));
}

TEST(PickBatchTest, AWriteBlockedByAnEarlierWaitingWriteDoesNotOvertakeIt) {
  // 0 waits on busy key a; 1 shares name n with 0 and must stay behind it.
  std::vector<TxnWrite> ws = {DeleteW("a", "n", 0), CreateW("b", "n")};
  EXPECT_TRUE(PickBatch(Ptrs(ws), {Obj("a")}, BatchLimits{}).empty());
}

TEST(PickBatchTest, StaysWithinMaxTxnOps) {
  std::vector<TxnWrite> ws;
  for (int i = 0; i < 10; ++i)
    ws.push_back(CreateW("id" + std::to_string(i), "n" + std::to_string(i)));
  BatchLimits limits;
  limits.max_ops = 7;  // each named create has 2 compares, 2 ops, 2 reads
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, limits), (std::vector<size_t>{0, 1, 2}));
}

TEST(PickBatchTest, StaysWithinMaxBytesButSendsAnOversizeWriteAlone) {
  const std::vector<TxnWrite> ws = {CreateW("a", "", 600), CreateW("b", "", 600),
                                    CreateW("c", "", 10)};
  BatchLimits limits;
  limits.max_bytes = 1000;
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, limits), (std::vector<size_t>{0}));
  limits.max_bytes = 100;
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, limits), (std::vector<size_t>{0}));
}

TEST(PickBatchTest, EverythingBusyGivesAnEmptyBatch) {
  const std::vector<TxnWrite> ws = {UpdateW("a", 2)};
  EXPECT_TRUE(PickBatch(Ptrs(ws), {Obj("a")}, BatchLimits{}).empty());
}

// ---- BuildBatchTxn

TEST(BuildBatchTxnTest, AndsComparesConcatenatesOpsAndReadsEachComparedKeyOnFailure) {
  const std::vector<TxnWrite> ws = {CreateW("a", "alpha"), DeleteW("b", "beta", 4)};
  const BatchTxn txn = BuildBatchTxn(Ptrs(ws));
  ASSERT_EQ(txn.compares.size(), 3u);
  ASSERT_EQ(txn.success.size(), 4u);
  ASSERT_EQ(txn.failure.size(), 3u);
  EXPECT_EQ(txn.failure[0].key, Obj("a"));
  EXPECT_EQ(txn.failure[1].key, Name("alpha"));
  EXPECT_EQ(txn.failure[2].key, Obj("b"));
  for (const Op& op : txn.failure) {
    EXPECT_EQ(op.type, Op::Type::kRange);
    EXPECT_TRUE(op.keys_only);
  }
}

// ---- SplitFailedBatch

TEST(SplitFailedBatchTest, NameClashInsideTheBatchFailsOnlyThatCreate) {
  const std::vector<TxnWrite> ws = {CreateW("a", "taken"), CreateW("b", "free")};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Name("taken"), 5, 5)});
  EXPECT_EQ(split.retry, (std::vector<size_t>{1}));
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].first, 0u);
  EXPECT_EQ(split.failed[0].second, absl::AlreadyExistsError("secrets taken already exists"));
}

TEST(SplitFailedBatchTest, TakenIdIsAlreadyExistsWithTheName) {
  const std::vector<TxnWrite> ws = {CreateW("a", "x")};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("a"), 5, 5)});
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].second, absl::AlreadyExistsError("secrets x already exists"));
}

TEST(SplitFailedBatchTest, StaleRevisionIsAborted) {
  const std::vector<TxnWrite> ws = {UpdateW("a", 4), UpdateW("b", 7)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("a"), 2, 9), Kv(Obj("b"), 2, 7)});
  EXPECT_EQ(split.retry, (std::vector<size_t>{1}));
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].first, 0u);
  EXPECT_EQ(split.failed[0].second, absl::AbortedError("update out of sequence"));
}

TEST(SplitFailedBatchTest, UpdateOfAMissingObjectIsNotFound) {
  const std::vector<TxnWrite> ws = {UpdateW("gone", 4)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {});
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].second, absl::NotFoundError("secrets gone not found"));
}

TEST(SplitFailedBatchTest, DeleteOfAMissingObjectIsNotFoundAndTheOthersRetry) {
  const std::vector<TxnWrite> ws = {CreateW("a", ""), DeleteW("gone", "g", 0), DeleteW("c", "", 3)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("c"), 3, 3)});
  EXPECT_EQ(split.retry, (std::vector<size_t>{0, 2}));
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].first, 1u);
  EXPECT_EQ(split.failed[0].second, absl::NotFoundError("secrets gone not found"));
}

TEST(SplitFailedBatchTest, DeleteAtAStaleRevisionIsAborted) {
  const std::vector<TxnWrite> ws = {DeleteW("c", "", 3)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("c"), 3, 8)});
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].second, absl::AbortedError("update out of sequence"));
}

TEST(SplitFailedBatchTest, UpdateAtZeroCreatesOnlyAMissingObject) {
  const std::vector<TxnWrite> ws = {UpdateW("new", 0), UpdateW("old", 0)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("old"), 2, 2)});
  EXPECT_EQ(split.retry, (std::vector<size_t>{0}));
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].second, absl::AbortedError("update out of sequence"));
}

TEST(SplitFailedBatchTest, AllFailingEachGetsItsOwnAnswer) {
  const std::vector<TxnWrite> ws = {CreateW("a", "n"), UpdateW("b", 2), DeleteW("c", "", 0),
                                    UpdateW("d", 5)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Name("n"), 1, 1), Kv(Obj("d"), 1, 6)});
  EXPECT_TRUE(split.retry.empty());
  ASSERT_EQ(split.failed.size(), 4u);
  EXPECT_EQ(split.failed[0].second.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(split.failed[1].second, absl::NotFoundError("secrets b not found"));
  EXPECT_EQ(split.failed[2].second, absl::NotFoundError("secrets c not found"));
  EXPECT_EQ(split.failed[3].second, absl::AbortedError("update out of sequence"));
}

TEST(SplitFailedBatchTest, AllCleanAgainstTheReadIsAnInternalErrorNotARetryLoop) {
  // etcd said the AND failed, yet every compare holds against its read: never retried forever.
  const std::vector<TxnWrite> ws = {CreateW("a", ""), UpdateW("b", 2)};
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(Obj("b"), 1, 2)});
  EXPECT_TRUE(split.retry.empty());
  ASSERT_EQ(split.failed.size(), 2u);
  EXPECT_EQ(split.failed[0].second.code(), StatusCode::kInternal);
  EXPECT_EQ(split.failed[1].second.code(), StatusCode::kInternal);
}

TEST(ComparesHoldTest, MissingKeyComparesAsRevisionZero) {
  EXPECT_TRUE(ComparesHold(CreateW("a", "n"), {}));
  EXPECT_FALSE(ComparesHold(DeleteW("a", "", 0), {}));
  EXPECT_TRUE(ComparesHold(DeleteW("a", "", 0), {Kv(Obj("a"), 1, 1)}));
}

// ---- Fences (store::NewFencedStore)

const char kLeader[] = "/election/leader";

TxnWrite Fenced(TxnWrite w, int64_t term) {
  w.fences.push_back(
      {kLeader, Compare::Target::kCreateRevision, Compare::Result::kEqual, term, ""});
  return w;
}

TEST(FenceTest, WritesSharingAFenceKeyShareABatch) {
  const std::vector<TxnWrite> ws = {Fenced(CreateW("a", ""), 7), Fenced(UpdateW("b", 3), 7),
                                    CreateW("c", "")};
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, BatchLimits{}), (std::vector<size_t>{0, 1, 2}));
}

TEST(FenceTest, TheBatchTxnCarriesEachDistinctFenceOnceAndReadsItsKeyOnce) {
  const std::vector<TxnWrite> ws = {Fenced(CreateW("a", ""), 7), Fenced(CreateW("b", ""), 7)};
  const BatchTxn txn = BuildBatchTxn(Ptrs(ws));
  ASSERT_EQ(txn.compares.size(), 3u);  // a, the fence, b
  EXPECT_EQ(txn.compares[1].key, kLeader);
  ASSERT_EQ(txn.failure.size(), 3u);  // a, the leader key, b
  EXPECT_EQ(txn.failure[1].key, kLeader);
}

TEST(FenceTest, ManyFencedWritesFitOneTxnWithinMaxTxnOps) {
  std::vector<TxnWrite> ws;
  for (int i = 0; i < 100; ++i) ws.push_back(Fenced(UpdateW("o" + std::to_string(i), 2), 7));
  // 100 compares + 1 fence, 100 puts, 101 reads: within 128.
  EXPECT_EQ(PickBatch(Ptrs(ws), {}, BatchLimits{}).size(), 100u);
}

TEST(FenceTest, AFailedFenceIsNotTheLeaderWhateverTheWritesOwnComparesSay) {
  const std::vector<TxnWrite> ws = {Fenced(CreateW("a", ""), 7), UpdateW("b", 3)};
  // The leader key was created again (term 9): the fenced create fails with FailedPrecondition;
  // the unfenced update's compare holds, so it is retried.
  const BatchSplit split = SplitFailedBatch(Ptrs(ws), {Kv(kLeader, 9, 9), Kv(Obj("b"), 3, 3)});
  EXPECT_EQ(split.retry, (std::vector<size_t>{1}));
  ASSERT_EQ(split.failed.size(), 1u);
  EXPECT_EQ(split.failed[0].first, 0u);
  EXPECT_EQ(split.failed[0].second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(split.failed[0].second.message(), kNotLeaderMessage);
}

TEST(FenceTest, AMissingLeaderKeyFailsTheFence) {
  const TxnWrite w = Fenced(CreateW("a", ""), 7);
  EXPECT_FALSE(ComparesHold(w, {}));
  EXPECT_TRUE(ComparesHold(w, {Kv(kLeader, 7, 7)}));
}

}  // namespace
}  // namespace capsule::store
