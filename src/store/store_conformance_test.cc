// The Store contract (store.h), run against both implementations: the etcd store over a
// real etcd member and the MemoryStore. A behaviour unit tests rely on from the MemoryStore
// is pinned here, so it cannot drift from what etcd does.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "crypto/keyring.h"
#include "objects/objects.h"
#include "objects/service.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"
#include "store/memory_store.h"
#include "store/store.h"

#define EXPECT_OK(expr)                                       \
  do {                                                        \
    const ::absl::Status expect_ok_status_ = (expr);          \
    EXPECT_TRUE(expect_ok_status_.ok()) << expect_ok_status_; \
  } while (0)

namespace capsule::store {
namespace {

class MemoryBackend {
 public:
  static constexpr char kName[] = "MemoryStore";
  void Start() { store_ = std::make_unique<MemoryStore>(); }
  Store& store() { return *store_; }
  Status Compact(int64_t revision) { return store_->Compact(revision); }

 private:
  std::unique_ptr<MemoryStore> store_;
};

class EtcdBackend {
 public:
  static constexpr char kName[] = "EtcdStore";
  ~EtcdBackend() {
    store_.reset();
    client_.reset();
    if (supervisor_) supervisor_->Stop();
  }
  void Start() {
    ASSERT_FALSE(tmp_.path().empty());
    supervisor_ = std::make_unique<etcd::Supervisor>(
        etcd::testing::TestMemberConfig(tmp_.path() + "/etcd"), RealClock());
    ASSERT_OK(supervisor_->Start(std::chrono::seconds(20)));
    StatusOr<std::unique_ptr<etcd::Client>> client = etcd::testing::ConnectTo(*supervisor_);
    ASSERT_OK(client.status());
    client_ = *std::move(client);
    keyring_ = crypto::Keyring::Generate();
    store_ = NewEtcdStore(*client_, keyring_);
  }
  Store& store() { return *store_; }
  Status Compact(int64_t revision) { return client_->Compact(revision, /*physical=*/true); }

 private:
  etcd::testing::TempDir tmp_;
  std::unique_ptr<etcd::Supervisor> supervisor_;
  std::unique_ptr<etcd::Client> client_;
  crypto::Keyring keyring_;
  std::unique_ptr<Store> store_;
};

template <typename Backend>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_.Start(); }
  Store& store() { return backend_.store(); }
  Backend backend_;
};

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Backends = ::testing::Types<MemoryBackend, EtcdBackend>;
TYPED_TEST_SUITE(StoreConformanceTest, Backends, BackendNames);

Record SecretRecord(const std::string& id, const std::string& name, std::string_view data) {
  Secret s;
  s.id = id;
  s.name = name;
  return Record{EncodeSecretMeta(s), SecretBytes::CopyFrom(data)};
}

Record TaskRecord(const std::string& id, const std::string& node) {
  Task t;
  t.id = id;
  t.node_id = node;
  return Record{EncodeTaskMeta(t), {}};
}

// Collects what a watch delivers.
class Recorder {
 public:
  StoreWatchCallbacks Callbacks() {
    StoreWatchCallbacks cb;
    cb.on_events = [this](const std::vector<ObjectEvent>& events, int64_t revision) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const ObjectEvent& e : events) {
        EXPECT_LE(e.object.mod_revision, revision) << "an event after its batch's revision";
        events_.push_back(e);
      }
      cv_.notify_all();
    };
    cb.on_error = [this](const Status& s) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = s;
      cv_.notify_all();
    };
    return cb;
  }
  // The first n events, once they have arrived (empty after 10 s without them).
  std::vector<ObjectEvent> WaitEvents(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; })) {
      return {};
    }
    return std::vector<ObjectEvent>(events_.begin(), events_.begin() + n);
  }
  std::optional<Status> WaitError() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return error_.has_value(); });
    return error_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ObjectEvent> events_;
  std::optional<Status> error_;
};

TYPED_TEST(StoreConformanceTest, CreateThenGetRoundTripsMetaAndData) {
  Store& store = this->store();
  ASSERT_OK(
      store.Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "s3cr3t")).status());
  StatusOr<StoredRecord> got = store.Get(kSecretsKind, "id1");
  ASSERT_OK(got.status());
  EXPECT_EQ(got->record.data.view(), "s3cr3t");
  EXPECT_EQ(DecodeSecretMeta(got->record.meta)->name, "pw");
  EXPECT_GT(got->mod_revision, 0);
  EXPECT_EQ(got->create_revision, got->mod_revision);
}

TYPED_TEST(StoreConformanceTest, GetOfAMissingObjectIsNotFound) {
  Status missing = this->store().Get(kSecretsKind, "nope").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "secrets nope not found");
}

