#include "audit/query.h"

#include <algorithm>

#include "common/go_time.h"

namespace capsule::audit {

StatusOr<Query> ParseQuery(const std::string& since, const std::string& secret, TimePoint now) {
  Query q;
  if (!since.empty()) {
    ASSIGN_OR_RETURN(TimePoint t, ParseDockerTimestamp(since, now));
    q.since = t;
  }
  q.secret = secret;
  return q;
}

bool MatchesSecret(const Event& e, const std::string& ref) {
  if (ref.empty()) return true;
  return e.secret_name == ref || e.secret_id.compare(0, ref.size(), ref) == 0;
}

std::vector<Event> Filter(std::vector<Event> events, const Query& query) {
  std::erase_if(events, [&](const Event& e) {
    return (query.since && e.time < *query.since) || !MatchesSecret(e, query.secret);
  });
  return events;
}

}  // namespace capsule::audit
