// Capsule's secret versions in the control API (secret_versions.h) over a MemoryStore: where
// each version's data lives, what rotation and rollback pin on services, the window's wiping,
// verify by keyed digest, and Docker's view of the secret left as it was.
#include "manager/controlapi/secret_versions.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <thread>

#include "manager/controlapi/api_test_env.h"
#include "manager/controlapi/secret_digest.h"
#include "manager/controlapi/secret_window.h"
#include "objects/secret_versions.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;

SecretBytes Bytes(std::string_view s) { return SecretBytes::CopyFrom(s); }

class SecretVersionsTest : public ::testing::Test {
 protected:
  SecretVersionsTest() {
    SecretSpec spec;
    spec.name = "pw";
    spec.data = Bytes("one");
    StatusOr<std::string> id = env_.secrets.Create(spec);
    EXPECT_TRUE(id.ok()) << id.status();
    id_ = id.value_or("");
  }

  Secret Stored() {
    StatusOr<store::StoredRecord> r = env_.store.Get(kSecretsKind, id_);
    EXPECT_TRUE(r.ok()) << r.status();
    StatusOr<Secret> s = DecodeSecretMeta(r->record.meta);
    EXPECT_TRUE(s.ok()) << s.status();
    return *s;
  }
  std::string RecordData() {
    StatusOr<store::StoredRecord> r = env_.store.Get(kSecretsKind, id_);
    return r.ok() ? std::string(r->record.data.view()) : "<gone>";
  }
  StatusOr<std::string> VersionData(int64_t n) {
    ASSIGN_OR_RETURN(store::StoredRecord r,
                     env_.store.Get(kSecretVersionsKind, VersionObjectId(id_, n)));
    return std::string(r.record.data.view());
  }
  int64_t Rotate(std::string_view data) {
    StatusOr<VersionChange> c = versions_.Rotate(id_, Bytes(data), 1000);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->version : 0;
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
  Service StoredService(const std::string& sid) {
    StatusOr<store::StoredRecord> r = env_.store.Get(kServicesKind, sid);
    EXPECT_TRUE(r.ok()) << r.status();
    return DecodeServiceMeta(r->record.meta).value();
  }
  // A task of service `sid` in `state` that mounts `version`.
  void PutTask(const std::string& task_id, const std::string& sid, int64_t version,
               TaskState state) {
    Task t;
    t.id = task_id;
    t.service_id = sid;
    t.spec = StoredService(sid).spec.task_template;
    t.status.state = state;
    if (version != 1) t.secret_versions[id_] = version;
    ASSERT_TRUE(env_.store.Create({kTasksKind, t.id, ""}, {EncodeTaskMeta(t), {}}).ok());
  }

  ApiTestEnv env_;
  SecretVersionApi versions_{env_.store, env_.reads, env_.clock};
  std::string id_;
};

TEST_F(SecretVersionsTest, RotationStoresTheNewVersionUnderItsOwnKey) {
  EXPECT_EQ(Rotate("two"), 2);
  EXPECT_EQ(VersionData(2).value_or("<missing>"), "two");
  EXPECT_EQ(RecordData(), "one");  // version 1 stays where it always was
  const Secret s = Stored();
  EXPECT_EQ(s.current_version, 2);
  ASSERT_EQ(s.versions.size(), 2u);
  EXPECT_EQ(s.versions[0].number, 1);
  EXPECT_EQ(s.versions[1].number, 2);
  EXPECT_EQ(s.versions[1].created_by_uid, 1000);
  EXPECT_EQ(s.id, id_);
  EXPECT_EQ(s.name, "pw");
}

TEST_F(SecretVersionsTest, RotationRefusesDataOfAnInvalidSize) {
  StatusOr<VersionChange> c = versions_.Rotate(id_, Bytes(""), -1);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "secret data must be larger than 0 and less than 512000 bytes");
  EXPECT_EQ(versions_.Rotate("nope", Bytes("x"), -1).status().message(), "secret nope not found");
}

