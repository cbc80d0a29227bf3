// Crash safety of rotation and rollback (secret_versions.h, secret_version_sweeper.h) over a
// MemoryStore: a caller that stops between the secret's write and the last service pin leaves
// an intent the leader finishes; finishing is idempotent and never lets an older rotation win;
// version objects no secret lists are deleted, one a rotation is still making is not.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "manager/controlapi/api_test_env.h"
#include "manager/controlapi/secret_version_sweeper.h"
#include "manager/controlapi/secret_versions.h"
#include "objects/secret_versions.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;

SecretBytes Bytes(std::string_view s) { return SecretBytes::CopyFrom(s); }

// The store as a caller sees it up to a crash: writes to services fail (Unavailable) once
// `service_writes_left` reached 0; everything else goes to `inner`. `after_service_writes`
// (if set) runs once, after `hook_after` service writes went through: another manager acting
// meanwhile.
class CrashingStore : public store::Store {
 public:
  explicit CrashingStore(store::Store& inner) : inner_(inner) {}
  int service_writes_left = 1 << 30;
  int hook_after = 0;
  std::function<void()> after_service_writes;

  StatusOr<int64_t> Create(const store::ObjectRef& ref, const store::Record& record) override {
    return inner_.Create(ref, record);
  }
  StatusOr<int64_t> Update(const store::ObjectRef& ref, int64_t expected_revision,
                           const store::Record& record) override {
    if (ref.kind == kServicesKind) {
      if (service_writes_left <= 0) return absl::UnavailableError("killed");
      --service_writes_left;
      StatusOr<int64_t> rev = inner_.Update(ref, expected_revision, record);
      if (rev.ok() && after_service_writes && ++service_writes_ == hook_after) {
        std::function<void()> hook = std::move(after_service_writes);
        after_service_writes = nullptr;
        hook();
      }
      return rev;
    }
    return inner_.Update(ref, expected_revision, record);
  }
  StatusOr<int64_t> Delete(const store::ObjectRef& ref, int64_t expected_revision) override {
    return inner_.Delete(ref, expected_revision);
  }
  StatusOr<store::StoredRecord> Get(const std::string& kind, const std::string& id) override {
    return inner_.Get(kind, id);
  }
  StatusOr<store::MetaSnapshot> ListMeta() override { return inner_.ListMeta(); }
  StatusOr<std::unique_ptr<store::WatchHandle>> WatchObjects(
      int64_t start_revision, store::StoreWatchCallbacks callbacks) override {
    return inner_.WatchObjects(start_revision, std::move(callbacks));
  }
  int64_t LastWrittenRevision() const override { return inner_.LastWrittenRevision(); }
  std::vector<StatusOr<int64_t>> WriteBatch(std::vector<store::WriteRequest> writes) override {
    ++batches;
    return Store::WriteBatch(std::move(writes));  // one Update after another, as above
  }
  int batches = 0;

 private:
  store::Store& inner_;
  int service_writes_ = 0;
};

class SecretRotationCrashTest : public ::testing::Test {
 protected:
  static constexpr int kServices = 6;

  SecretRotationCrashTest() {
    SecretSpec spec;
    spec.name = "pw";
    spec.data = Bytes("one");
    id_ = env_.secrets.Create(spec).value_or("");
    for (int i = 0; i < kServices; ++i) services_.push_back(CreateService("s" + std::to_string(i)));
  }

  std::string CreateService(const std::string& name) {
    ServiceSpec spec;
    spec.name = name;
    spec.task_template.container.image = "busybox";
    SecretReference r;
    r.secret_id = id_;
    r.secret_name = "pw";
    r.has_file = true;
    r.target = "pw";
    spec.task_template.container.secrets.push_back(r);
    StatusOr<Service> s = env_.services.Create(spec);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id : "";
  }
  store::StoredRecord StoredServiceRecord(const std::string& sid) {
    return env_.store.Get(kServicesKind, sid).value();
  }
  Service StoredService(const std::string& sid) {
    return DecodeServiceMeta(StoredServiceRecord(sid).record.meta).value();
  }
  Secret Stored() {
    return DecodeSecretMeta(env_.store.Get(kSecretsKind, id_).value().record.meta).value();
  }
  // How many services pin `version`.
  int Pinning(int64_t version) {
    int n = 0;
    for (const std::string& sid : services_) {
      n += PinnedVersion(StoredService(sid).secret_versions, id_) == version;
    }
    return n;
  }
  // The version the rotation intent names; 0 = no intent.
  int64_t IntentVersion() {
    StatusOr<store::StoredRecord> r = env_.store.Get(kSecretPinsKind, id_);
    if (!r.ok()) return 0;
    return Json::parse(r->record.meta).value("Version", int64_t{0});
  }
  bool VersionObjectExists(const std::string& object_id) {
    return env_.store.Get(kSecretVersionsKind, object_id).ok();
  }

