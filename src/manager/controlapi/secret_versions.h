// Capsule's secret versions (issue 14 parts 1, 2 and 4; design in docs/secret-versions.md):
// rotate, rollback, history, verify, and the wiping of versions that fell out of the window.
// None of this is reachable through a Docker route: dockerapi serves it on /capsule/secrets/….
//
// Store layout (objects/secret_versions.h): the secret's record keeps its meta and, as before,
// version 1's data; version n >= 2 is its own object secretversions/<id>.<n>. A secret is up to
// 500 KB and one etcd request is limited to ~1.5 MiB, so versions never share one record: a
// rotation writes the new version's object, then the secret's record (meta: current version
// and the list of versions), each well under the limit.
//
// Rotation and rollback move the secret's current version, then pin it on every service that
// references the secret (Service::secret_versions, the old pins kept in
// previous_secret_versions, UpdateStatus cleared): the orchestrator's updater then replaces the
// tasks under each service's own UpdateConfig, as for a spec update (orchestrator/tasks.h
// IsTaskDirty). A service removed meanwhile is skipped.
//
// Crash safety (docs/secret-versions.md): not one Txn for everything (a Txn holds at most 128
// operations; a secret may be used by more services). Before the secret's record, the rotation
// writes its intent, the object secretpins/<secret ID> {"SecretID", "Version"}; it deletes it
// after the last pin. Pins are idempotent (a service already on the version is left as it is)
// and each is written only while the secret's current version, read linearizably just before
// the service's compare-and-swap, is still the version pinned — so the newest rotation wins
// whatever the interleaving. An intent left by a crash or a failed write is finished by the
// leader (SecretVersionSweeper → CompletePending); an intent whose version is not current any
// more (its record write never happened, or a later rotation moved on) is deleted.
//
// No call returns secret data. Thread-safe (the store and read model are).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "objects/objects.h"
#include "objects/service.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

// The store kind of rotation intents: one object per secret (ID = the secret's), meta
// {"SecretID", "Version"}, no data.
inline constexpr char kSecretPinsKind[] = "secretpins";

// The current version of every secret `spec` references (1s left out), from the read model:
// what a service pins when it is created or updated.
std::map<std::string, int64_t> CurrentSecretVersions(const store::ReadModel& reads,
                                                     const ServiceSpec& spec);

// The versions of `s` (a secret never rotated: its version 1, made when it was created).
std::vector<SecretVersion> VersionsOf(const Secret& s);

struct VersionChange {
  int64_t version = 0;                   // the version this call made current
  std::vector<std::string> service_ids;  // services this call pinned to it (they roll to it)
  // A concurrent rotation or rollback made another version current before this call had
  // pinned every service: that version (the other call pins the rest, and re-pins these).
  // 0 = not overtaken.
  int64_t superseded_by = 0;
};

struct VersionUsage {
  std::vector<std::string> services;  // names of the services that pin it
  uint64_t tasks = 0;                 // tasks that may still run and mount it
};

struct VersionRow {
  SecretVersion version;  // digest always filled
  bool current = false;
  VersionUsage usage;
};

struct SecretHistory {
  std::string id;
  std::string name;
  int64_t current_version = 1;
  int64_t versions_kept = 0;     // old versions the window keeps (the cluster's setting)
  std::vector<VersionRow> rows;  // oldest first
};

struct VerifyAnswer {
  int64_t matched = 0;  // the version the candidate equals (the current one first); 0 = none
  int64_t current_version = 1;
};

class SecretVersionApi {
 public:
  // `pin_delay` (tests only, capsuled's hidden --rotation-pin-delay-ms): how long a rotation
  // or rollback waits between making its version current and pinning the services, so that a
  // test can kill the manager in that window.
  SecretVersionApi(store::Store& store, const store::ReadModel& reads, const Clock& clock,
                   std::chrono::milliseconds pin_delay = std::chrono::milliseconds(0));

  // `id` is a full ID (resolved by the caller); `uid` the caller's (-1: not known).
  // A new version with `data`, made current and pinned on every service using the secret.
  // InvalidArgument "secret data must be larger than 0 and less than 512000 bytes";
  // NotFound "secret <id> not found"; Unknown "update out of sequence" (lost every race).
  StatusOr<VersionChange> Rotate(const std::string& id, const SecretBytes& data, int64_t uid);

