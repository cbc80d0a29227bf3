#include "manager/controlapi/secret_versions.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "manager/controlapi/secret_digest.h"
#include "manager/controlapi/secret_window.h"
#include "manager/controlapi/validation/validate.h"
#include "objects/secret_versions.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {
namespace {

Status SecretNotFound(const std::string& id) {
  return absl::NotFoundError("secret " + id + " not found");
}

bool References(const ServiceSpec& spec, const std::string& secret_id) {
  const std::vector<SecretReference>& refs = spec.task_template.container.secrets;
  return std::any_of(refs.begin(), refs.end(),
                     [&](const SecretReference& r) { return r.secret_id == secret_id; });
}

int64_t NewestNumber(const std::vector<SecretVersion>& versions) {
  int64_t n = 0;
  for (const SecretVersion& v : versions) n = std::max(n, v.number);
  return n;
}

// A task that may still run (or start) holds its secrets: not yet in a terminal state.
// Pins `version` of secret `id` on service `s` (stored at `mod_revision`).
void ApplyPin(Service& s, const std::string& id, int64_t version, int64_t mod_revision,
              TimePoint now) {
  if (s.spec_version == 0) s.spec_version = mod_revision;
  s.updated_at = now;
  if (s.secret_refresh.count(id) > 0) {
    // Live refresh (objects/secret_refresh.h): no rolling update; the orchestrator moves each
    // task's version in place and the nodes swap the file.
    s.secret_versions[id] = version;
    return;
  }
  s.previous_secret_versions = s.secret_versions;
  s.secret_versions[id] = version;
  // A new update: the updater starts it ("updating") under the service's UpdateConfig.
  s.update_status.reset();
}

bool MayRun(const Task& t) { return t.status.state <= TaskState::kRunning; }

}  // namespace

std::map<std::string, int64_t> CurrentSecretVersions(const store::ReadModel& reads,
                                                     const ServiceSpec& spec) {
  std::map<std::string, int64_t> out;
  for (const SecretReference& r : spec.task_template.container.secrets) {
    store::SecretEntry e = reads.SecretById(r.secret_id);
    if (e && e->object.current_version != 1) out[r.secret_id] = e->object.current_version;
  }
  return out;
}

std::vector<SecretVersion> VersionsOf(const Secret& s) {
  if (!s.versions.empty()) return s.versions;
  SecretVersion v;
  v.number = 1;
  v.created_at = s.created_at;
  return {v};
}

SecretVersionApi::SecretVersionApi(store::Store& store, const store::ReadModel& reads,
                                   const Clock& clock, std::chrono::milliseconds pin_delay)
    : store_(store), reads_(reads), clock_(clock), pin_delay_(pin_delay) {}

void SecretVersionApi::PauseBeforePins() const {
  if (pin_delay_.count() <= 0) return;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  clock_.WaitFor(cv, lock, pin_delay_, [] { return false; });
}

int64_t SecretVersionApi::VersionsKept() const {
  store::ClusterEntry c = reads_.GetCluster();
  return c ? c->object.spec.secret_versions_kept : kDefaultSecretVersionsKept;
}

Status SecretVersionApi::SetVersionsKept(int64_t kept) {
  if (kept < 0 || kept > 100) {
    return absl::InvalidArgumentError("versions kept must be between 0 and 100");
  }
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::ClusterEntry c = reads_.GetCluster();
  if (!c) return absl::NotFoundError("cluster not found");
  StatusOr<int64_t> rev =
      store::UpdateLatest(store_, kClusterKind, c->object.id,
                          [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
                            ASSIGN_OR_RETURN(Cluster cl, DecodeClusterMeta(cur.record.meta));
                            if (cl.spec.secret_versions_kept == kept) return store::Mutation::kKeep;
                            cl.spec.secret_versions_kept = kept;
                            cur.record.meta = EncodeClusterMeta(cl);
                            return store::Mutation::kWrite;
                          });
  RETURN_IF_ERROR(rev.status());
  spdlog::info("secret versions kept: {}", kept);
  return reads_.WaitFor(*rev, std::chrono::seconds(10));
}

