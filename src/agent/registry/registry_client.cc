// RegistryClient (declared in registry_client.h).
#include "agent/registry/registry_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/images/sha256.h"
#include "agent/registry/auth_challenge.h"
#include "agent/registry/manifest.h"
#include "agent/registry/pull_reference.h"

namespace capsule::agent::registry {
namespace {

using nlohmann::json;

constexpr size_t kManifestLimit = 4 << 20;  // distribution's own limit
constexpr size_t kErrorLimit = 1 << 20;
constexpr int kMaxRedirects = 5;

std::string HostOf(const std::string& url) {
  const size_t start = url.find("://");
  if (start == std::string::npos) return "";
  const size_t end = url.find('/', start + 3);
  return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

std::string StatusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

// Percent-encodes a query value.
std::string QueryEscape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status ErrorFor(const HttpResponse& r, const std::string& prefix = "") {
  const std::string text = prefix + RegistryErrorText(r);
  switch (r.status) {
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 400:
      return absl::InvalidArgumentError(text);
    default:
      return absl::UnknownError(text);
  }
}

}  // namespace

std::string RegistryErrorText(const HttpResponse& response) {
  json j = json::parse(response.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    std::vector<std::string> texts;
    for (const json& e : j["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", "unknown");
      std::replace(code.begin(), code.end(), '_', ' ');
      std::transform(code.begin(), code.end(), code.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      texts.push_back(code + ": " + e.value("message", ""));
    }
    if (texts.size() == 1) return texts[0];
    std::string out = "errors:\n";
    for (const std::string& t : texts) out += t + "\n";
    return out;
  }
  if (response.status == 401) return "unauthorized: authentication required";
  return "received unexpected HTTP status: " + std::to_string(response.status) + " " +
         StatusText(response.status);
}

std::string RegistryBaseUrl(const std::string& domain, const RegistryOptions& options) {
  if (domain == "docker.io") return "https://registry-1.docker.io";
  const std::string host_only = domain.substr(0, domain.rfind(':'));
  const bool insecure = std::find(options.insecure.begin(), options.insecure.end(), domain) !=
                            options.insecure.end() ||
                        (domain.find(':') != std::string::npos &&
                         std::find(options.insecure.begin(), options.insecure.end(), host_only) !=
                             options.insecure.end());
  return (insecure ? "http://" : "https://") + domain;
}

RegistryClient::RegistryClient(HttpTransport& transport, std::string base_url, std::string path,
                               const RegistryAuth& auth)
    : transport_(transport), base_url_(std::move(base_url)), path_(std::move(path)), auth_(auth) {}

StatusOr<HttpResponse> RegistryClient::Send(
    const std::string& method, const std::string& url,
    std::vector<std::pair<std::string, std::string>> headers, const BodySink* sink, size_t limit) {
  for (int attempt = 0;; ++attempt) {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = headers;
    if (!authorization_.empty()) req.headers.emplace_back("Authorization", authorization_);
    ASSIGN_OR_RETURN(HttpResponse resp, transport_.Do(req, sink, limit));
    if (resp.status != 401 || attempt > 0) return resp;
    ASSIGN_OR_RETURN(bool retry, Authenticate(resp, method, url));
    if (!retry) return resp;
  }
}

StatusOr<bool> RegistryClient::Authenticate(const HttpResponse& challenge_response,
                                            const std::string& method, const std::string& url) {
  const std::string op = method == "HEAD" ? "Head" : "Get";
  for (const AuthChallenge& ch :
       ParseAuthChallenges(challenge_response.Header("www-authenticate"))) {
    if (ch.scheme == "basic") {
      if (auth_.username.empty()) {
        return absl::UnauthenticatedError(op + " \"" + url + "\": no basic auth credentials");
      }
      std::string plain = auth_.username + ":" + std::string(auth_.password.view());
      authorization_ = "Basic " + Base64(plain);
      WipeString(plain);
      return true;
    }
    if (ch.scheme == "bearer") {
      auto realm = ch.params.find("realm");
      if (realm == ch.params.end() || realm->second.empty()) continue;
      std::string token_url = realm->second;
      token_url += token_url.find('?') == std::string::npos ? "?" : "&";
      std::string query;
      if (auto s = ch.params.find("service"); s != ch.params.end()) {
        query += "service=" + QueryEscape(s->second);
      }
      auto scope = ch.params.find("scope");
      const std::string scope_value =
          scope != ch.params.end() ? scope->second : "repository:" + path_ + ":pull";
      if (!path_.empty() || scope != ch.params.end()) {
        query += (query.empty() ? "" : "&") + std::string("scope=") + QueryEscape(scope_value);
      }
      HttpRequest req;
      req.url = token_url + query;
      if (!auth_.username.empty()) {
        std::string plain = auth_.username + ":" + std::string(auth_.password.view());
        req.headers.emplace_back("Authorization", "Basic " + Base64(plain));
        WipeString(plain);
      }
      ASSIGN_OR_RETURN(HttpResponse tok, transport_.Do(req, nullptr, kErrorLimit));
      if (tok.status != 200) {
        return ErrorFor(tok, "Get \"" + realm->second + "\": ");
      }
      json j = json::parse(tok.body, nullptr, false);
      std::string token;
      if (j.is_object()) {
        token = j.value("token", "");
        if (token.empty()) token = j.value("access_token", "");
      }
      WipeString(tok.body);
      if (token.empty()) {
        return absl::UnauthenticatedError("Get \"" + realm->second +
                                          "\": authorization server did not include a token "
                                          "in the response");
      }
      authorization_ = "Bearer " + token;
      WipeString(token);
      return true;
    }
  }
  return false;
}

StatusOr<FetchedManifest> RegistryClient::GetManifest(const std::string& ref) {
  const std::string url = base_url_ + "/v2/" + path_ + "/manifests/" + ref;
  ASSIGN_OR_RETURN(HttpResponse resp,
                   Send("GET", url, {{"Accept", ManifestAccept()}}, nullptr, kManifestLimit));
  if (resp.status != 200) return ErrorFor(resp);
  FetchedManifest out;
  out.content_type = resp.Header("content-type");
  out.digest = "sha256:" + Sha256Hex(resp.body);
  out.body = std::move(resp.body);
  const std::string announced = resp.Header("docker-content-digest");
  const std::string expected = IsSha256Digest(ref) ? ref : announced;
  if (!expected.empty() && expected.rfind("sha256:", 0) == 0 && expected != out.digest) {
    return absl::InvalidArgumentError("manifest verification failed for digest " + expected);
  }
  return out;
}

Status RegistryClient::GetBlob(const std::string& digest, const BodySink& sink) {
  std::string url = base_url_ + "/v2/" + path_ + "/blobs/" + digest;
  const std::string own_host = HostOf(base_url_);
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    StatusOr<HttpResponse> resp;
    if (HostOf(url) == own_host) {
      resp = Send("GET", url, {}, &sink, kErrorLimit);
    } else {
      HttpRequest req;  // a redirect elsewhere (object storage) gets no credentials
      req.url = url;
      resp = transport_.Do(req, &sink, kErrorLimit);
    }
    RETURN_IF_ERROR(resp.status());
    if (resp->status >= 200 && resp->status < 300) return absl::OkStatus();
    if (resp->status >= 300 && resp->status < 400) {
      std::string location = resp->Header("location");
      if (location.empty()) return ErrorFor(*resp);
      if (location[0] == '/')
        location = url.substr(0, url.find('/', url.find("://") + 3)) + location;
      url = location;
      continue;
    }
    return ErrorFor(*resp);
  }
  return absl::UnknownError("Get \"" + url + "\": stopped after " + std::to_string(kMaxRedirects) +
                            " redirects");
}

Status RegistryClient::Login() {
  const std::string url = base_url_ + "/v2/";
  ASSIGN_OR_RETURN(HttpResponse resp, Send("GET", url, {}, nullptr, kErrorLimit));
  if (resp.status == 200) return absl::OkStatus();
  const std::string text = "login attempt to " + url +
                           " failed with status: " + std::to_string(resp.status) + " " +
                           StatusText(resp.status);
  if (resp.status == 401) return absl::UnauthenticatedError(text);
  return absl::UnknownError(text);
}

}  // namespace capsule::agent::registry
