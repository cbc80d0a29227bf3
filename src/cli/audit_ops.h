// `capsule audit`: the secrets audit log (GET /capsule/audit) as a table, oldest first:
//   TIME  ACTION  SECRET  ID  VERSION  BY
// TIME in UTC to the second (RFC 3339); BY is "uid=U pid=P" for an API caller (pid of the
// process that connected to the daemon's socket) and "node <ID>" for a delivery. Errors are
// the daemon's (a worker answers Docker's manager-only message).
#pragma once

#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct AuditOptions {
  std::string since;   // as `docker logs --since`: "1h", an RFC 3339 time, Unix seconds
  std::string secret;  // a secret's name, ID or ID prefix
};

Status Audit(CommandContext& ctx, const AuditOptions& options);

}  // namespace capsule::cli