StatusOr<VersionChange> SecretVersionApi::Rotate(const std::string& id, const SecretBytes& data,
                                                 int64_t uid) {
  RETURN_IF_ERROR(ValidateSecretData(data.size()));
  ASSIGN_OR_RETURN(SecretBytes key, SecretDigestKey(store_));
  const std::string digest = KeyedDigest(key, data.span());
  int64_t version = 0;
  int64_t intent = 0;
  std::string name;
  for (int attempt = 0; attempt < store::kWriteAttempts && version == 0; ++attempt) {
    StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, id);
    if (absl::IsNotFound(cur.status())) return SecretNotFound(id);
    RETURN_IF_ERROR(cur.status());
    ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
    if (s.versions.empty()) {
      // A secret never rotated: its version 1 gets its digest now.
      s.versions = VersionsOf(s);
      s.versions[0].digest = KeyedDigest(key, cur->record.data.span());
    }
    const int64_t n = NewestNumber(s.versions) + 1;
    const store::ObjectRef vref{kSecretVersionsKind, VersionObjectId(id, n), ""};
    store::Record vrec{Json{{"SecretID", id}, {"Number", n}}.dump(),
                       SecretBytes::CopyFrom(data.span())};
    StatusOr<int64_t> made = store_.Create(vref, vrec);
    if (absl::IsAlreadyExists(made.status())) continue;  // a concurrent rotation took n
    RETURN_IF_ERROR(made.status());
    // The intent before the record: once n is current, the pins are sure to follow.
    StatusOr<int64_t> intended = WriteIntent(id, n);
    if (!intended.ok()) {
      (void)store_.Delete(vref, 0);
      return intended.status();
    }
    intent = *intended;

    const TimePoint now = clock_.Now();
    s.versions.push_back({n, now, uid, digest});
    s.current_version = n;
    s.updated_at = now;
    cur->record.meta = EncodeSecretMeta(s);  // the data part (version 1) stays as stored
    StatusOr<int64_t> rev =
        store_.Update({kSecretsKind, id, s.name}, cur->mod_revision, cur->record);
    if (!rev.ok()) {
      (void)store_.Delete(vref, 0);  // not referenced by anything
      // The intent names a version that is not current: stale, whoever deletes it.
      (void)store_.Delete({kSecretPinsKind, id, ""}, intent);
      if (absl::IsAborted(rev.status())) continue;
      if (absl::IsNotFound(rev.status())) return SecretNotFound(id);
      return rev.status();
    }
    version = n;
    name = s.name;
  }
  if (version == 0) return store::OutOfSequence();
  spdlog::info("secret rotated: id={} name={} version={}", id, name, version);
  PauseBeforePins();
  ASSIGN_OR_RETURN(Pins pins, FinishPins(id, version, intent));
  if (StatusOr<std::set<int64_t>> swept = Sweep(id); !swept.ok()) {
    spdlog::warn("secret {}: versions not swept: {}", id, swept.status().ToString());
  }
  return VersionChange{version, std::move(pins.services), pins.superseded_by};
}

StatusOr<VersionChange> SecretVersionApi::Rollback(const std::string& id) {
  int64_t target = 0;
  int64_t intent = 0;
  std::string name;
  for (int attempt = 0; attempt < store::kWriteAttempts && name.empty(); ++attempt) {
    StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, id);
    if (absl::IsNotFound(cur.status())) return SecretNotFound(id);
    RETURN_IF_ERROR(cur.status());
    ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
    target = 0;
    for (const SecretVersion& v : s.versions) {
      if (v.number < s.current_version) target = std::max(target, v.number);
    }
    if (target == 0) {
      return absl::FailedPreconditionError("secret " + s.name + " has no previous version");
    }
    ASSIGN_OR_RETURN(intent, WriteIntent(id, target));
    s.current_version = target;
    s.updated_at = clock_.Now();
    cur->record.meta = EncodeSecretMeta(s);
    StatusOr<int64_t> rev =
        store_.Update({kSecretsKind, id, s.name}, cur->mod_revision, cur->record);
    if (!rev.ok()) {
      (void)store_.Delete({kSecretPinsKind, id, ""}, intent);
      if (absl::IsAborted(rev.status())) continue;
      if (absl::IsNotFound(rev.status())) return SecretNotFound(id);
      return rev.status();
    }
    name = s.name;
  }
  if (name.empty()) return store::OutOfSequence();
  spdlog::info("secret rolled back: id={} name={} version={}", id, name, target);
  PauseBeforePins();
  ASSIGN_OR_RETURN(Pins pins, FinishPins(id, target, intent));
  if (StatusOr<std::set<int64_t>> swept = Sweep(id); !swept.ok()) {
    spdlog::warn("secret {}: versions not swept: {}", id, swept.status().ToString());
  }
  return VersionChange{target, std::move(pins.services), pins.superseded_by};
}