  // The current version goes back to the highest kept version below it, pinned likewise.
  // NotFound; FailedPrecondition "secret <name> has no previous version"; Unknown as Rotate.
  StatusOr<VersionChange> Rollback(const std::string& id);

  // NotFound "secret <id> not found".
  StatusOr<SecretHistory> History(const std::string& id);

  // Which kept version `candidate` equals, compared by keyed digest (never by data).
  // NotFound.
  StatusOr<VerifyAnswer> Verify(const std::string& id, const SecretBytes& candidate);

  // Finishes the rotation or rollback whose intent secret `id` still has: pins the version on
  // every referencing service not on it yet, then deletes the intent; an intent whose version
  // is not the secret's current one (or whose secret is gone) is only deleted. With
  // `intent_revision` != 0, only if the intent is still at that revision. → whether pins were
  // finished (false: no intent, a stale one, or another revision).
  StatusOr<bool> CompletePending(const std::string& id, int64_t intent_revision = 0);
  // (secret ID, intent mod_revision) of the rotations left unfinished. Cheap form (`all`
  // false): only secrets that a referencing service does not pin at their current version in
  // the read model (one store read each); `all`: every intent in the store (a full listing).
  StatusOr<std::vector<std::pair<std::string, int64_t>>> PendingRotations(bool all);

  // Wipes the versions of secret `id` that are outside the window and unused
  // (secret_window.h); a missing secret is OK. → the versions wiped.
  StatusOr<std::set<int64_t>> Sweep(const std::string& id);
  // Sweep for every secret with more than one version (errors are logged).
  void SweepAll();

  // Deletes every version object that no secret lists: its secret is gone, or the secret's
  // record was written after the object was made and does not list it (a rotation that
  // failed or crashed between its two writes, a sweep or removal that crashed before its
  // deletes). An object made after the record's last write is a rotation still under way
  // and stays. → how many were deleted.
  StatusOr<int> SweepOrphanVersions();

  // Deletes the data objects of every version of `s` (after `s` itself was removed).
  void RemoveVersions(const Secret& s);

  // ClusterSpec::secret_versions_kept of the swarm (the default without a cluster object).
  int64_t VersionsKept() const;
  // Sets it (stored with the cluster object; Docker's swarm JSON never shows it).
  // InvalidArgument "versions kept must be between 0 and 100"; NotFound "cluster not found".
  Status SetVersionsKept(int64_t kept);

 private:
  // Pins `version` for rotation `seq` on every referencing service, then clears the intent.
  // Writes the intent (version `version`) → its revision.
  StatusOr<int64_t> WriteIntent(const std::string& id, int64_t version);
  struct Pins {
    std::vector<std::string> services;  // pinned to the version (now or before)
    int written = 0;                    // pins written by this pass
    int64_t superseded_by = 0;          // the version a later rotation made current; 0 = none
  };
  // Pins `version` on every referencing service, then deletes the intent if it is still at
  // `intent_revision`. Stops at the first service once another version is current.
  StatusOr<Pins> FinishPins(const std::string& id, int64_t version, int64_t intent_revision);
  StatusOr<Pins> PinServices(const std::string& id, int64_t version);
  // One service `sid`, read from the store, pinned by compare-and-swap (retried); adds it
  // to `pinned`; sets `stop` when the secret is gone or another version is current.
  Status PinOne(const std::string& id, int64_t version, const std::string& sid, Pins* pinned,
                bool* stop);
  std::map<int64_t, VersionUsage> Usage(const std::string& id) const;
  // The digest of version `v` of secret `id` (computed from its data when not recorded).
  StatusOr<std::string> DigestOf(const std::string& id, const SecretVersion& v,
                                 const SecretBytes& key);

  // Waits pin_delay_ on clock_ (no-op when it is 0).
  void PauseBeforePins() const;

  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
  const std::chrono::milliseconds pin_delay_;
};

}  // namespace capsule::controlapi