TYPED_TEST(StoreConformanceTest, EveryWriteAdvancesTheOneRevisionByOne) {
  Store& store = this->store();
  StatusOr<MetaSnapshot> fresh = store.ListMeta();
  ASSERT_OK(fresh.status());
  EXPECT_EQ(fresh->revision, 1);
  StatusOr<int64_t> a = store.Create({kSecretsKind, "a", "a"}, SecretRecord("a", "a", "x"));
  StatusOr<int64_t> t = store.Create({kTasksKind, "t", ""}, TaskRecord("t", ""));
  ASSERT_OK(a.status());
  ASSERT_OK(t.status());
  EXPECT_EQ(*a, 2);
  EXPECT_EQ(*t, 3);  // one counter across kinds
  StatusOr<int64_t> u = store.Update({kTasksKind, "t", ""}, *t, TaskRecord("t", "n1"));
  ASSERT_OK(u.status());
  EXPECT_EQ(*u, 4);
  // Failed writes change nothing.
  EXPECT_FALSE(store.Create({kSecretsKind, "b", "A"}, SecretRecord("b", "A", "x")).ok());
  EXPECT_FALSE(store.Update({kTasksKind, "t", ""}, *t, TaskRecord("t", "n2")).ok());
  EXPECT_FALSE(store.Delete({kSecretsKind, "a", "a"}, *a + 100).ok());
  StatusOr<int64_t> d = store.Delete({kSecretsKind, "a", "a"}, *a);
  ASSERT_OK(d.status());
  EXPECT_EQ(*d, 5);
  EXPECT_EQ(store.ListMeta()->revision, 5);
}

TYPED_TEST(StoreConformanceTest, LastWrittenRevisionIsThisStoresHighestWrite) {
  Store& store = this->store();
  EXPECT_EQ(store.LastWrittenRevision(), 0);
  StatusOr<int64_t> a = store.Create({kTasksKind, "a", ""}, TaskRecord("a", ""));
  ASSERT_OK(a.status());
  EXPECT_EQ(store.LastWrittenRevision(), *a);
  EXPECT_FALSE(store.Create({kTasksKind, "a", ""}, TaskRecord("a", "")).ok());
  EXPECT_EQ(store.LastWrittenRevision(), *a);
}

TYPED_TEST(StoreConformanceTest, NamesAreUniqueCaseInsensitively) {
  Store& store = this->store();
  ASSERT_OK(store.Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a")).status());
  Status dup = store.Create({kSecretsKind, "id2", "PW"}, SecretRecord("id2", "PW", "b")).status();
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "secrets PW already exists");
  EXPECT_EQ(store.Get(kSecretsKind, "id2").status().code(), StatusCode::kNotFound);
  // Names are unique per kind.
  EXPECT_OK(store.Create({kServicesKind, "id3", "pw"}, {"{}", {}}).status());
}

TYPED_TEST(StoreConformanceTest, ATakenIdIsAlreadyExistsAndTakesNoName) {
  Store& store = this->store();
  ASSERT_OK(store.Create({kSecretsKind, "id1", "a"}, SecretRecord("id1", "a", "x")).status());
  Status dup = store.Create({kSecretsKind, "id1", "b"}, SecretRecord("id1", "b", "x")).status();
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "secrets b already exists");
  EXPECT_OK(store.Create({kSecretsKind, "id2", "b"}, SecretRecord("id2", "b", "x")).status());
}

TYPED_TEST(StoreConformanceTest, UnnamedObjectsTakeNoName) {
  Store& store = this->store();
  EXPECT_OK(store.Create({kTasksKind, "t1", ""}, TaskRecord("t1", "")).status());
  EXPECT_OK(store.Create({kTasksKind, "t2", ""}, TaskRecord("t2", "")).status());
  EXPECT_EQ(store.Create({kTasksKind, "t2", ""}, TaskRecord("t2", "")).status().code(),
            StatusCode::kAlreadyExists);
}

TYPED_TEST(StoreConformanceTest, UpdateWithAStaleRevisionIsAbortedAndAMissingObjectNotFound) {
  Store& store = this->store();
  StatusOr<int64_t> rev = store.Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a"));
  ASSERT_OK(rev.status());
  StatusOr<int64_t> rev2 =
      store.Update({kSecretsKind, "id1", "pw"}, *rev, SecretRecord("id1", "pw", "b"));
  ASSERT_OK(rev2.status());
  EXPECT_GT(*rev2, *rev);
  Status stale =
      store.Update({kSecretsKind, "id1", "pw"}, *rev, SecretRecord("id1", "pw", "c")).status();
  EXPECT_EQ(stale.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.message(), "update out of sequence");
  EXPECT_EQ(store.Get(kSecretsKind, "id1")->record.data.view(), "b");
  Status gone =
      store.Update({kSecretsKind, "nope", "x"}, 1, SecretRecord("nope", "x", "a")).status();
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.message(), "secrets nope not found");
}

