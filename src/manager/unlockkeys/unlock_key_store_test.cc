// The swarm's unlock keys in the store (unlock_key_store.h), on the MemoryStore with a
// FakeClock: they follow the stored spec, live in the cluster object's data and survive the
// spec writers' read-modify-writes, and two managers converging agree on one key.
#include "manager/unlockkeys/unlock_key_store.h"

#include <gtest/gtest.h>

#include "objects/objects.h"
#include "store/memory_store.h"
#include "store/read_modify_write.h"
#include "testing/fake_clock.h"

namespace capsule::unlockkeys {
namespace {

constexpr char kId[] = "cluster1";

class UnlockKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Cluster c;
    c.id = kId;
    ASSERT_TRUE(store_.Create({kClusterKind, kId, ""}, {EncodeClusterMeta(c), {}}).ok());
  }
  void SetAutolock(bool on) {
    StatusOr<int64_t> r = store::UpdateLatest(
        store_, kClusterKind, kId, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
          ASSIGN_OR_RETURN(Cluster c, DecodeClusterMeta(cur.record.meta));
          c.spec.autolock_managers = on;
          cur.record.meta = EncodeClusterMeta(c);
          return store::Mutation::kWrite;
        });
    ASSERT_TRUE(r.ok()) << r.status();
  }
  std::optional<ClusterUnlockKeys> Converge(bool rotate, const SecretBytes* adopt = nullptr) {
    StatusOr<std::optional<ClusterUnlockKeys>> k =
        ConvergeUnlockKeys(store_, kId, clock_, {rotate, std::chrono::seconds(600), adopt});
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? std::move(*k) : std::nullopt;
  }
  std::optional<ClusterUnlockKeys> Read() {
    StatusOr<std::optional<ClusterUnlockKeys>> k = ReadUnlockKeys(store_, kId);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? std::move(*k) : std::nullopt;
  }

  store::MemoryStore store_;
  testing::FakeClock clock_;
};

TEST_F(UnlockKeyStoreTest, KeysFollowTheStoredSpec) {
  EXPECT_FALSE(Converge(false));
  SetAutolock(true);
  std::optional<ClusterUnlockKeys> k = Converge(false);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->current.size(), 32u);
  std::optional<ClusterUnlockKeys> read = Read();
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->current.Equals(k->current.span()));
  SetAutolock(false);
  EXPECT_FALSE(Converge(false));
  EXPECT_FALSE(Read());
}

TEST_F(UnlockKeyStoreTest, EveryManagerConvergingGetsTheSameKey) {
  SetAutolock(true);
  SecretBytes own_of_m2;  // m2 has no key of its own
  std::optional<ClusterUnlockKeys> m1 = Converge(false);
  std::optional<ClusterUnlockKeys> m2 = Converge(false, &own_of_m2);
  ASSERT_TRUE(m1 && m2);
  EXPECT_TRUE(m1->current.Equals(m2->current.span()));
}

TEST_F(UnlockKeyStoreTest, AManagersOwnKeyIsAdoptedOnlyWhenNoneIsStored) {
  SetAutolock(true);
  SecretBytes own = SecretBytes::CopyFrom(std::string(32, 'o'));
  std::optional<ClusterUnlockKeys> k = Converge(false, &own);
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->current.Equals(own.span()));
  SecretBytes other = SecretBytes::CopyFrom(std::string(32, 'p'));
  k = Converge(false, &other);
  EXPECT_TRUE(k->current.Equals(own.span()));
}

TEST_F(UnlockKeyStoreTest, RotationKeepsThePreviousKeyWithItsDeadline) {
  SetAutolock(true);
  std::optional<ClusterUnlockKeys> k1 = Converge(false);
  clock_.Advance(std::chrono::seconds(5));
  std::optional<ClusterUnlockKeys> k2 = Converge(true);
  ASSERT_TRUE(k1 && k2);
  EXPECT_FALSE(k2->current.Equals(k1->current.span()));
  EXPECT_TRUE(k2->previous.Equals(k1->current.span()));
  EXPECT_EQ(k2->previous_until, UnixSeconds(clock_.Now()) + 600);
  std::optional<ClusterUnlockKeys> read = Read();
  EXPECT_TRUE(read->previous.Equals(k1->current.span()));
}

TEST_F(UnlockKeyStoreTest, SpecWritersKeepTheKeys) {
  SetAutolock(true);
  std::optional<ClusterUnlockKeys> k = Converge(false);
  SetAutolock(true);  // any read-modify-write of the meta, e.g. a token rotation
  std::optional<ClusterUnlockKeys> read = Read();
  ASSERT_TRUE(k && read);
  EXPECT_TRUE(read->current.Equals(k->current.span()));
}

TEST_F(UnlockKeyStoreTest, AMissingClusterIsNotFound) {
  store::MemoryStore empty;
  EXPECT_EQ(ReadUnlockKeys(empty, kId).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ConvergeUnlockKeys(empty, kId, clock_, {}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace capsule::unlockkeys