StatusOr<int64_t> SecretVersionApi::WriteIntent(const std::string& id, int64_t version) {
  const store::ObjectRef ref{kSecretPinsKind, id, ""};
  const store::Record rec{Json{{"SecretID", id}, {"Version", version}}.dump(), SecretBytes()};
  return store::RetryOnConflict([&]() -> StatusOr<int64_t> {
    StatusOr<store::StoredRecord> cur = store_.Get(kSecretPinsKind, id);
    if (!cur.ok() && !absl::IsNotFound(cur.status())) return cur.status();
    return store_.Update(ref, cur.ok() ? cur->mod_revision : 0, rec);  // 0: creates it
  });
}

StatusOr<SecretVersionApi::Pins> SecretVersionApi::FinishPins(const std::string& id,
                                                              int64_t version,
                                                              int64_t intent_revision) {
  ASSIGN_OR_RETURN(Pins pinned, PinServices(id, version));
  StatusOr<int64_t> del = store_.Delete({kSecretPinsKind, id, ""}, intent_revision);
  // Aborted: a later rotation's intent, that rotation's to finish.
  if (!del.ok() && !absl::IsNotFound(del.status()) && !absl::IsAborted(del.status())) {
    return del.status();
  }
  return pinned;
}

StatusOr<SecretVersionApi::Pins> SecretVersionApi::PinServices(const std::string& id,
                                                               int64_t version) {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<store::ServiceEntry> refs;
  for (const store::ServiceEntry& e : reads_.Services()) {
    if (References(e->object.spec, id)) refs.push_back(e);
  }
  // Fast path: every pin in one WriteBatch (as few etcd Txns as its limits allow), each a
  // compare-and-swap on the read model's copy of the service. The secret is read after those
  // copies and before the swaps, as PinOne reads it: a later rotation's pins are never
  // overwritten. A swap that loses (the service changed since) goes on one by one (PinOne).
  std::vector<store::WriteRequest> writes;
  std::vector<int> write_of(refs.size(), -1);
  const TimePoint now = clock_.Now();
  for (size_t i = 0; i < refs.size(); ++i) {
    const auto& e = *refs[i];
    if (PinnedVersion(e.object.secret_versions, id) == version) continue;
    Service s = e.object;
    ApplyPin(s, id, version, e.mod_revision, now);
    write_of[i] = static_cast<int>(writes.size());
    writes.push_back({store::WriteRequest::Kind::kUpdate,
                      {kServicesKind, s.id, ""},
                      e.mod_revision,
                      {EncodeServiceMeta(s), SecretBytes()},
                      {}});
  }
  Pins pinned;
  std::vector<StatusOr<int64_t>> results;
  if (!writes.empty()) {
    StatusOr<store::StoredRecord> secret = store_.Get(kSecretsKind, id);
    if (absl::IsNotFound(secret.status())) return pinned;  // removed: nothing to pin
    RETURN_IF_ERROR(secret.status());
    ASSIGN_OR_RETURN(Secret current, DecodeSecretMeta(secret->record.meta));
    if (current.current_version != version) {
      pinned.superseded_by = current.current_version;
      return pinned;
    }
    results = store_.WriteBatch(std::move(writes));
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string& sid = refs[i]->object.id;
    if (write_of[i] >= 0) {
      const StatusOr<int64_t>& r = results[static_cast<size_t>(write_of[i])];
      if (r.ok()) {
        pinned.services.push_back(sid);
        ++pinned.written;
        continue;
      }
      if (absl::IsNotFound(r.status())) continue;  // the service was removed meanwhile
      if (!absl::IsAborted(r.status())) return r.status();
      // Changed since the read model's copy: this one and the rest one by one.
      for (size_t j = i; j < refs.size(); ++j) {
        if (j > i && write_of[j] >= 0 && results[static_cast<size_t>(write_of[j])].ok()) {
          pinned.services.push_back(refs[j]->object.id);  // its swap in the batch went through
          ++pinned.written;
          continue;
        }
        bool done = false;
        RETURN_IF_ERROR(PinOne(id, version, refs[j]->object.id, &pinned, &done));
        if (done) break;
      }
      break;
    }
    pinned.services.push_back(sid);  // already on it
  }
  return pinned;
}

