// The state of the swarm's data keys as `capsule info` and `capsule swarm rotate-data-key`
// show it (GET /capsule/swarm/data-key), and the leader's record of a re-seal pass
// (/capsule/v1/keys/rotation, keyspaces.h). Plain values: key ids and counts, no key material.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::datakeys {

// The leader's re-seal pass towards data key `target` (JSON in etcd; field names below).
struct ResealProgress {
  uint32_t target = 0;             // "Target": the key the pass re-seals to (the active one)
  std::vector<uint32_t> retiring;  // "Retiring": the keys being retired
  // "Phase": "resealing" → "waiting-for-managers" → "verifying" → "done".
  std::string phase;
  int64_t visited = 0;   // "Done": values the pass has gone over (re-sealed or already new)
  int64_t resealed = 0;  // "Resealed": values it re-sealed
  int64_t total = 0;     // "Total": sealed values when the pass began
  // Resume cursor: every value of kSealedPrefixes[prefix] up to and including key `after`
  // (and of every earlier prefix) has been gone over. "Prefix", "After".
  int prefix = 0;
  std::string after;
  std::string started_at;   // "StartedAt" (RFC 3339)
  std::string finished_at;  // "FinishedAt", once done
  std::string waiting_for;  // "WaitingFor": managers that have not loaded the new keyring
};

std::string EncodeProgress(const ResealProgress& p);
// DataLoss if `json` is not a progress record.
StatusOr<ResealProgress> DecodeProgress(const std::string& json);

// What GET /capsule/swarm/data-key answers.
struct DataKeyState {
  uint32_t current = 0;           // "CurrentKeyID"
  std::vector<uint32_t> key_ids;  // "KeyIDs": every key in the keyring
  // "Rotation": set while the keyring holds more than one key (a rotation in progress); its
  // progress as the leader last recorded it (phase "starting" before the leader took it up).
  std::optional<ResealProgress> rotation;
  std::optional<ResealProgress> last;  // "LastRotation": the last finished one
};

std::string EncodeState(const DataKeyState& s);  // JSON object, compact
StatusOr<DataKeyState> DecodeState(const std::string& json);

}  // namespace capsule::datakeys
