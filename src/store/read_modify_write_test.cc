// UpdateAtVersion / UpdateLatest / RetryOnConflict on the MemoryStore.
#include "store/read_modify_write.h"

#include <gtest/gtest.h>

#include "store/memory_store.h"

namespace capsule::store {
namespace {

class ReadModifyWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<int64_t> rev = store_.Create({"things", "t1", ""}, {"v0", {}});
    ASSERT_TRUE(rev.ok());
    created_ = *rev;
  }
  std::string Meta() { return store_.Get("things", "t1")->record.meta; }
  // Another writer: changes t1 behind the back of whoever read it.
  void WriteBehindTheBack() {
    StatusOr<StoredRecord> cur = store_.Get("things", "t1");
    ASSERT_TRUE(cur.ok());
    ASSERT_TRUE(store_.Update({"things", "t1", ""}, cur->mod_revision, {"other", {}}).ok());
  }

  MemoryStore store_;
  int64_t created_ = 0;
};

MutateFn SetMeta(const std::string& meta, int* calls = nullptr) {
  return [meta, calls](StoredRecord& object) -> StatusOr<Mutation> {
    if (calls) ++*calls;
    object.record.meta = meta;
    return Mutation::kWrite;
  };
}

TEST_F(ReadModifyWriteTest, OutOfSequenceIsSwarmkitsError) {
  EXPECT_EQ(OutOfSequence().code(), StatusCode::kUnknown);
  EXPECT_EQ(OutOfSequence().message(), "update out of sequence");
}

TEST_F(ReadModifyWriteTest, UpdateAtTheCurrentVersionWrites) {
  StatusOr<int64_t> rev = UpdateAtVersion(store_, "things", "t1", created_, SetMeta("v1"));
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, created_);
  EXPECT_EQ(Meta(), "v1");
}

TEST_F(ReadModifyWriteTest, UpdateAtAnotherVersionIsOutOfSequenceAfterOneAttempt) {
  for (int64_t version : {created_ - 1, created_ + 1, int64_t{0}, int64_t{-5}}) {
    int calls = 0;
    Status s = UpdateAtVersion(store_, "things", "t1", version, SetMeta("v1", &calls)).status();
    EXPECT_EQ(s.code(), StatusCode::kUnknown) << version;
    EXPECT_EQ(s.message(), "update out of sequence");
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(Meta(), "v0");
}

TEST_F(ReadModifyWriteTest, AMissingObjectIsTheStoresNotFound) {
  Status at = UpdateAtVersion(store_, "things", "nope", 1, SetMeta("x")).status();
  Status latest = UpdateLatest(store_, "things", "nope", SetMeta("x")).status();
  EXPECT_EQ(at.code(), StatusCode::kNotFound);
  EXPECT_EQ(at.message(), "things nope not found");
  EXPECT_EQ(latest.code(), StatusCode::kNotFound);
}

TEST_F(ReadModifyWriteTest, AMutateErrorWritesNothing) {
  auto refuse = [](StoredRecord& object) -> StatusOr<Mutation> {
    object.record.meta = "changed";
    return absl::InvalidArgumentError("no");
  };
  EXPECT_EQ(UpdateAtVersion(store_, "things", "t1", created_, refuse).status().message(), "no");
  EXPECT_EQ(UpdateLatest(store_, "things", "t1", refuse).status().message(), "no");
  EXPECT_EQ(store_.Get("things", "t1")->mod_revision, created_);
}

TEST_F(ReadModifyWriteTest, KeepWritesNothingAndReturnsTheRevisionRead) {
  auto keep = [](StoredRecord&) -> StatusOr<Mutation> { return Mutation::kKeep; };
  StatusOr<int64_t> rev = UpdateLatest(store_, "things", "t1", keep);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(*rev, created_);
  EXPECT_EQ(store_.LastWrittenRevision(), created_);
}

TEST_F(ReadModifyWriteTest, UpdateLatestReadsAgainAfterALostRace) {
  int calls = 0;
  StatusOr<int64_t> rev =
      UpdateLatest(store_, "things", "t1", [&](StoredRecord& object) -> StatusOr<Mutation> {
        if (++calls == 1) WriteBehindTheBack();
        object.record.meta += "+mine";
        return Mutation::kWrite;
      });
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(Meta(), "other+mine");  // the second attempt built on the other write
}

TEST_F(ReadModifyWriteTest, UpdateLatestGivesUpOutOfSequenceAfterEveryAttemptLost) {
  int calls = 0;
  Status s = UpdateLatest(store_, "things", "t1", [&](StoredRecord&) -> StatusOr<Mutation> {
               ++calls;
               WriteBehindTheBack();
               return Mutation::kWrite;
             }).status();
  EXPECT_EQ(s.code(), StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "update out of sequence");
  EXPECT_EQ(calls, kWriteAttempts);
  EXPECT_EQ(Meta(), "other");
}

TEST_F(ReadModifyWriteTest, RetryOnConflictRetriesOnlyAborted) {
  int calls = 0;
  StatusOr<int64_t> rev = RetryOnConflict([&]() -> StatusOr<int64_t> {
    if (++calls < 3) return absl::AbortedError("lost");
    return 42;
  });
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(*rev, 42);
  EXPECT_EQ(calls, 3);

  calls = 0;
  Status s = RetryOnConflict([&]() -> StatusOr<int64_t> {
               ++calls;
               return absl::UnavailableError("down");
             }).status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);

  calls = 0;
  s = RetryOnConflict([&]() -> StatusOr<int64_t> {
        ++calls;
        return absl::AbortedError("lost");
      }).status();
  EXPECT_EQ(s.message(), "update out of sequence");
  EXPECT_EQ(calls, kWriteAttempts);
}

}  // namespace
}  // namespace capsule::store
