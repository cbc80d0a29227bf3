// A transport that lets requests reach loopback hosts only (127.0.0.0/8, "localhost", ::1) and
// refuses every other one before any byte leaves the machine: FailedPrecondition
// "registry <host> refused: this node only contacts loopback registries
// (--registries-loopback-only)". Test suites start capsuled with it, so a test that names an image
// without a registry (busybox → docker.io) can never contact a public registry, even through a
// redirect.
//
// Thread-safe when the inner transport is.
#pragma once

#include <memory>
#include <string>

#include "agent/registry/http_transport.h"

namespace capsule::agent::registry {

// The host of "scheme://host[:port]/...", without the port ("[::1]:5000" → "::1"); "" when
// the URL has no "://".
std::string UrlHost(const std::string& url);

// True for 127.0.0.0/8 literals, "localhost" and "::1".
bool IsLoopbackHost(const std::string& host);

// `inner` must outlive the returned transport.
std::unique_ptr<HttpTransport> NewLoopbackOnlyTransport(HttpTransport& inner);

}  // namespace capsule::agent::registry
