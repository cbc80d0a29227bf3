// Manifest parsing and platform selection (declared in manifest.h).
#include "agent/registry/manifest.h"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "agent/registry/pull_reference.h"

namespace capsule::agent::registry {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

StatusOr<Descriptor> DescriptorOf(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("invalid manifest: bad descriptor");
  Descriptor d;
  d.media_type = Str(j, "mediaType");
  d.digest = Str(j, "digest");
  if (!IsSha256Digest(d.digest)) {
    return absl::InvalidArgumentError("invalid manifest: unsupported digest \"" + d.digest + "\"");
  }
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return absl::InvalidArgumentError("invalid manifest: bad size for " + d.digest);
  }
  d.size = size->get<int64_t>();
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.os = Str(*p, "os");
    d.architecture = Str(*p, "architecture");
    d.variant = Str(*p, "variant");
  }
  return d;
}

}  // namespace

std::string ManifestAccept() {
  return std::string(kDockerManifestList) + ", " + kOciIndex + ", " + kDockerManifest + ", " +
         kOciManifest;
}

StatusOr<Compression> LayerCompression(const std::string& media_type) {
  if (media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      media_type == "application/vnd.oci.image.layer.v1.tar+gzip") {
    return Compression::kGzip;
  }
  if (media_type == "application/vnd.oci.image.layer.v1.tar+zstd") return Compression::kZstd;
  if (media_type == "application/vnd.oci.image.layer.v1.tar" ||
      media_type == "application/vnd.docker.image.rootfs.diff.tar") {
    return Compression::kNone;
  }
  return absl::InvalidArgumentError("unsupported layer media type \"" + media_type + "\"");
}

StatusOr<Manifest> ParseManifest(const std::string& body, const std::string& content_type) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("invalid manifest: not a JSON object");
  std::string type = Str(j, "mediaType");
  if (type.empty()) type = content_type.substr(0, content_type.find(';'));
  if (j.value("schemaVersion", 0) == 1) {
    return absl::InvalidArgumentError(
        "image manifest schema 1 is not supported: push the image again with a newer client");
  }
  Manifest m;
  if (type == kDockerManifestList || type == kOciIndex ||
      (type.empty() && j.contains("manifests"))) {
    m.is_index = true;
    auto list = j.find("manifests");
    if (list == j.end() || !list->is_array()) {
      return absl::InvalidArgumentError("invalid manifest: index without manifests");
    }
    for (const json& e : *list) {
      ASSIGN_OR_RETURN(Descriptor d, DescriptorOf(e));
      m.manifests.push_back(std::move(d));
    }
    return m;
  }
  if (type != kDockerManifest && type != kOciManifest && !type.empty()) {
    return absl::InvalidArgumentError("unsupported manifest media type \"" + type + "\"");
  }
  auto config = j.find("config");
  auto layers = j.find("layers");
  if (config == j.end() || layers == j.end() || !layers->is_array()) {
    return absl::InvalidArgumentError("invalid manifest: no config or layers");
  }
  ASSIGN_OR_RETURN(m.config, DescriptorOf(*config));
  for (const json& l : *layers) {
    ASSIGN_OR_RETURN(Descriptor d, DescriptorOf(l));
    RETURN_IF_ERROR(LayerCompression(d.media_type).status());
    m.layers.push_back(std::move(d));
  }
  return m;
}

std::string Platform::String() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Platform HostPlatform() {
  Platform p;
  utsname u{};
  std::string machine = ::uname(&u) == 0 ? u.machine : "x86_64";
  if (machine == "x86_64") {
    p.architecture = "amd64";
  } else if (machine == "aarch64" || machine == "arm64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (machine.rfind("armv7", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (machine.rfind("armv6", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (machine == "i386" || machine == "i686") {
    p.architecture = "386";
  } else {
    p.architecture = machine;  // ppc64le, s390x, riscv64 match Go's names
  }
  return p;
}

StatusOr<Descriptor> SelectPlatform(const Manifest& index, const Platform& platform) {
  const Descriptor* loose = nullptr;
  for (const Descriptor& d : index.manifests) {
    if (d.os != platform.os || d.architecture != platform.architecture) continue;
    if (d.variant == platform.variant) return d;
    // arm64's variant is optional on either side (Docker normalises "" to "v8").
    if ((d.variant.empty() || platform.variant.empty()) && loose == nullptr) loose = &d;
  }
  if (loose != nullptr) return *loose;
  return absl::NotFoundError("no matching manifest for " + platform.String() +
                             " in the manifest list entries");
}

}  // namespace capsule::agent::registry