Status SecretVersionApi::PinOne(const std::string& id, int64_t version, const std::string& sid,
                                Pins* pinned, bool* stop) {
  // What the last attempt found.
  bool wrote = false, secret_gone = false;
  int64_t superseded_by = 0;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store_, kServicesKind, sid, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        wrote = secret_gone = false;
        superseded_by = 0;
        ASSIGN_OR_RETURN(Service s, DecodeServiceMeta(cur.record.meta));
        if (!References(s.spec, id)) return store::Mutation::kKeep;
        // Already on it (pinned by this rotation's caller, or by the leader finishing it).
        if (PinnedVersion(s.secret_versions, id) == version) return store::Mutation::kKeep;
        // Only while `version` is still current, read after the service (whose
        // compare-and-swap follows): a later rotation's pins are never overwritten.
        StatusOr<store::StoredRecord> secret = store_.Get(kSecretsKind, id);
        if (absl::IsNotFound(secret.status())) {
          secret_gone = true;
          return store::Mutation::kKeep;
        }
        RETURN_IF_ERROR(secret.status());
        ASSIGN_OR_RETURN(Secret now, DecodeSecretMeta(secret->record.meta));
        if (now.current_version != version) {
          superseded_by = now.current_version;
          return store::Mutation::kKeep;
        }
        wrote = true;
        ApplyPin(s, id, version, cur.mod_revision, clock_.Now());
        cur.record.meta = EncodeServiceMeta(s);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return absl::OkStatus();  // removed meanwhile
  RETURN_IF_ERROR(rev.status());
  // The secret was removed, or a later rotation or rollback pins from here on.
  if (secret_gone) {
    *stop = true;
    return absl::OkStatus();
  }
  if (superseded_by != 0) {
    pinned->superseded_by = superseded_by;
    *stop = true;
    return absl::OkStatus();
  }
  pinned->services.push_back(sid);
  if (wrote) ++pinned->written;
  return absl::OkStatus();
}

StatusOr<bool> SecretVersionApi::CompletePending(const std::string& id, int64_t intent_revision) {
  StatusOr<store::StoredRecord> intent = store_.Get(kSecretPinsKind, id);
  if (absl::IsNotFound(intent.status())) return false;
  RETURN_IF_ERROR(intent.status());
  if (intent_revision != 0 && intent->mod_revision != intent_revision) return false;
  const Json j = Json::parse(intent->record.meta, nullptr, /*allow_exceptions=*/false);
  const int64_t version = j.is_object() && j.contains("Version") && j["Version"].is_number_integer()
                              ? j["Version"].get<int64_t>()
                              : 0;
  StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, id);
  if (!cur.ok() && !absl::IsNotFound(cur.status())) return cur.status();
  int64_t current = 0;
  if (cur.ok()) {
    ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
    current = s.current_version;
  }
  if (version == 0 || version != current) {
    // Its record write never happened, a later rotation moved on, or the secret is gone.
    StatusOr<int64_t> del = store_.Delete({kSecretPinsKind, id, ""}, intent->mod_revision);
    if (!del.ok() && !absl::IsNotFound(del.status()) && !absl::IsAborted(del.status())) {
      return del.status();
    }
    return false;
  }
  ASSIGN_OR_RETURN(Pins pins, FinishPins(id, version, intent->mod_revision));
  spdlog::info(
      "secret {}: rotation to version {} completed by the leader ({} of {} service(s) pinned "
      "now)",
      id, version, pins.written, pins.services.size());
  return true;
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> SecretVersionApi::PendingRotations(
    bool all) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (all) {
    ASSIGN_OR_RETURN(store::MetaSnapshot snap, store_.ListMeta());
    for (const store::ObjectMeta& o : snap.objects) {
      if (o.kind == kSecretPinsKind) out.emplace_back(o.id, o.mod_revision);
    }
    return out;
  }
  std::set<std::string> candidates;
  for (const store::ServiceEntry& e : reads_.Services()) {
    for (const SecretReference& r : e->object.spec.task_template.container.secrets) {
      store::SecretEntry secret = reads_.SecretById(r.secret_id);
      if (secret &&
          PinnedVersion(e->object.secret_versions, r.secret_id) != secret->object.current_version) {
        candidates.insert(r.secret_id);
      }
    }
  }
  for (const std::string& id : candidates) {
    StatusOr<store::StoredRecord> intent = store_.Get(kSecretPinsKind, id);
    if (absl::IsNotFound(intent.status())) continue;  // not pinned on purpose (a rollback)
    RETURN_IF_ERROR(intent.status());
    out.emplace_back(id, intent->mod_revision);
  }
  return out;
}

