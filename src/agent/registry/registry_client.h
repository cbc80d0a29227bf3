// One repository on one registry, spoken to over the OCI distribution API (/v2/...), with
// Docker's authentication flow: a request answered 401 is retried once with the credentials
// the WWW-Authenticate challenge asks for — "Basic" (username and password) or "Bearer" (a
// token fetched from the challenge's realm, with the credentials when given, for the
// challenge's scope or "repository:<path>:pull").
//
// Not thread-safe: one pull uses one client from one thread. Calls block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/registry/http_transport.h"
#include "agent/registry/registry_auth.h"
#include "common/status.h"

namespace capsule::agent::registry {

// How this node reaches registries.
struct RegistryOptions {
  std::string certs_dir = "/etc/docker/certs.d";
  // "host:port" (or "host") names that are spoken to in plain HTTP (--insecure-registry).
  std::vector<std::string> insecure;
  // Refuse every registry host that is not loopback (loopback_guard.h); test suites set it.
  bool loopback_only = false;
};

// "https://<host>" or "http://<host>" for a registry domain (Docker Hub's "docker.io" is
// "https://registry-1.docker.io").
std::string RegistryBaseUrl(const std::string& domain, const RegistryOptions& options);

struct FetchedManifest {
  std::string body;
  std::string content_type;
  std::string digest;  // sha256 of body (checked against Docker-Content-Digest when sent)
};

class RegistryClient {
 public:
  // `auth` must outlive the client (empty: anonymous).
  RegistryClient(HttpTransport& transport, std::string base_url, std::string path,
                 const RegistryAuth& auth);

  // GET /v2/<path>/manifests/<ref>. A digest ref is verified: InvalidArgument "manifest
  // verification failed for digest <d>". NotFound "manifest unknown: ..." (Docker's
  // errcode text) for an unknown tag; Unauthenticated for refused credentials.
  StatusOr<FetchedManifest> GetManifest(const std::string& ref);

  // GET /v2/<path>/blobs/<digest>, following redirects (without our credentials when they
  // lead elsewhere); the body goes to sink. The caller verifies the digest.
  Status GetBlob(const std::string& digest, const BodySink& sink);

  // GET /v2/ with the credentials (what `docker login` checks). Unauthenticated "login
  // attempt to <base>/v2/ failed with status: 401 Unauthorized" when refused.
  Status Login();

 private:
  StatusOr<HttpResponse> Send(const std::string& method, const std::string& url,
                              std::vector<std::pair<std::string, std::string>> headers,
                              const BodySink* sink, size_t limit);
  // Answers a 401 challenge: sets authorization_. False when it has nothing new to try.
  StatusOr<bool> Authenticate(const HttpResponse& challenge_response, const std::string& method,
                              const std::string& url);

  HttpTransport& transport_;
  const std::string base_url_;
  const std::string path_;
  const RegistryAuth& auth_;
  std::string authorization_;  // "Basic ..." / "Bearer ..." once a challenge was answered
};

// Docker's text for a registry's error answer: the errcode JSON
// ({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]} →
// "manifest unknown: manifest unknown"), else the status line.
std::string RegistryErrorText(const HttpResponse& response);

}  // namespace capsule::agent::registry
