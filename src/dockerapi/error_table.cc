#include "dockerapi/error_table.h"

#include <nlohmann/json.hpp>

namespace capsule::dockerapi {
namespace {

// gRPC's names for codes, as they appear in "rpc error: code = <Name> desc = ...".
const char* GrpcCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "Canceled";
    case StatusCode::kUnknown: return "Unknown";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kPermissionDenied: return "PermissionDenied";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kUnimplemented: return "Unimplemented";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    default: return "Unknown";
  }
}

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kResourceExhausted: return 413;
    default: return 500;
  }
}

http::Response JsonResponse(int status, std::string json_text) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(json_text);
  r.body.push_back('\n');
  return r;
}

http::Response ErrorResponse(const Status& status) {
  nlohmann::json body = {{"message", std::string(status.message())}};
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Go's encoder escapes <, > and & (they can only occur inside strings here).
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return JsonResponse(HttpStatusFor(status.code()), std::move(out));
}

Status RpcError(const Status& status) {
  if (status.ok()) return status;
  return Status(status.code(), std::string("rpc error: code = ") + GrpcCodeName(status.code()) +
                                   " desc = " + std::string(status.message()));
}

}  // namespace capsule::dockerapi