std::map<int64_t, VersionUsage> SecretVersionApi::Usage(const std::string& id) const {
  std::map<int64_t, VersionUsage> usage;
  for (const store::ServiceEntry& e : reads_.Services()) {
    const Service& s = e->object;
    if (!References(s.spec, id)) continue;
    usage[PinnedVersion(s.secret_versions, id)].services.push_back(s.spec.name);
    if (s.previous_secret_versions) {
      const int64_t prev = PinnedVersion(*s.previous_secret_versions, id);
      usage[prev];  // kept for a failure rollback: in use, though no task may mount it yet
    }
  }
  for (const store::TaskEntry& e : reads_.Tasks()) {
    const Task& t = e->object;
    if (!MayRun(t)) continue;
    const std::vector<SecretReference>& refs = t.spec.container.secrets;
    if (std::none_of(refs.begin(), refs.end(),
                     [&](const SecretReference& r) { return r.secret_id == id; })) {
      continue;
    }
    ++usage[PinnedVersion(t.secret_versions, id)].tasks;
  }
  return usage;
}

StatusOr<std::set<int64_t>> SecretVersionApi::Sweep(const std::string& id) {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::set<int64_t> in_use;
  for (const auto& [n, u] : Usage(id)) in_use.insert(n);
  const int64_t keep = VersionsKept();
  std::set<int64_t> wiped;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store_, kSecretsKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur.record.meta));
        wiped = VersionsToWipe(s, keep, in_use);
        if (wiped.empty()) return store::Mutation::kKeep;
        std::erase_if(s.versions, [&](const SecretVersion& v) { return wiped.count(v.number); });
        if (wiped.count(1) > 0) cur.record.data = SecretBytes();  // version 1 lived here
        cur.record.meta = EncodeSecretMeta(s);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return std::set<int64_t>{};
  RETURN_IF_ERROR(rev.status());
  for (int64_t n : wiped) {
    if (n < 2) continue;
    StatusOr<int64_t> del = store_.Delete({kSecretVersionsKind, VersionObjectId(id, n), ""}, 0);
    if (!del.ok() && !absl::IsNotFound(del.status())) {
      spdlog::warn("secret {}: version {} not deleted: {}", id, n, del.status().ToString());
    }
  }
  if (!wiped.empty()) spdlog::info("secret {}: {} old version(s) wiped", id, wiped.size());
  return wiped;
}

void SecretVersionApi::SweepAll() {
  for (const store::SecretEntry& e : reads_.Secrets()) {
    if (e->object.versions.size() <= 1) continue;
    if (StatusOr<std::set<int64_t>> s = Sweep(e->object.id); !s.ok()) {
      spdlog::warn("secret {}: versions not swept: {}", e->object.id, s.status().ToString());
    }
  }
}