TEST_F(SecretVersionsTest, DockerJsonKeepsItsShapeAndVersionIndexMoves) {
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  const store::SecretEntry before = env_.reads.SecretById(id_);
  Rotate("two");
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  const store::SecretEntry after = env_.reads.SecretById(id_);
  EXPECT_EQ(after->json.find("Capsule"), std::string::npos);
  EXPECT_EQ(after->json.find("Data"), std::string::npos);
  Json b = Json::parse(before->json), a = Json::parse(after->json);
  std::vector<std::string> bk, ak;
  for (const auto& [k, v] : b.items()) bk.push_back(k);
  for (const auto& [k, v] : a.items()) ak.push_back(k);
  EXPECT_EQ(bk, ak);
  EXPECT_EQ(a["Spec"], b["Spec"]);
  EXPECT_GT(a["Version"]["Index"].get<int64_t>(), b["Version"]["Index"].get<int64_t>());
}

TEST_F(SecretVersionsTest, DockerUpdateWithOtherDataIsStillRefusedAfterRotation) {
  Rotate("two");
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  auto update = [&](std::string_view data) {
    SecretSpec spec;
    spec.name = "pw";
    spec.data = Bytes(data);
    return env_.secrets.Update(id_, env_.reads.SecretById(id_)->mod_revision, spec);
  };
  EXPECT_EQ(update("three").message(), "only updates to Labels are allowed");
  EXPECT_EQ(update("one").message(), "only updates to Labels are allowed");  // an old version
  EXPECT_TRUE(update("two").ok());  // the current data, as Docker accepts identical data
}

TEST_F(SecretVersionsTest, RotationPinsEveryServiceUsingTheSecret) {
  const std::string web = CreateService("web");
  ServiceSpec other;
  other.name = "other";
  other.task_template.container.image = "busybox";
  ASSERT_TRUE(env_.services.Create(other).ok());
  StatusOr<VersionChange> c = versions_.Rotate(id_, Bytes("two"), -1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->service_ids, std::vector<std::string>{web});
  const Service s = StoredService(web);
  EXPECT_EQ(PinnedVersion(s.secret_versions, id_), 2);
  ASSERT_TRUE(s.previous_secret_versions.has_value());
  EXPECT_EQ(PinnedVersion(*s.previous_secret_versions, id_), 1);
  EXPECT_FALSE(s.update_status.has_value());
}

// The tests-only pause (capsuled --rotation-pin-delay-ms) lies between the new current version
// and the pins, and ends when the clock has passed it.
TEST_F(SecretVersionsTest, PinDelayPausesBetweenTheCurrentVersionAndThePins) {
  const std::string web = CreateService("web");
  const size_t idle = env_.clock.waiters();
  SecretVersionApi delayed{env_.store, env_.reads, env_.clock, std::chrono::seconds(5)};
  StatusOr<VersionChange> c = absl::UnknownError("not run");
  std::thread rotate([&] { c = delayed.Rotate(id_, Bytes("two"), -1); });
  ASSERT_TRUE(env_.clock.AwaitWaiters(idle + 1));
  EXPECT_EQ(Stored().current_version, 2);
  EXPECT_EQ(PinnedVersion(StoredService(web).secret_versions, id_), 1);
  env_.clock.Advance(std::chrono::seconds(4));
  EXPECT_EQ(PinnedVersion(StoredService(web).secret_versions, id_), 1);
  env_.clock.Advance(std::chrono::seconds(1));
  rotate.join();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(PinnedVersion(StoredService(web).secret_versions, id_), 2);
}

TEST_F(SecretVersionsTest, ServicesCreatedOrUpdatedLaterPinTheCurrentVersion) {
  Rotate("two");
  const std::string web = CreateService("web");
  EXPECT_EQ(PinnedVersion(StoredService(web).secret_versions, id_), 2);
}

