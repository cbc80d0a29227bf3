// Which audit events a reader asked for (GET /capsule/audit?since=&secret=) and the
// filtering itself. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/event.h"
#include "common/status.h"

namespace capsule::audit {

struct Query {
  std::optional<TimePoint> since;  // unset: the whole log
  std::string secret;              // "": every secret
};

// `since` as Docker reads it (a Go duration before `now`, an RFC 3339 time or date, Unix
// seconds; common/go_time.h), `secret` as given. InvalidArgument for a bad since, with
// Docker's message.
StatusOr<Query> ParseQuery(const std::string& since, const std::string& secret, TimePoint now);

// Whether `e` is about the secret `ref`: its exact name, its full ID, or a prefix of its ID
// (names compare exactly: a removed secret's name may since belong to another secret, and
// both show).
bool MatchesSecret(const Event& e, const std::string& ref);

// The events of `events` (in key order) that match `query`, in the same order.
std::vector<Event> Filter(std::vector<Event> events, const Query& query);

}  // namespace capsule::audit
