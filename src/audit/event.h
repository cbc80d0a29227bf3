// One entry of the secrets audit log: what happened to which secret (name, ID, version), when,
// and who did it — the caller of an API request (uid and pid from the unix socket's peer
// credentials) or, for a delivery, the node the secret was sent to. An event never holds
// secret data nor anything derived from it (no digest): only the names and IDs that logs
// already carry.
//
// Events are stored (audit/etcd_log.h) as JSON under an ordered key (EventKey): keys sort in
// the order events were recorded, oldest first, so the oldest are trimmed first and a
// `since` read is a range read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::audit {

enum class Action { kCreate, kRemove, kRotate, kRollback, kDeliver };

// "create", "remove", "rotate", "rollback", "deliver".
std::string_view ActionName(Action action);
// InvalidArgument for any other name.
StatusOr<Action> ParseAction(std::string_view name);

// The process that called the API, from SO_PEERCRED of its unix socket connection.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
};

// Every secret's data is version 1 until secret versions exist.
inline constexpr int64_t kFirstVersion = 1;

struct Event {
  TimePoint time{};  // the recorder stamps it (its clock) when left at the epoch
  Action action = Action::kCreate;
  std::string secret_id;
  std::string secret_name;
  int64_t version = kFirstVersion;
  std::optional<Caller> caller;  // API calls (unset when the connection had no credentials)
  std::string node_id;           // deliveries: the node the secret went to
  std::string recorded_by;       // the manager that recorded it (the recorder sets it)
  std::string key;               // the stored key's suffix (EventKey); set by the recorder
};

// {"Time","Action","SecretID","SecretName","Version","Caller":{"UID","GID","PID"}?,
//  "NodeID"?,"RecordedBy"} — the form stored and the form GET /capsule/audit returns.
// `key` is not part of it (it is the stored key; the log fills it in on reads).
std::string EncodeEvent(const Event& event);
// DataLoss when the text is not an event.
StatusOr<Event> DecodeEvent(std::string_view text);

// The ordered key of an event: "<20-digit ns since the epoch>-<writer>-<10-digit seq>".
// Keys of one writer increase with seq; keys of events from different managers sort by time.
std::string EventKey(int64_t unix_nanos, std::string_view writer, uint64_t seq);
// The smallest key of an event at or after `t` (the start of a `since` range).
std::string KeyAtOrAfter(TimePoint t);

int64_t UnixNanos(TimePoint t);

}  // namespace capsule::audit