  ApiTestEnv env_;
  CrashingStore crashing_{env_.store};
  SecretVersionApi caller_{crashing_, env_.reads, env_.clock};  // the manager that dies
  SecretVersionApi leader_{env_.store, env_.reads, env_.clock};
  std::string id_;
  std::vector<std::string> services_;
};

TEST_F(SecretRotationCrashTest, RotationStoppedBetweenPinsLeavesAnIntent) {
  crashing_.service_writes_left = 2;
  EXPECT_EQ(caller_.Rotate(id_, Bytes("two"), 1000).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Stored().current_version, 2);
  EXPECT_EQ(IntentVersion(), 2);
  EXPECT_EQ(Pinning(2), 2);
  EXPECT_EQ(Pinning(1), kServices - 2);
}

TEST_F(SecretRotationCrashTest, LeaderFinishesAStoppedRotationOnEveryService) {
  crashing_.service_writes_left = 2;
  ASSERT_FALSE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  EXPECT_EQ(leader_.PendingRotations(false).value().size(), 1u);
  EXPECT_EQ(leader_.PendingRotations(true).value().size(), 1u);
  StatusOr<bool> done = leader_.CompletePending(id_);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(*done);
  EXPECT_EQ(Pinning(2), kServices);
  EXPECT_EQ(IntentVersion(), 0);  // deleted
  for (const std::string& sid : services_) {
    const Service svc = StoredService(sid);
    ASSERT_TRUE(svc.previous_secret_versions.has_value());  // failure rollback goes to v1
    EXPECT_EQ(PinnedVersion(*svc.previous_secret_versions, id_), 1);
    EXPECT_FALSE(svc.update_status.has_value());
  }
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  EXPECT_TRUE(leader_.PendingRotations(false).value().empty());
  EXPECT_TRUE(leader_.PendingRotations(true).value().empty());
}

TEST_F(SecretRotationCrashTest, FinishingAgainLeavesServicesPinnedBeforeUntouched) {
  crashing_.service_writes_left = 2;
  ASSERT_FALSE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  std::vector<int64_t> revs;
  for (const std::string& sid : services_) revs.push_back(StoredServiceRecord(sid).mod_revision);
  ASSERT_TRUE(leader_.CompletePending(id_).ok());
  int untouched = 0;
  for (size_t i = 0; i < services_.size(); ++i) {
    untouched += StoredServiceRecord(services_[i]).mod_revision == revs[i];
  }
  EXPECT_EQ(untouched, 2);  // the two the caller pinned were not written (nor reset) again
  // Nothing pending any more: a second finish does nothing.
  EXPECT_FALSE(leader_.CompletePending(id_).value());
}

TEST_F(SecretRotationCrashTest, AStaleIntentNeverOverwritesANewerRotation) {
  crashing_.service_writes_left = 2;
  ASSERT_FALSE(caller_.Rotate(id_, Bytes("two"), 1000).ok());  // stopped at version 2
  const int64_t first_intent = env_.store.Get(kSecretPinsKind, id_).value().mod_revision;
  crashing_.service_writes_left = 1 << 30;
  StatusOr<VersionChange> three = caller_.Rotate(id_, Bytes("three"), 1000);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(Pinning(3), kServices);
  // The leader saw the first intent and acts on it late: nothing happens.
  EXPECT_FALSE(leader_.CompletePending(id_, first_intent).value());
  EXPECT_FALSE(leader_.CompletePending(id_).value());
  EXPECT_EQ(Pinning(3), kServices);
}

