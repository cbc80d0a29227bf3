// Pulls an image from a registry into this node's image store (`docker pull`,
// POST /images/create?fromImage=): resolves the manifest (an index picks this node's
// platform), fetches the config and every layer the blob store lacks — each verified by
// sha256 while it streams to disk — then applies the layers (gzip, zstd or plain tar, each
// checked against the config's diff IDs) into a staging rootfs that becomes the image only
// when whole. Progress goes out as Docker's JSON messages.
//
// A pull killed midway leaves no image (staging and partial blobs are discarded when the
// store opens again); verified blobs stay and are not downloaded again.
//
// Thread-safe: concurrent pulls each use their own registry client.
#pragma once

#include <string>

#include "agent/images/image_store.h"
#include "agent/registry/http_transport.h"
#include "agent/registry/manifest.h"
#include "agent/registry/progress.h"
#include "agent/registry/pull_reference.h"
#include "agent/registry/registry_auth.h"
#include "agent/registry/registry_client.h"

namespace capsule::agent::registry {

class Puller {
 public:
  // All must outlive the puller.
  Puller(ImageStore& store, HttpTransport& transport, RegistryOptions options,
         Platform platform = HostPlatform());

  // Errors found before the first progress message (bad manifest, unknown tag, refused
  // credentials, registry unreachable) are returned with nothing sent: the API answers them
  // as an HTTP error, as Docker does. Later errors are returned too, after messages went out
  // (the API then ends the stream with an error message). Codes: NotFound (unknown manifest
  // or no entry for this platform), Unauthenticated / PermissionDenied (credentials),
  // InvalidArgument (verification failed, bad manifest or layer), Unavailable (transport),
  // Cancelled (the progress sink reported the client gone).
  StatusOr<ImageInfo> Pull(const PullReference& ref, const RegistryAuth& auth,
                           const ProgressSink& progress);

  // `docker login`: checks auth against the registry at `server` ("host:port", a URL, or
  // Docker Hub's "https://index.docker.io/v1/").
  Status Login(const std::string& server, const RegistryAuth& auth);

 private:
  ImageStore& store_;
  HttpTransport& transport_;
  const RegistryOptions options_;
  const Platform platform_;
};

}  // namespace capsule::agent::registry