TYPED_TEST(StoreConformanceTest, UpdateKeepsTheCreateRevisionAndLeavesNamesAlone) {
  Store& store = this->store();
  StatusOr<int64_t> created = store.Create({kServicesKind, "s1", "web"}, {"{}", {}});
  ASSERT_OK(created.status());
  // ref.name plays no part in an update: the name key stays with the object.
  StatusOr<int64_t> updated = store.Update({kServicesKind, "s1", "other"}, *created, {"{1}", {}});
  ASSERT_OK(updated.status());
  StatusOr<StoredRecord> got = store.Get(kServicesKind, "s1");
  ASSERT_OK(got.status());
  EXPECT_EQ(got->create_revision, *created);
  EXPECT_EQ(got->mod_revision, *updated);
  EXPECT_EQ(got->record.meta, "{1}");
  EXPECT_EQ(store.Create({kServicesKind, "s2", "WEB"}, {"{}", {}}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_OK(store.Create({kServicesKind, "s3", "other"}, {"{}", {}}).status());
}

TYPED_TEST(StoreConformanceTest, UpdateAtRevisionZeroCreatesAMissingObjectWithoutItsName) {
  // A missing object's mod_revision is 0 (etcd's compare on an absent key).
  Store& store = this->store();
  StatusOr<int64_t> rev = store.Update({kServicesKind, "s1", "web"}, 0, {"{}", {}});
  ASSERT_OK(rev.status());
  StatusOr<StoredRecord> got = store.Get(kServicesKind, "s1");
  ASSERT_OK(got.status());
  EXPECT_EQ(got->create_revision, *rev);
  EXPECT_OK(store.Create({kServicesKind, "s2", "web"}, {"{}", {}}).status());
  EXPECT_EQ(store.Update({kServicesKind, "s1", "web"}, 0, {"{}", {}}).status().code(),
            StatusCode::kAborted);
}

TYPED_TEST(StoreConformanceTest, DeleteFreesTheName) {
  Store& store = this->store();
  StatusOr<int64_t> rev = store.Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a"));
  ASSERT_OK(rev.status());
  ASSERT_OK(store.Delete({kSecretsKind, "id1", "pw"}, *rev).status());
  EXPECT_EQ(store.Get(kSecretsKind, "id1").status().code(), StatusCode::kNotFound);
  EXPECT_OK(store.Create({kSecretsKind, "id2", "PW"}, SecretRecord("id2", "PW", "b")).status());
}

TYPED_TEST(StoreConformanceTest, DeleteChecksTheRevisionUnlessItIsZero) {
  Store& store = this->store();
  StatusOr<int64_t> rev = store.Create({kTasksKind, "t1", ""}, TaskRecord("t1", ""));
  ASSERT_OK(rev.status());
  ASSERT_OK(store.Update({kTasksKind, "t1", ""}, *rev, TaskRecord("t1", "n1")).status());
  Status stale = store.Delete({kTasksKind, "t1", ""}, *rev).status();
  EXPECT_EQ(stale.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.message(), "update out of sequence");
  EXPECT_OK(store.Delete({kTasksKind, "t1", ""}, 0).status());
  Status gone = store.Delete({kTasksKind, "t1", ""}, 0).status();
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.message(), "tasks t1 not found");
  EXPECT_EQ(store.Delete({kTasksKind, "t1", ""}, *rev).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, ListMetaListsEveryObjectInKeyOrderAtOneRevision) {
  Store& store = this->store();
  ASSERT_OK(store.Create({kTasksKind, "t1", ""}, TaskRecord("t1", "n1")).status());
  ASSERT_OK(store.Create({kSecretsKind, "s2", "b"}, SecretRecord("s2", "b", "x")).status());
  ASSERT_OK(store.Create({kSecretsKind, "s1", "a"}, SecretRecord("s1", "a", "x")).status());
  StatusOr<int64_t> last = store.Create({kServicesKind, "v1", "web"}, {"{}", {}});
  ASSERT_OK(last.status());
  StatusOr<MetaSnapshot> snap = store.ListMeta();
  ASSERT_OK(snap.status());
  EXPECT_EQ(snap->revision, *last);
  std::vector<std::string> order;
  for (const ObjectMeta& m : snap->objects) order.push_back(m.kind + "/" + m.id);
  EXPECT_EQ(order,
            (std::vector<std::string>{"secrets/s1", "secrets/s2", "services/v1", "tasks/t1"}));
  const ObjectMeta& task = snap->objects.back();
  EXPECT_EQ(task.meta, TaskRecord("t1", "n1").meta);
  EXPECT_EQ(task.create_revision, task.mod_revision);
  EXPECT_EQ(snap->objects[2].mod_revision, *last);
}

WriteRequest CreateReq(const std::string& kind, const std::string& id, const std::string& name,
                       Record record) {
  return WriteRequest{WriteRequest::Kind::kCreate, {kind, id, name}, 0, std::move(record), {}};
}
WriteRequest UpdateReq(const std::string& kind, const std::string& id, int64_t expected,
                       Record record) {
  return WriteRequest{WriteRequest::Kind::kUpdate, {kind, id, ""}, expected, std::move(record), {}};
}
WriteRequest DeleteReq(const std::string& kind, const std::string& id, const std::string& name,
                       int64_t expected) {
  return WriteRequest{WriteRequest::Kind::kDelete, {kind, id, name}, expected, {}, {}};
}

TYPED_TEST(StoreConformanceTest, WriteBatchAnswersEachWriteAsItsOwnCallWouldInOrder) {
  Store& store = this->store();
  ASSERT_OK(
      store.Create({kSecretsKind, "owner", "taken"}, SecretRecord("owner", "taken", "x")).status());
  StatusOr<int64_t> t = store.Create({kTasksKind, "t", ""}, TaskRecord("t", ""));
  ASSERT_OK(t.status());
  StatusOr<int64_t> t2 = store.Update({kTasksKind, "t", ""}, *t, TaskRecord("t", "n1"));
  ASSERT_OK(t2.status());

  std::vector<WriteRequest> batch;
  batch.push_back(CreateReq(kSecretsKind, "s1", "n1", SecretRecord("s1", "n1", "d1")));
  batch.push_back(CreateReq(kSecretsKind, "s2", "TAKEN", SecretRecord("s2", "TAKEN", "d2")));
  batch.push_back(UpdateReq(kTasksKind, "t", *t, TaskRecord("t", "stale")));
  batch.push_back(DeleteReq(kTasksKind, "nope", "", 0));
  batch.push_back(CreateReq(kTasksKind, "u", "", TaskRecord("u", "")));
  batch.push_back(DeleteReq(kTasksKind, "u", "", 0));  // after the create of u
  batch.push_back(UpdateReq(kTasksKind, "t", *t2, TaskRecord("t", "n2")));
  batch.push_back(CreateReq(kSecretsKind, "s3", "N1", SecretRecord("s3", "N1", "d3")));
  const std::vector<StatusOr<int64_t>> r = store.WriteBatch(std::move(batch));
  ASSERT_EQ(r.size(), 8u);
  ASSERT_OK(r[0].status());
  EXPECT_EQ(r[1].status(), absl::AlreadyExistsError("secrets TAKEN already exists"));
  EXPECT_EQ(r[2].status(), absl::AbortedError("update out of sequence"));
  EXPECT_EQ(r[3].status(), absl::NotFoundError("tasks nope not found"));
  ASSERT_OK(r[4].status());
  ASSERT_OK(r[5].status());
  EXPECT_GT(*r[5], *r[4]);
  ASSERT_OK(r[6].status());
  EXPECT_EQ(r[7].status(), absl::AlreadyExistsError("secrets N1 already exists"));

  StatusOr<StoredRecord> s1 = store.Get(kSecretsKind, "s1");
  ASSERT_OK(s1.status());
  EXPECT_EQ(s1->mod_revision, *r[0]);
  EXPECT_EQ(store.Get(kSecretsKind, "s2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Get(kTasksKind, "u").status().code(), StatusCode::kNotFound);
  StatusOr<StoredRecord> task = store.Get(kTasksKind, "t");
  ASSERT_OK(task.status());
  EXPECT_EQ(task->record.meta, TaskRecord("t", "n2").meta);
  EXPECT_EQ(task->mod_revision, *r[6]);
  int64_t highest = 0;
  for (const auto& x : r) {
    if (x.ok()) highest = std::max(highest, *x);
  }
  EXPECT_EQ(store.LastWrittenRevision(), highest);
}

TYPED_TEST(StoreConformanceTest, WriteBatchEventsReachAWatchAtTheirRevisions) {
  Store& store = this->store();
  Recorder rec;
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(0, rec.Callbacks());
  ASSERT_OK(watch.status());
  std::vector<WriteRequest> batch;
  for (int i = 0; i < 5; ++i) {
    const std::string id = "t" + std::to_string(i);
    batch.push_back(CreateReq(kTasksKind, id, "", TaskRecord(id, "")));
  }
  const std::vector<StatusOr<int64_t>> r = store.WriteBatch(std::move(batch));
  std::vector<ObjectEvent> events = rec.WaitEvents(5);
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(r[i].status());
    EXPECT_EQ(events[i].object.id, "t" + std::to_string(i));
    EXPECT_EQ(events[i].object.mod_revision, *r[i]);
  }
}

TYPED_TEST(StoreConformanceTest, WatchDeliversEveryEventFromItsStartRevisionInOrder) {
  Store& store = this->store();
  StatusOr<int64_t> a = store.Create({kTasksKind, "a", ""}, TaskRecord("a", ""));
  StatusOr<int64_t> b = store.Create({kTasksKind, "b", ""}, TaskRecord("b", ""));
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  StatusOr<int64_t> a2 = store.Update({kTasksKind, "a", ""}, *a, TaskRecord("a", "n1"));
  ASSERT_OK(a2.status());
  Recorder rec;
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(*b, rec.Callbacks());
  ASSERT_OK(watch.status());
  // History first, then live writes.
  StatusOr<int64_t> del = store.Delete({kTasksKind, "b", ""}, 0);
  ASSERT_OK(del.status());
  std::vector<ObjectEvent> events = rec.WaitEvents(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, ObjectEvent::Type::kPut);
  EXPECT_EQ(events[0].object.id, "b");
  EXPECT_EQ(events[0].object.mod_revision, *b);
  EXPECT_EQ(events[1].type, ObjectEvent::Type::kPut);
  EXPECT_EQ(events[1].object.kind, kTasksKind);
  EXPECT_EQ(events[1].object.id, "a");
  EXPECT_EQ(events[1].object.create_revision, *a);
  EXPECT_EQ(events[1].object.mod_revision, *a2);
  EXPECT_EQ(events[1].object.meta, TaskRecord("a", "n1").meta);
  EXPECT_EQ(events[2].type, ObjectEvent::Type::kDelete);
  EXPECT_EQ(events[2].object.kind, kTasksKind);
  EXPECT_EQ(events[2].object.id, "b");
  EXPECT_EQ(events[2].object.mod_revision, *del);
}

TYPED_TEST(StoreConformanceTest, WatchFromZeroStartsWithTheNextWrite) {
  Store& store = this->store();
  ASSERT_OK(store.Create({kTasksKind, "old", ""}, TaskRecord("old", "")).status());
  Recorder rec;
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(0, rec.Callbacks());
  ASSERT_OK(watch.status());
  StatusOr<int64_t> rev = store.Create({kTasksKind, "new", ""}, TaskRecord("new", ""));
  ASSERT_OK(rev.status());
  std::vector<ObjectEvent> events = rec.WaitEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].object.id, "new");
  EXPECT_EQ(events[0].object.mod_revision, *rev);
}

TYPED_TEST(StoreConformanceTest, WatchFromACompactedRevisionEndsWithOutOfRange) {
  Store& store = this->store();
  int64_t last = 0;
  for (const char* id : {"a", "b", "c"}) {
    StatusOr<int64_t> rev = store.Create({kTasksKind, id, ""}, TaskRecord(id, ""));
    ASSERT_OK(rev.status());
    last = *rev;
  }
  ASSERT_OK(this->backend_.Compact(last));
  Recorder rec;
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(2, rec.Callbacks());
  ASSERT_OK(watch.status());  // the error comes through on_error
  std::optional<Status> error = rec.WaitError();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), StatusCode::kOutOfRange) << *error;
  EXPECT_EQ(rec.count(), 0u);
}

TYPED_TEST(StoreConformanceTest, NoCallbackRunsAfterTheWatchIsDestroyed) {
  Store& store = this->store();
  Recorder gone, kept;
  StatusOr<std::unique_ptr<WatchHandle>> watch = store.WatchObjects(0, gone.Callbacks());
  StatusOr<std::unique_ptr<WatchHandle>> other = store.WatchObjects(0, kept.Callbacks());
  ASSERT_OK(watch.status());
  ASSERT_OK(other.status());
  watch->reset();
  ASSERT_OK(store.Create({kTasksKind, "t", ""}, TaskRecord("t", "")).status());
  ASSERT_EQ(kept.WaitEvents(1).size(), 1u);  // the write was delivered where it could be
  EXPECT_EQ(gone.count(), 0u);
}

}  // namespace
}  // namespace capsule::store
