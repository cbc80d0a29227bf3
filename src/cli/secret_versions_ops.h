// `capsule secret rotate|rollback|history|verify`: Capsule's secret versions, thin clients of
// the /capsule/secrets/… routes (dockerapi/capsule_secret_routes.cc). Secret data travels only
// in a request body (raw bytes, from SecretBytes); no answer ever carries data. Errors come
// back as Status whose message is the text to show on stderr.
#pragma once

#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct SecretRotateOptions {
  std::string name;
  std::string file;     // rotate only: path or "-" for stdin
  bool detach = false;  // -d: do not wait for the services to converge
  bool quiet = false;   // -q: no progress lines
};

// POST /capsule/secrets/{name}/rotate; prints "<name>: version <n>", then, unless detached,
// each service that rolls to it (its ID) and its progress as `service update` prints it
// (service_progress.h). A service whose update pauses is reported and the others are still
// waited for; the result is then an error naming the paused ones.
Status SecretRotate(CommandContext& ctx, const SecretRotateOptions& options);

// POST /capsule/secrets/{name}/rollback, printed and waited for as SecretRotate.
Status SecretRollback(CommandContext& ctx, const SecretRotateOptions& options);

// GET /capsule/secrets/{name}/history as a table, oldest first:
//   VERSION   CREATED          CREATED BY   DIGEST                     IN USE BY
//   1         10 minutes ago   -            hmac-sha256:1f2e3d4c5b6a   -
//   2 *       2 minutes ago    -            hmac-sha256:9a8b7c6d5e4f   web (2 tasks)
// '*' marks the current version; CREATED BY is the uid of the caller, "-" when not known (the
// daemon does not read socket peer credentials yet); DIGEST is the first 12 hex characters of
// the keyed digest (HMAC-SHA256 under the cluster's key, never a plain hash); IN USE BY names
// the services pinning the version and counts the tasks that may still run with it.
Status SecretHistory(CommandContext& ctx, const std::string& name);

// POST /capsule/secrets/{name}/verify with the candidate's bytes; prints "matches version <n>"
// (with "(current)" or "(not the current version <m>)") or "no match". OK only on a match with
// the current version; otherwise an error with an empty message (exit status 1, nothing more
// on stderr).
Status SecretVerify(CommandContext& ctx, const std::string& name, const std::string& file);

// GET (value empty) or POST /capsule/secret-versions-kept[?value=N]: prints the number of old
// versions each secret keeps besides its current one (the swarm's setting; default 2).
Status SecretVersionsKept(CommandContext& ctx, const std::string& value);

}  // namespace capsule::cli