TEST_F(SecretVersionsTest, RollbackReturnsToThePreviousVersionAndPinsIt) {
  const std::string web = CreateService("web");
  Rotate("two");
  StatusOr<VersionChange> c = versions_.Rollback(id_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->version, 1);
  EXPECT_EQ(Stored().current_version, 1);
  EXPECT_EQ(PinnedVersion(StoredService(web).secret_versions, id_), 1);
  StatusOr<VersionChange> again = versions_.Rollback(id_);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(), "secret pw has no previous version");
}

TEST_F(SecretVersionsTest, ANeverRotatedSecretHasNoPreviousVersion) {
  EXPECT_EQ(versions_.Rollback(id_).status().message(), "secret pw has no previous version");
}

TEST_F(SecretVersionsTest, VerifyNamesTheMatchingVersion) {
  Rotate("two");
  StatusOr<VerifyAnswer> cur = versions_.Verify(id_, Bytes("two"));
  ASSERT_TRUE(cur.ok()) << cur.status();
  EXPECT_EQ(cur->matched, 2);
  EXPECT_EQ(cur->current_version, 2);
  EXPECT_EQ(versions_.Verify(id_, Bytes("one"))->matched, 1);
  EXPECT_EQ(versions_.Verify(id_, Bytes("three"))->matched, 0);
  EXPECT_EQ(versions_.Verify(id_, Bytes("tw"))->matched, 0);
}

TEST_F(SecretVersionsTest, VerifyWorksOnASecretNeverRotated) {
  EXPECT_EQ(versions_.Verify(id_, Bytes("one"))->matched, 1);
  EXPECT_EQ(versions_.Verify(id_, Bytes("two"))->matched, 0);
}

TEST_F(SecretVersionsTest, DigestIsAKeyedHmacNotTheSha256OfTheValue) {
  Rotate("two");
  StatusOr<SecretHistory> h = versions_.History(id_);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->rows.size(), 2u);
  const std::string digest = h->rows[1].version.digest;
  uint8_t sha[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(sha, reinterpret_cast<const uint8_t*>("two"), 3);
  char hex[2 * sizeof sha + 1];
  sodium_bin2hex(hex, sizeof hex, sha, sizeof sha);
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_NE(digest, std::string(hex));
  StatusOr<SecretBytes> key = SecretDigestKey(env_.store);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(digest, KeyedDigest(*key, Bytes("two").span()));
  // The key is stored once and found again.
  EXPECT_TRUE(SecretDigestKey(env_.store)->Equals(key->span()));
  // Version 1's digest (a secret made before it was rotated) is the same function of its data.
  EXPECT_EQ(h->rows[0].version.digest, KeyedDigest(*key, Bytes("one").span()));
}

TEST_F(SecretVersionsTest, HistoryShowsVersionsCurrentAndUse) {
  const std::string web = CreateService("web");
  PutTask("t1", web, 1, TaskState::kRunning);
  Rotate("two");
  PutTask("t2", web, 2, TaskState::kRunning);
  PutTask("t3", web, 2, TaskState::kShutdown);  // ended: not counted
  StatusOr<SecretHistory> h = versions_.History(id_);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->current_version, 2);
  EXPECT_EQ(h->versions_kept, 2);
  ASSERT_EQ(h->rows.size(), 2u);
  EXPECT_FALSE(h->rows[0].current);
  EXPECT_TRUE(h->rows[1].current);
  EXPECT_EQ(h->rows[0].usage.tasks, 1u);
  EXPECT_TRUE(h->rows[0].usage.services.empty());
  EXPECT_EQ(h->rows[1].usage.tasks, 1u);
  EXPECT_EQ(h->rows[1].usage.services, std::vector<std::string>{"web"});
}

