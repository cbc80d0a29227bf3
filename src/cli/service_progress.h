// Waiting for a service to converge after `service create|update|scale` without -d, with the
// lines the docker 20.10 CLI prints when its output is not a terminal:
//   overall progress: 0 out of 1 tasks
//   1/1:
//   overall progress: 1 out of 1 tasks
//   verify: Waiting 5 seconds to verify that tasks are stable...
//   verify: Service converged
// It polls every 200 ms (through ctx.Sleep) GET /services/{ref}?insertDefaults=false,
// GET /tasks?filters={"_up-to-date":{"true":true},"service":{"<id>":true}} and GET /nodes,
// and reports convergence once every desired task has been running for UpdateConfig.Monitor
// (5 s by default), as docker does.
#pragma once

#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

// `ref` is what the user typed (or the new service's ID); quiet prints nothing but still
// waits. Errors: daemon errors, "service update paused: <msg>",
// "service rollback paused: <msg>", "unrecognized service mode".
Status WaitOnService(CommandContext& ctx, HttpClient& client, const std::string& ref, bool quiet);

// Docker's stringid.TruncateID: drops a "sha256:"-style prefix, keeps 12 characters.
std::string TruncateId(const std::string& id);

}  // namespace capsule::cli
