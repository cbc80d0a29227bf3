// Puller (declared in puller.h).
#include "agent/registry/puller.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/images/image_config.h"
#include "agent/images/sha256.h"
#include "agent/registry/decompress.h"
#include "common/errno_status.h"
#include "common/unique_fd.h"

namespace capsule::agent::registry {
namespace {

constexpr size_t kConfigLimit = 8 << 20;
constexpr int64_t kProgressEvery = 512 << 10;  // bytes between two progress messages
constexpr size_t kParallelDownloads = 3;       // as Docker's max-concurrent-downloads

// The progress sink, failing with Cancelled once the client has gone.
// Serialised: parallel downloads report through it. Once Stop() was called (a download
// failed), every later Send fails, so the other downloads end early.
class Progress {
 public:
  explicit Progress(const ProgressSink& sink) : sink_(sink) {}
  Status Send(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return absl::CancelledError("the pull was stopped");
    if (!sink_(message)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }

 private:
  const ProgressSink& sink_;
  std::mutex mu_;
  bool stopped_ = false;
};

// Reads a stored blob in pieces, reporting Docker's "Extracting" progress.
struct BlobReader {
  UniqueFd fd;
  std::string buf = std::string(256 << 10, '\0');
  int64_t read = 0, total = 0, reported = 0;
};

// Wraps an uncompressed layer stream: checks its sha256 against the config's diff ID at the
// end, and then reports "Pull complete".
ChunkSource VerifyDiffId(ChunkSource tar, std::string diff_id, std::function<Status()> done) {
  auto hash = std::make_shared<Sha256>();
  auto finished = std::make_shared<bool>(false);
  return [tar = std::move(tar), diff_id = std::move(diff_id), done = std::move(done), hash,
          finished]() -> StatusOr<std::string_view> {
    if (*finished) return std::string_view();
    ASSIGN_OR_RETURN(std::string_view piece, tar());
    if (!piece.empty()) {
      hash->Update(piece);
      return piece;
    }
    *finished = true;
    if (!diff_id.empty() && "sha256:" + hash->HexDigest() != diff_id) {
      return absl::InvalidArgumentError("layer verification failed: diff ID " + diff_id +
                                        " does not match the layer's content");
    }
    RETURN_IF_ERROR(done());
    return std::string_view();
  };
}

StatusOr<std::string> FetchConfig(RegistryClient& client, const Descriptor& config) {
  if (config.size > static_cast<int64_t>(kConfigLimit)) {
    return absl::InvalidArgumentError("image config is too large");
  }
  std::string body;
  BodySink sink = [&body, &config](std::string_view piece) -> Status {
    if (static_cast<int64_t>(body.size() + piece.size()) > config.size) {
      return absl::InvalidArgumentError("image config verification failed for digest " +
                                        config.digest);
    }
    body.append(piece);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(client.GetBlob(config.digest, sink));
  if ("sha256:" + Sha256Hex(body) != config.digest) {
    return absl::InvalidArgumentError("image config verification failed for digest " +
                                      config.digest);
  }
  return body;
}

// Downloads one layer into the blob store with Docker's progress messages.
Status DownloadLayer(RegistryClient& client, BlobStore& blobs, const Descriptor& layer,
                     Progress& progress) {
  const std::string id = ShortDigest(layer.digest);
  ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, blobs.Create(layer.digest, layer.size));
  int64_t reported = 0;
  BodySink sink = [&](std::string_view piece) -> Status {
    RETURN_IF_ERROR(writer->Write(piece));
    if (writer->written() - reported >= kProgressEvery || writer->written() == layer.size) {
      reported = writer->written();
      RETURN_IF_ERROR(progress.Send(ProgressMessage("Downloading", id, reported, layer.size)));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(client.GetBlob(layer.digest, sink));
  RETURN_IF_ERROR(progress.Send(LayerMessage("Verifying Checksum", id)));
  RETURN_IF_ERROR(writer->Commit());
  return progress.Send(LayerMessage("Download complete", id));
}

}  // namespace

Puller::Puller(ImageStore& store, HttpTransport& transport, RegistryOptions options,
               Platform platform)
    : store_(store),
      transport_(transport),
      options_(std::move(options)),
      platform_(std::move(platform)) {}

StatusOr<ImageInfo> Puller::Pull(const PullReference& ref, const RegistryAuth& auth,
                                 const ProgressSink& sink) {
  BlobStore* blobs = store_.Blobs();
  if (blobs == nullptr) return absl::UnimplementedError("this image store cannot hold pulls");
  RegistryClient client(transport_, RegistryBaseUrl(ref.domain, options_), ref.path, auth);

  // Resolve: nothing is sent to the client before the manifest is known (Docker's errors
  // here are plain HTTP errors).
  StatusOr<FetchedManifest> top = client.GetManifest(ref.ManifestRef());
  if (absl::IsNotFound(top.status())) {
    return absl::NotFoundError("manifest for " + ref.String() +
                               " not found: " + std::string(top.status().message()));
  }
  RETURN_IF_ERROR(top.status());
  ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(top->body, top->content_type));
  if (manifest.is_index) {
    ASSIGN_OR_RETURN(Descriptor chosen, SelectPlatform(manifest, platform_));
    ASSIGN_OR_RETURN(FetchedManifest m, client.GetManifest(chosen.digest));
    ASSIGN_OR_RETURN(manifest, ParseManifest(m.body, m.content_type));
    if (manifest.is_index) return absl::InvalidArgumentError("invalid manifest: nested index");
  }
  const std::string repo_digest = top->digest;

  Progress progress(sink);
  RETURN_IF_ERROR(progress.Send(
      StatusMessage("Pulling from " + ref.path, !ref.digest.empty() ? ref.digest : ref.tag)));
  ASSIGN_OR_RETURN(std::string config_json, FetchConfig(client, manifest.config));
  ASSIGN_OR_RETURN(ParsedConfig config, ParseConfigJson(config_json));
  if (config.layers.size() != manifest.layers.size()) {
    return absl::InvalidArgumentError(
        "invalid image: the config names " + std::to_string(config.layers.size()) +
        " layers, the manifest " + std::to_string(manifest.layers.size()));
  }
  const std::string image_id = "sha256:" + Sha256Hex(config_json);
  const bool by_digest = !ref.digest.empty();  // a tag beside a digest is ignored, as Docker does
  const std::string shown = by_digest ? ref.DigestRef(ref.digest) : ref.TagRef();
  StatusOr<ImageInfo> existing = store_.Inspect(image_id);
  const bool had_image = existing.ok();
  bool up_to_date = false;
  if (had_image) {
    StatusOr<ImageInfo> named = store_.Inspect(shown);
    up_to_date = named.ok() && named->id == image_id;
  }

  // Download what the blob store lacks (and the image needs).
  std::vector<bool> fetch(manifest.layers.size(), false);
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& l = manifest.layers[i];
    fetch[i] = !had_image && !blobs->Has(l.digest);
    for (size_t k = 0; k < i && fetch[i]; ++k) fetch[i] = manifest.layers[k].digest != l.digest;
    RETURN_IF_ERROR(progress.Send(
        LayerMessage(fetch[i] ? "Pulling fs layer" : "Already exists", ShortDigest(l.digest))));
  }
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    if (fetch[i])
      RETURN_IF_ERROR(
          progress.Send(LayerMessage("Waiting", ShortDigest(manifest.layers[i].digest))));
  }
  {
    // At most kParallelDownloads at once, each with its own copy of the authenticated client;
    // the first error stops the others and is the pull's.
    std::vector<size_t> queue;
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      if (fetch[i]) queue.push_back(i);
    }
    std::mutex mu;
    size_t next = 0;
    Status first_error;
    auto work = [&]() {
      RegistryClient own = client;
      for (;;) {
        size_t i;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (next >= queue.size() || !first_error.ok()) return;
          i = queue[next++];
        }
        Status st = DownloadLayer(own, *blobs, manifest.layers[i], progress);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) {
            first_error = st;
            progress.Stop();
          }
          return;
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min(kParallelDownloads, queue.size()); ++t) {
      threads.emplace_back(work);
    }
    work();
    for (std::thread& t : threads) t.join();
    if (!first_error.ok()) {
      spdlog::warn("pull {}: {}", ref.String(), first_error.ToString());
      return first_error;
    }
  }

  PulledImage image;
  image.config_json = config_json;
  image.layer_count = manifest.layers.size();
  if (!by_digest) image.tags.push_back(ref.TagRef());
  image.digests.push_back(ref.DigestRef(repo_digest));
  image.open_layer = [&](size_t i) -> StatusOr<ChunkSource> {
    const Descriptor& l = manifest.layers[i];
    const std::string path = blobs->Path(l.digest);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    auto reader = std::make_shared<BlobReader>();
    reader->fd = UniqueFd(fd);
    reader->total = l.size;
    const std::string id = ShortDigest(l.digest);
    const bool report = fetch[i];
    ChunkSource raw = [reader, id, report, &progress]() -> StatusOr<std::string_view> {
      for (;;) {
        const ssize_t n = ::read(reader->fd.get(), reader->buf.data(), reader->buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoStatus("read", "layer blob", errno);
        reader->read += n;
        if (report && n > 0 &&
            (reader->read - reader->reported >= kProgressEvery || reader->read == reader->total)) {
          reader->reported = reader->read;
          RETURN_IF_ERROR(
              progress.Send(ProgressMessage("Extracting", id, reader->read, reader->total)));
        }
        return std::string_view(reader->buf.data(), static_cast<size_t>(n));
      }
    };
    char head[4] = {0, 0, 0, 0};
    const ssize_t got = ::pread(reader->fd.get(), head, sizeof(head), 0);
    const Compression kind =
        SniffCompression(std::string_view(head, got > 0 ? static_cast<size_t>(got) : 0));
    ChunkSource tar = Decompress(std::move(raw), kind);
    return VerifyDiffId(std::move(tar), config.layers[i], [report, id, &progress]() {
      return report ? progress.Send(LayerMessage("Pull complete", id)) : absl::OkStatus();
    });
  };
  ASSIGN_OR_RETURN(ImageInfo info, store_.AddPulled(std::move(image)));
  RETURN_IF_ERROR(progress.Send(StatusMessage("Digest: " + repo_digest)));
  RETURN_IF_ERROR(
      progress.Send(StatusMessage(std::string(up_to_date ? "Status: Image is up to date for "
                                                         : "Status: Downloaded newer image for ") +
                                  shown)));
  return info;
}

Status Puller::Login(const std::string& server, const RegistryAuth& auth) {
  std::string domain = server;
  for (const char* scheme : {"https://", "http://"}) {
    if (domain.rfind(scheme, 0) == 0) domain = domain.substr(std::string(scheme).size());
  }
  domain = domain.substr(0, domain.find('/'));
  if (domain.empty() || domain == "index.docker.io" || domain == "registry-1.docker.io") {
    domain = "docker.io";
  }
  RegistryClient client(transport_, RegistryBaseUrl(domain, options_), "", auth);
  return client.Login();
}

}  // namespace capsule::agent::registry