StatusOr<int> SecretVersionApi::SweepOrphanVersions() {
  ASSIGN_OR_RETURN(store::MetaSnapshot snap, store_.ListMeta());
  // Per secret, read once after the list: whether it exists, its record's revision and the
  // versions it lists.
  struct Owner {
    bool exists = false;
    int64_t mod_revision = 0;
    std::set<int64_t> listed;
  };
  std::map<std::string, Owner> owners;
  int deleted = 0;
  for (const store::ObjectMeta& o : snap.objects) {
    if (o.kind != kSecretVersionsKind) continue;
    const Json j = Json::parse(o.meta, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("SecretID") || !j["SecretID"].is_string() ||
        !j.contains("Number") || !j["Number"].is_number_integer()) {
      continue;  // not ours to judge
    }
    const std::string sid = j["SecretID"].get<std::string>();
    const int64_t n = j["Number"].get<int64_t>();
    auto it = owners.find(sid);
    if (it == owners.end()) {
      // Read after the list: a rotation that made this object read the record before, so a
      // record written since (mod_revision above the object's creation) that does not list
      // it means that rotation's compare-and-swap failed or never came.
      Owner owner;
      StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, sid);
      if (!cur.ok() && !absl::IsNotFound(cur.status())) return cur.status();
      if (cur.ok()) {
        ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
        owner.exists = true;
        owner.mod_revision = cur->mod_revision;
        for (const SecretVersion& v : s.versions) owner.listed.insert(v.number);
      }
      it = owners.emplace(sid, std::move(owner)).first;
    }
    const Owner& owner = it->second;
    if (owner.exists && (owner.listed.count(n) > 0 || o.create_revision >= owner.mod_revision)) {
      continue;
    }
    StatusOr<int64_t> del = store_.Delete({kSecretVersionsKind, o.id, ""}, o.mod_revision);
    if (del.ok()) {
      ++deleted;
      spdlog::info("secret {}: orphaned version {} deleted", sid, n);
    } else if (!absl::IsNotFound(del.status()) && !absl::IsAborted(del.status())) {
      return del.status();
    }
  }
  return deleted;
}

void SecretVersionApi::RemoveVersions(const Secret& s) {
  for (const SecretVersion& v : s.versions) {
    if (v.number < 2) continue;
    StatusOr<int64_t> del =
        store_.Delete({kSecretVersionsKind, VersionObjectId(s.id, v.number), ""}, 0);
    if (!del.ok() && !absl::IsNotFound(del.status())) {
      spdlog::warn("secret {}: version {} not deleted: {}", s.id, v.number,
                   del.status().ToString());
    }
  }
}

StatusOr<std::string> SecretVersionApi::DigestOf(const std::string& id, const SecretVersion& v,
                                                 const SecretBytes& key) {
  if (!v.digest.empty()) return v.digest;
  // Only a version 1 made before versions existed has no digest: its data is the record's.
  StatusOr<store::StoredRecord> rec =
      v.number <= 1 ? store_.Get(kSecretsKind, id)
                    : store_.Get(kSecretVersionsKind, VersionObjectId(id, v.number));
  if (absl::IsNotFound(rec.status())) return SecretNotFound(id);
  RETURN_IF_ERROR(rec.status());
  return KeyedDigest(key, rec->record.data.span());
}

StatusOr<SecretHistory> SecretVersionApi::History(const std::string& id) {
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::SecretEntry e = reads_.SecretById(id);
  if (!e) return SecretNotFound(id);
  const Secret& s = e->object;
  ASSIGN_OR_RETURN(SecretBytes key, SecretDigestKey(store_));
  std::map<int64_t, VersionUsage> usage = Usage(id);
  SecretHistory h{s.id, s.name, s.current_version, VersionsKept(), {}};
  for (const SecretVersion& v : VersionsOf(s)) {
    VersionRow row{v, v.number == s.current_version, usage[v.number]};
    ASSIGN_OR_RETURN(row.version.digest, DigestOf(id, v, key));
    h.rows.push_back(std::move(row));
  }
  return h;
}

StatusOr<VerifyAnswer> SecretVersionApi::Verify(const std::string& id,
                                                const SecretBytes& candidate) {
  StatusOr<store::StoredRecord> cur = store_.Get(kSecretsKind, id);
  if (absl::IsNotFound(cur.status())) return SecretNotFound(id);
  RETURN_IF_ERROR(cur.status());
  ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur->record.meta));
  ASSIGN_OR_RETURN(SecretBytes key, SecretDigestKey(store_));
  const std::string want = KeyedDigest(key, candidate.span());
  VerifyAnswer answer{0, s.current_version};
  for (const SecretVersion& v : VersionsOf(s)) {
    std::string have = v.digest;
    if (have.empty()) have = KeyedDigest(key, cur->record.data.span());  // legacy version 1
    if (!DigestsEqual(have, want)) continue;
    // The current version wins; otherwise the newest that matches.
    if (answer.matched != s.current_version) answer.matched = std::max(answer.matched, v.number);
    if (v.number == s.current_version) answer.matched = v.number;
  }
  return answer;
}

}  // namespace capsule::controlapi
