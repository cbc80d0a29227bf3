#include "manager/controlapi/secret_versions.h"

#include <spdlog/spdlog.h>

#include <algorithm>

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
                                   const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

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

    const TimePoint now = clock_.Now();
    s.versions.push_back({n, now, uid, digest});
    s.current_version = n;
    s.updated_at = now;
    cur->record.meta = EncodeSecretMeta(s);  // the data part (version 1) stays as stored
    StatusOr<int64_t> rev =
        store_.Update({kSecretsKind, id, s.name}, cur->mod_revision, cur->record);
    if (!rev.ok()) {
      (void)store_.Delete(vref, 0);  // not referenced by anything
      if (absl::IsAborted(rev.status())) continue;
      if (absl::IsNotFound(rev.status())) return SecretNotFound(id);
      return rev.status();
    }
    version = n;
    name = s.name;
  }
  if (version == 0) return store::OutOfSequence();
  spdlog::info("secret rotated: id={} name={} version={}", id, name, version);
  ASSIGN_OR_RETURN(std::vector<std::string> services, PinServices(id, version));
  if (StatusOr<std::set<int64_t>> swept = Sweep(id); !swept.ok()) {
    spdlog::warn("secret {}: versions not swept: {}", id, swept.status().ToString());
  }
  return VersionChange{version, std::move(services)};
}

StatusOr<VersionChange> SecretVersionApi::Rollback(const std::string& id) {
  int64_t target = 0;
  std::string name;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store_, kSecretsKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(cur.record.meta));
        target = 0;
        for (const SecretVersion& v : s.versions) {
          if (v.number < s.current_version) target = std::max(target, v.number);
        }
        if (target == 0) {
          return absl::FailedPreconditionError("secret " + s.name + " has no previous version");
        }
        s.current_version = target;
        s.updated_at = clock_.Now();
        name = s.name;
        cur.record.meta = EncodeSecretMeta(s);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return SecretNotFound(id);
  RETURN_IF_ERROR(rev.status());
  spdlog::info("secret rolled back: id={} name={} version={}", id, name, target);
  ASSIGN_OR_RETURN(std::vector<std::string> services, PinServices(id, target));
  if (StatusOr<std::set<int64_t>> swept = Sweep(id); !swept.ok()) {
    spdlog::warn("secret {}: versions not swept: {}", id, swept.status().ToString());
  }
  return VersionChange{target, std::move(services)};
}

StatusOr<std::vector<std::string>> SecretVersionApi::PinServices(const std::string& id,
                                                                 int64_t version) {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<std::string> pinned;
  for (const store::ServiceEntry& e : reads_.Services()) {
    if (!References(e->object.spec, id)) continue;
    const std::string sid = e->object.id;
    StatusOr<int64_t> rev = store::UpdateLatest(
        store_, kServicesKind, sid, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
          ASSIGN_OR_RETURN(Service s, DecodeServiceMeta(cur.record.meta));
          if (!References(s.spec, id)) return store::Mutation::kKeep;
          if (s.spec_version == 0) s.spec_version = cur.mod_revision;
          if (s.secret_refresh.count(id) > 0) {
            // Live refresh (objects/secret_refresh.h): no rolling update; the orchestrator
            // moves each task's version in place and the nodes swap the file.
            s.secret_versions[id] = version;
            s.updated_at = clock_.Now();
            cur.record.meta = EncodeServiceMeta(s);
            return store::Mutation::kWrite;
          }
          s.previous_secret_versions = s.secret_versions;
          s.secret_versions[id] = version;
          // A new update: the updater starts it ("updating") under the service's UpdateConfig.
          s.update_status.reset();
          s.updated_at = clock_.Now();
          cur.record.meta = EncodeServiceMeta(s);
          return store::Mutation::kWrite;
        });
    if (absl::IsNotFound(rev.status())) continue;  // removed meanwhile
    RETURN_IF_ERROR(rev.status());
    pinned.push_back(sid);
  }
  return pinned;
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
