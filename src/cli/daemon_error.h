// Turning daemon answers into Status the way the docker CLI reports them.
#pragma once

#include <string>

#include "cli/http_client.h"
#include "common/status.h"

namespace capsule::cli {

// The daemon's error text: the "message" of a {"message": …} body, else the trimmed body.
std::string DaemonMessage(const HttpResponse& response);

// A non-2xx answer as a Status whose message is what the CLI prints:
// "Error response from daemon: <message>". The code follows the HTTP status
// (400 InvalidArgument, 404 NotFound, 409 AlreadyExists, 503 Unavailable, else Unknown).
Status DaemonError(const HttpResponse& response);

// Sends the request and turns non-2xx answers into DaemonError.
StatusOr<HttpResponse> Call(HttpClient& client, const HttpRequest& request);

// A 404 for a named object, as the docker 20.10 CLI prints it: "Error: No such secret: X".
Status NoSuchObject(const std::string& kind, const std::string& name);

}  // namespace capsule::cli