TEST_F(SecretRotationCrashTest, AnOvertakenRotationSaysWhichVersionSupersededIt) {
  // The caller has pinned 2 services to version 2 when another manager rotates to version 3.
  StatusOr<VersionChange> three;
  crashing_.hook_after = 2;
  crashing_.after_service_writes = [&] { three = leader_.Rotate(id_, Bytes("three"), 1001); };
  StatusOr<VersionChange> two = caller_.Rotate(id_, Bytes("two"), 1000);
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(two->version, 2);
  EXPECT_EQ(two->superseded_by, 3);
  EXPECT_EQ(two->service_ids.size(), 2u);  // what it pinned before it was overtaken
  EXPECT_EQ(three->version, 3);
  EXPECT_EQ(three->superseded_by, 0);
  EXPECT_EQ(three->service_ids.size(), static_cast<size_t>(kServices));
  EXPECT_EQ(Pinning(3), kServices);
  EXPECT_EQ(Stored().current_version, 3);
  EXPECT_EQ(IntentVersion(), 0);
}

TEST_F(SecretRotationCrashTest, ARotationNotOvertakenSaysSo) {
  StatusOr<VersionChange> two = caller_.Rotate(id_, Bytes("two"), 1000);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->superseded_by, 0);
  EXPECT_EQ(two->service_ids.size(), static_cast<size_t>(kServices));
}

TEST_F(SecretRotationCrashTest, EveryPinGoesInOneWriteBatch) {
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  EXPECT_EQ(crashing_.batches, 1);  // not one store round trip per service
  EXPECT_EQ(Pinning(2), kServices);
}

TEST_F(SecretRotationCrashTest, AnIntentWhoseVersionIsNotCurrentIsOnlyDeleted) {
  // A caller that wrote its intent and died before the secret's record.
  ASSERT_TRUE(env_.store
                  .Update({kSecretPinsKind, id_, ""}, 0,
                          {Json{{"SecretID", id_}, {"Version", 2}}.dump(), SecretBytes()})
                  .ok());
  EXPECT_FALSE(leader_.CompletePending(id_).value());
  EXPECT_EQ(IntentVersion(), 0);
  EXPECT_EQ(Pinning(1), kServices);
}

TEST_F(SecretRotationCrashTest, PinsFollowOnlyTheCurrentVersion) {
  // An old caller pinning version 2 while version 3 is current pins nothing.
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  crashing_.service_writes_left = 0;
  ASSERT_FALSE(caller_.Rotate(id_, Bytes("three"), 1000).ok());
  ASSERT_TRUE(env_.store
                  .Update({kSecretPinsKind, id_, ""},
                          env_.store.Get(kSecretPinsKind, id_).value().mod_revision,
                          {Json{{"SecretID", id_}, {"Version", 2}}.dump(), SecretBytes()})
                  .ok());
  EXPECT_FALSE(leader_.CompletePending(id_).value());  // 2 is not current: only deleted
  EXPECT_EQ(Pinning(2), kServices);
}

TEST_F(SecretRotationCrashTest, RollbackStoppedBetweenPinsIsFinishedLikewise) {
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  crashing_.service_writes_left = 3;
  EXPECT_FALSE(caller_.Rollback(id_).ok());
  EXPECT_EQ(Stored().current_version, 1);
  EXPECT_EQ(IntentVersion(), 1);
  EXPECT_EQ(Pinning(1), 3);
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  ASSERT_TRUE(leader_.CompletePending(id_).value());
  EXPECT_EQ(Pinning(1), kServices);
  EXPECT_EQ(IntentVersion(), 0);
}

TEST_F(SecretRotationCrashTest, SweeperFinishesOnlyAnIntentStillThereOnItsNextPass) {
  SecretVersionSweeper sweeper(env_.store, env_.reads, env_.clock);
  crashing_.service_writes_left = 0;
  ASSERT_FALSE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  std::map<std::string, int64_t> seen;
  sweeper.ResumeStalled(seen, false);  // first seen: its caller may still be at work
  EXPECT_EQ(Pinning(2), 0);
  EXPECT_EQ(seen.size(), 1u);
  sweeper.ResumeStalled(seen, false);
  EXPECT_EQ(Pinning(2), kServices);
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  sweeper.ResumeStalled(seen, false);
  EXPECT_TRUE(seen.empty());
}

