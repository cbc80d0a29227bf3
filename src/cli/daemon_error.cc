#include "cli/daemon_error.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace capsule::cli {

std::string DaemonMessage(const HttpResponse& response) {
  nlohmann::json j = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("message");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  std::string text(absl::StripAsciiWhitespace(response.body));
  if (text.empty()) text = absl::StrCat("HTTP status ", response.status);
  return text;
}

Status DaemonError(const HttpResponse& response) {
  std::string message = absl::StrCat("Error response from daemon: ", DaemonMessage(response));
  switch (response.status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::AlreadyExistsError(message);
    case 501:
      return absl::UnimplementedError(message);
    case 503:
      return absl::UnavailableError(message);
    default:
      return absl::UnknownError(message);
  }
}

StatusOr<HttpResponse> Call(HttpClient& client, const HttpRequest& request) {
  ASSIGN_OR_RETURN(HttpResponse response, client.Do(request));
  if (response.status < 200 || response.status > 299) return DaemonError(response);
  return response;
}

Status NoSuchObject(const std::string& kind, const std::string& name) {
  return absl::NotFoundError(absl::StrCat("Error: No such ", kind, ": ", name));
}

}  // namespace capsule::cli