TEST_F(SecretVersionsTest, VersionsOutOfTheWindowAndUnusedAreWiped) {
  for (const char* d : {"two", "three", "four", "five"}) Rotate(d);
  const Secret s = Stored();
  std::vector<int64_t> kept;
  for (const SecretVersion& v : s.versions) kept.push_back(v.number);
  EXPECT_EQ(kept, (std::vector<int64_t>{3, 4, 5}));  // current + 2 old (the default)
  EXPECT_EQ(VersionData(2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(VersionData(3).value_or(""), "three");
  EXPECT_EQ(RecordData(), "");  // version 1's data is wiped from the record
}

TEST_F(SecretVersionsTest, AVersionATaskStillUsesIsKeptUntilTheTaskEnds) {
  const std::string web = CreateService("web");
  PutTask("t1", web, 1, TaskState::kRunning);
  for (const char* d : {"two", "three", "four"}) Rotate(d);
  EXPECT_EQ(RecordData(), "one");
  // The task ends; the next sweep wipes version 1.
  Task t = DecodeTaskMeta(env_.store.Get(kTasksKind, "t1")->record.meta).value();
  t.status.state = TaskState::kShutdown;
  ASSERT_TRUE(env_.store
                  .Update({kTasksKind, "t1", ""},
                          0 + env_.store.Get(kTasksKind, "t1")->mod_revision,
                          {EncodeTaskMeta(t), {}})
                  .ok());
  StatusOr<std::set<int64_t>> wiped = versions_.Sweep(id_);
  ASSERT_TRUE(wiped.ok()) << wiped.status();
  EXPECT_EQ(*wiped, std::set<int64_t>{1});
  EXPECT_EQ(RecordData(), "");
}

TEST_F(SecretVersionsTest, RemovingTheSecretRemovesEveryVersion) {
  Rotate("two");
  Rotate("three");
  ASSERT_TRUE(env_.secrets.Remove(id_).ok());
  EXPECT_EQ(VersionData(2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(VersionData(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env_.store.Get(kSecretsKind, id_).status().code(), StatusCode::kNotFound);
}

TEST_F(SecretVersionsTest, TheWindowFollowsTheClusterSetting) {
  Cluster c;
  c.id = "cluster1";
  env_.PutCluster(c);
  EXPECT_EQ(versions_.SetVersionsKept(-1).message(), "versions kept must be between 0 and 100");
  ASSERT_TRUE(versions_.SetVersionsKept(1).ok());
  EXPECT_EQ(versions_.VersionsKept(), 1);
  for (const char* d : {"two", "three"}) Rotate(d);
  std::vector<int64_t> kept;
  for (const SecretVersion& v : Stored().versions) kept.push_back(v.number);
  EXPECT_EQ(kept, (std::vector<int64_t>{2, 3}));
  // A Docker swarm update keeps it.
  ClusterUpdate u;
  u.spec.name = "default";
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  ASSERT_TRUE(env_.cluster.Update(env_.reads.GetCluster()->mod_revision, u).ok());
  ASSERT_TRUE(env_.reads.WaitFresh().ok());
  EXPECT_EQ(versions_.VersionsKept(), 1);
}

TEST(SecretWindow, KeepsTheCurrentAndTheNewestOthers) {
  Secret s;
  for (int64_t n = 1; n <= 5; ++n) s.versions.push_back({n, {}, -1, ""});
  s.current_version = 5;
  EXPECT_EQ(VersionsToWipe(s, 2, {}), (std::set<int64_t>{1, 2}));
  EXPECT_EQ(VersionsToWipe(s, 2, {1}), (std::set<int64_t>{2}));
  EXPECT_EQ(VersionsToWipe(s, 0, {}), (std::set<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(VersionsToWipe(s, 10, {}), (std::set<int64_t>{}));
  s.current_version = 2;  // after rollbacks: the newer versions stay in the window first
  EXPECT_EQ(VersionsToWipe(s, 2, {}), (std::set<int64_t>{1, 3}));
}

}  // namespace
}  // namespace capsule::controlapi
