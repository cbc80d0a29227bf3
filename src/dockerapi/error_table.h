// The one table from Status codes to HTTP, and Docker's error body {"message":"..."}\n.
//   InvalidArgument 400, NotFound 404, AlreadyExists 409, Unavailable 503, FailedPrecondition
//   400 ... everything else 500 (as the Docker engine does).
#pragma once

#include <string>

#include "common/status.h"
#include "dockerapi/http/server.h"

namespace capsule::dockerapi {

int HttpStatusFor(StatusCode code);

// {"message":<status.message()>}\n with the mapped HTTP status.
http::Response ErrorResponse(const Status& status);

// An error from the swarm layer, as the engine reports it: the same code with the message
// "rpc error: code = <Code> desc = <message>".
Status RpcError(const Status& status);

// JSON body (compact) + "\n", Content-Type application/json.
http::Response JsonResponse(int status, std::string json_text);

// Docker's messages for a node outside a swarm / not a manager.
inline constexpr char kNotManagerMessage[] =
    "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to "
    "connect this node to swarm and try again.";

}  // namespace capsule::dockerapi