TEST_F(SecretRotationCrashTest, AFullPassDeletesAnIntentLeftWithEverythingPinned) {
  SecretVersionSweeper sweeper(env_.store, env_.reads, env_.clock);
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  // A caller that pinned everything and died before deleting its intent.
  ASSERT_TRUE(env_.store
                  .Update({kSecretPinsKind, id_, ""}, 0,
                          {Json{{"SecretID", id_}, {"Version", 2}}.dump(), SecretBytes()})
                  .ok());
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  std::map<std::string, int64_t> seen;
  sweeper.ResumeStalled(seen, false);
  EXPECT_TRUE(seen.empty());  // the cheap pass sees nothing to pin
  sweeper.ResumeStalled(seen, true);
  sweeper.ResumeStalled(seen, false);  // kept for the next full pass
  EXPECT_EQ(seen.size(), 1u);
  sweeper.ResumeStalled(seen, true);
  EXPECT_EQ(IntentVersion(), 0);
  EXPECT_EQ(Pinning(2), kServices);
}

TEST_F(SecretRotationCrashTest, ARotationThatCompletesLeavesNoIntent) {
  StatusOr<VersionChange> c = caller_.Rotate(id_, Bytes("two"), 1000);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->service_ids.size(), static_cast<size_t>(kServices));
  EXPECT_EQ(IntentVersion(), 0);
  ASSERT_TRUE(caller_.Rollback(id_).ok());
  EXPECT_EQ(IntentVersion(), 0);
  EXPECT_EQ(Pinning(1), kServices);
}

// ---- orphaned version objects ------------------------------------------------------------

store::Record VersionRecord(const std::string& secret_id, int64_t n) {
  return {Json{{"SecretID", secret_id}, {"Number", n}}.dump(), SecretBytes::CopyFrom("x")};
}

TEST_F(SecretRotationCrashTest, AVersionObjectTheSecretNeverListedIsDeleted) {
  // A rotation that made its object and died before writing the secret's record...
  const std::string orphan = VersionObjectId(id_, 7);
  ASSERT_TRUE(env_.store.Create({kSecretVersionsKind, orphan, ""}, VersionRecord(id_, 7)).ok());
  // ...so far it may still be under way: kept.
  EXPECT_EQ(leader_.SweepOrphanVersions().value(), 0);
  EXPECT_TRUE(VersionObjectExists(orphan));
  // Once the record was written since (here: a real rotation), it is an orphan.
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  EXPECT_EQ(leader_.SweepOrphanVersions().value(), 1);
  EXPECT_FALSE(VersionObjectExists(orphan));
  EXPECT_TRUE(VersionObjectExists(VersionObjectId(id_, 2)));  // listed: kept
}

TEST_F(SecretRotationCrashTest, VersionObjectsOfARemovedSecretAreDeleted) {
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  // The removal's own deletes did not happen (a crash right after the record went).
  ASSERT_TRUE(env_.store.Delete({kSecretsKind, id_, "pw"}, 0).ok());
  ASSERT_TRUE(VersionObjectExists(VersionObjectId(id_, 2)));
  EXPECT_EQ(leader_.SweepOrphanVersions().value(), 1);
  EXPECT_FALSE(VersionObjectExists(VersionObjectId(id_, 2)));
}

TEST_F(SecretRotationCrashTest, AVersionDroppedFromTheListButNotDeletedIsDeleted) {
  ASSERT_TRUE(caller_.Rotate(id_, Bytes("two"), 1000).ok());
  // A sweep that took version 2 out of the list and crashed before deleting its object.
  store::StoredRecord cur = env_.store.Get(kSecretsKind, id_).value();
  Secret s = DecodeSecretMeta(cur.record.meta).value();
  std::erase_if(s.versions, [](const SecretVersion& v) { return v.number == 2; });
  s.current_version = 1;
  cur.record.meta = EncodeSecretMeta(s);
  ASSERT_TRUE(env_.store.Update({kSecretsKind, id_, "pw"}, cur.mod_revision, cur.record).ok());
  EXPECT_EQ(leader_.SweepOrphanVersions().value(), 1);
  EXPECT_FALSE(VersionObjectExists(VersionObjectId(id_, 2)));
}

}  // namespace
}  // namespace capsule::controlapi
