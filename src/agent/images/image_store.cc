// The file-system image store (NewImageStore in image_store.h).
//
// Layout under images_dir (0700):
//   index.json {"images":{"sha256:<hex>":{"size":N}},"tags":{"name:tag":"sha256:<hex>"},
//               "digests":{"name@sha256:<manifest>":"sha256:<hex>"}}
//   sha256/<hex>/config.json  the image config; <hex> is its sha256 (the image ID)
//   sha256/<hex>/rootfs/      the unpacked root file system
//   tmp/<random>/             staging of an import, load or pull in progress; renamed into
//                             sha256/ when complete, removed on error and at start
//   blobs/                    pulled layers, once each (blob_store.h)
#include "agent/images/image_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "agent/images/apply_layer.h"
#include "agent/images/image_config.h"
#include "agent/images/reference.h"
#include "agent/images/rootfs_fs.h"
#include "agent/images/sha256.h"
#include "agent/images/tar_reader.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

using nlohmann::json;

constexpr size_t kMaxJsonFile = 16 << 20;

// A new directory gets exactly `mode` whatever the daemon's umask (a rootfs whose archive
// has no "./" entry is 0755, as Docker's, so tasks running as any user can enter it).
Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return ErrnoStatus("mkdir", path, errno);
  }
  if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus("chmod", path, errno);
  return absl::OkStatus();
}

Status RemoveTree(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string parent = path.substr(0, slash);
  int fd = ::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", parent, errno);
  UniqueFd dir(fd);
  return RemoveAllAt(dir.get(), path.substr(slash + 1));
}

StatusOr<UniqueFd> OpenDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return UniqueFd(fd);
}

StatusOr<std::string> ReadAllFd(int fd, const std::string& name, size_t limit) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", name, errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) return absl::InvalidArgumentError(name + " is too large");
  }
}

Status WriteFileSynced(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create", tmp, errno);
  UniqueFd f(fd);
  std::string_view rest = data;
  while (!rest.empty()) {
    const ssize_t n = ::write(f.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", tmp, errno);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(f.get()) != 0) return ErrnoStatus("fsync", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", path, errno);
  return absl::OkStatus();
}

// Reads a file in 64 KiB pieces as a ChunkSource.
ChunkSource FdSource(int fd, std::shared_ptr<std::string> buf) {
  return [fd, buf]() -> StatusOr<std::string_view> {
    buf->resize(65536);
    for (;;) {
      const ssize_t n = ::read(fd, buf->data(), buf->size());
      if (n >= 0) return std::string_view(buf->data(), static_cast<size_t>(n));
      if (errno != EINTR) return ErrnoStatus("read", "layer", errno);
    }
  };
}

// A file the manifest names that cannot be opened (missing, or a FIFO, device, socket or
// directory — never read) makes the archive invalid: InvalidArgument (HTTP 400).
Status InvalidArchive(const Status& st) {
  if (st.ok()) return st;
  return absl::InvalidArgumentError("invalid archive: " + std::string(st.message()));
}

bool IsHex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// A staging directory removed on destruction unless it was renamed away.
class Staging {
 public:
  explicit Staging(std::string path) : path_(std::move(path)) {}
  ~Staging() {
    if (!path_.empty()) {
      Status st = RemoveTree(path_);
      if (!st.ok()) spdlog::warn("images: cleaning {}: {}", path_, st.ToString());
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Record {
  std::string id;  // sha256:<hex>
  std::vector<std::string> tags;
  std::vector<std::string> digests;  // "name@sha256:<manifest digest>"
  int64_t size = 0;
  ParsedConfig config;
};

class FsImageStore : public ImageStore {
 public:
  FsImageStore(std::string dir, Clock& clock, const ImageUsers* users)
      : dir_(std::move(dir)), clock_(clock), users_(users) {}

  Status Open() {
    RETURN_IF_ERROR(MakeDir(dir_, 0700));
    RETURN_IF_ERROR(MakeDir(dir_ + "/sha256", 0700));
    if (::access((dir_ + "/tmp").c_str(), F_OK) == 0) RETURN_IF_ERROR(RemoveTree(dir_ + "/tmp"));
    RETURN_IF_ERROR(MakeDir(dir_ + "/tmp", 0700));
    ASSIGN_OR_RETURN(blobs_, BlobStore::Open(dir_ + "/blobs"));
    json index = json::object();
    {
      int fd = ::open((dir_ + "/index.json").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        UniqueFd f(fd);
        ASSIGN_OR_RETURN(std::string text, ReadAllFd(f.get(), "index.json", kMaxJsonFile));
        index = json::parse(text, nullptr, false);
        if (!index.is_object()) return absl::DataLossError(dir_ + "/index.json is corrupt");
      } else if (errno != ENOENT) {
        return ErrnoStatus("open", dir_ + "/index.json", errno);
      }
    }
    if (auto it = index.find("images"); it != index.end() && it->is_object()) {
      for (auto& [id, v] : it->items()) {
        const std::string hex = id.substr(id.find(':') + 1);
        int fd = ::open((dir_ + "/sha256/" + hex + "/config.json").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          spdlog::warn("images: {} has no config; dropped", id);
          continue;
        }
        UniqueFd f(fd);
        ASSIGN_OR_RETURN(std::string text, ReadAllFd(f.get(), "config.json", kMaxJsonFile));
        ASSIGN_OR_RETURN(ParsedConfig cfg, ParseConfigJson(text));
        Record r;
        r.id = id;
        r.size = v.value("size", int64_t{0});
        r.config = std::move(cfg);
        images_[id] = std::move(r);
      }
    }
    if (auto it = index.find("tags"); it != index.end() && it->is_object()) {
      for (auto& [tag, id] : it->items()) {
        if (!id.is_string()) continue;
        auto rec = images_.find(id.get<std::string>());
        if (rec == images_.end()) continue;
        tags_[tag] = rec->first;
        rec->second.tags.push_back(tag);
      }
    }
    if (auto it = index.find("digests"); it != index.end() && it->is_object()) {
      for (auto& [ref, id] : it->items()) {
        if (!id.is_string()) continue;
        auto rec = images_.find(id.get<std::string>());
        if (rec == images_.end()) continue;
        digests_[ref] = rec->first;
        rec->second.digests.push_back(ref);
      }
    }
    // Image directories no index entry names (a crash between rename and index write).
    if (DIR* d = ::opendir((dir_ + "/sha256").c_str())) {
      std::vector<std::string> orphans;
      while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (images_.count("sha256:" + name) == 0) orphans.push_back(name);
      }
      ::closedir(d);
      for (const std::string& o : orphans) RETURN_IF_ERROR(RemoveTree(dir_ + "/sha256/" + o));
    }
    return absl::OkStatus();
  }

  StatusOr<ImageInfo> Import(ChunkSource tar, const std::string& reference,
                             const std::vector<std::string>& changes) override {
    return ImportWithMessage(std::move(tar), reference, changes, "");
  }

  StatusOr<ImageInfo> ImportWithMessage(ChunkSource tar, const std::string& reference,
                                        const std::vector<std::string>& changes,
                                        const std::string& message) override {
    std::vector<std::string> tags;
    if (!reference.empty()) {
      ASSIGN_OR_RETURN(Reference ref, ParseReference(reference));
      tags.push_back(ref.String());
    }
    ImageConfig config;
    RETURN_IF_ERROR(ApplyChanges(changes, &config));
    ASSIGN_OR_RETURN(auto staging, NewStaging());
    RETURN_IF_ERROR(MakeDir(staging->path() + "/rootfs", 0755));
    ASSIGN_OR_RETURN(UniqueFd root, OpenDir(staging->path() + "/rootfs"));
    Sha256 diff;
    ChunkReader reader([&]() -> StatusOr<std::string_view> {
      ASSIGN_OR_RETURN(std::string_view piece, tar());
      diff.Update(piece);
      return piece;
    });
    TarReader archive(reader);
    RETURN_IF_ERROR(ApplyLayer(archive, root.get()));
    RETURN_IF_ERROR(reader.Drain());
    const std::string config_json =
        ImportConfigJson(config, clock_.Now(), "sha256:" + diff.HexDigest(), message);
    return Finish(*staging, staging->path(), config_json, tags);
  }

  StatusOr<std::vector<ImageInfo>> Load(ChunkSource tar) override {
    ASSIGN_OR_RETURN(auto staging, NewStaging());
    const std::string archive_dir = staging->path() + "/archive";
    RETURN_IF_ERROR(MakeDir(archive_dir, 0700));
    ASSIGN_OR_RETURN(UniqueFd archive, OpenDir(archive_dir));
    {
      ChunkReader reader(std::move(tar));
      TarReader outer(reader);
      RETURN_IF_ERROR(ApplyLayer(outer, archive.get()));
      RETURN_IF_ERROR(reader.Drain());
    }
    auto manifest_fd = OpenFileInRoot(archive.get(), "manifest.json");
    if (absl::IsNotFound(manifest_fd.status())) {
      return absl::InvalidArgumentError(
          "invalid archive: no manifest.json (not a `docker save` archive)");
    }
    RETURN_IF_ERROR(InvalidArchive(manifest_fd.status()));
    ASSIGN_OR_RETURN(std::string manifest_text,
                     ReadAllFd(manifest_fd->get(), "manifest.json", kMaxJsonFile));
    json manifest = json::parse(manifest_text, nullptr, false);
    if (!manifest.is_array() || manifest.empty()) {
      return absl::InvalidArgumentError("invalid archive: manifest.json is not a list of images");
    }
    std::vector<ImageInfo> loaded;
    int n = 0;
    for (const json& m : manifest) {
      if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string()) {
        return absl::InvalidArgumentError("invalid archive: manifest entry without Config");
      }
      std::vector<std::string> tags;
      if (auto rt = m.find("RepoTags"); rt != m.end() && rt->is_array()) {
        for (const json& t : *rt) {
          if (!t.is_string()) continue;
          ASSIGN_OR_RETURN(Reference ref, ParseReference(t.get<std::string>()));
          tags.push_back(ref.String());
        }
      }
      ASSIGN_OR_RETURN(std::string config_path, CleanArchivePath(m["Config"].get<std::string>()));
      StatusOr<UniqueFd> cfd = OpenFileInRoot(archive.get(), config_path);
      RETURN_IF_ERROR(InvalidArchive(cfd.status()));
      ASSIGN_OR_RETURN(std::string config_json, ReadAllFd(cfd->get(), config_path, kMaxJsonFile));
      const std::string image_dir = staging->path() + "/image" + std::to_string(n++);
      RETURN_IF_ERROR(MakeDir(image_dir, 0700));
      RETURN_IF_ERROR(MakeDir(image_dir + "/rootfs", 0755));
      if (!Has("sha256:" + Sha256Hex(config_json))) {
        ASSIGN_OR_RETURN(UniqueFd root, OpenDir(image_dir + "/rootfs"));
        if (auto layers = m.find("Layers"); layers != m.end() && layers->is_array()) {
          for (const json& l : *layers) {
            if (!l.is_string()) return absl::InvalidArgumentError("invalid archive: bad layer");
            RETURN_IF_ERROR(ApplyLayerFile(archive.get(), l.get<std::string>(), root.get()));
          }
        }
      }
      ASSIGN_OR_RETURN(ImageInfo info, Finish(*staging, image_dir, config_json, tags));
      loaded.push_back(std::move(info));
    }
    return loaded;
  }

  std::vector<ImageInfo> List() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ImageInfo> out;
    for (const auto& [id, r] : images_) out.push_back(InfoOf(r));
    std::sort(out.begin(), out.end(),
              [](const ImageInfo& a, const ImageInfo& b) { return a.created > b.created; });
    return out;
  }

  StatusOr<ImageInfo> Inspect(const std::string& ref) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(const Record* r, Find(ref));
    return InfoOf(*r);
  }

  StatusOr<std::string> RootfsPath(const std::string& ref) const override {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(const Record* r, Find(ref));
    return DirOf(r->id) + "/rootfs";
  }

  StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string& ref,
                                                                    bool force) override {
    // Asked before taking mu_: the users' answer comes from the executor, never from here.
    const std::vector<ImageUse> uses = users_ != nullptr ? users_->Uses() : std::vector<ImageUse>{};
    std::vector<std::pair<std::string, std::string>> items;
    std::string doomed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ASSIGN_OR_RETURN(const Record* found, Find(ref));
      Record& r = images_.at(found->id);
      const std::vector<ImageUse> users = UsersOf(r, uses);
      const ImageUse* running = FirstUser(users, true);
      const ImageUse* stopped = FirstUser(users, false);
      const std::string tag = TagOf(ref);
      if (!tag.empty()) {
        // Untagging the last tag of a used image would leave it dangling: Docker asks for force.
        if (!force && r.tags.size() == 1 && !users.empty()) {
          return absl::AlreadyExistsError("conflict: unable to remove repository reference \"" +
                                          ref + "\" (must force) - container " +
                                          ShortId(users.front().container_id) +
                                          " is using its referenced image " + ShortId(r.id));
        }
        Untag(tag);
        items.emplace_back("Untagged", tag);
      } else {
        if (running != nullptr) {
          return DeleteConflict(
              r, "cannot be forced",
              "image is being used by running container " + ShortId(running->container_id));
        }
        if (r.tags.size() > 1 && !force) {
          return DeleteConflict(r, "must be forced",
                                "image is referenced in multiple repositories");
        }
        if (stopped != nullptr && !force) {
          return DeleteConflict(
              r, "must be forced",
              "image is being used by stopped container " + ShortId(stopped->container_id));
        }
        for (const std::string& t : std::vector<std::string>(r.tags)) {
          Untag(t);
          items.emplace_back("Untagged", t);
        }
        for (const std::string& d : std::vector<std::string>(r.digests)) {
          Untag(d);
          items.emplace_back("Untagged", d);
        }
      }
      if (r.tags.empty() && users.empty()) {
        for (const std::string& d : std::vector<std::string>(r.digests)) {
          Untag(d);
          items.emplace_back("Untagged", d);
        }
        items.emplace_back("Deleted", r.id);
        doomed = dir_ + "/tmp/deleted-" + r.id.substr(7);
        if (::rename(DirOf(r.id).c_str(), doomed.c_str()) != 0) {
          return ErrnoStatus("rename", DirOf(r.id), errno);
        }
        images_.erase(r.id);
      }
      RETURN_IF_ERROR(SaveIndex());
    }
    if (!doomed.empty()) {
      Status st = RemoveTree(doomed);
      if (!st.ok()) spdlog::warn("images: removing {}: {}", doomed, st.ToString());
    }
    return items;
  }

  StatusOr<ImageInfo> AddPulled(PulledImage image) override {
    for (const std::string& t : image.tags) RETURN_IF_ERROR(ParseReference(t).status());
    RETURN_IF_ERROR(ParseConfigJson(image.config_json).status());
    ASSIGN_OR_RETURN(auto staging, NewStaging());
    const std::string image_dir = staging->path() + "/image";
    RETURN_IF_ERROR(MakeDir(image_dir, 0700));
    RETURN_IF_ERROR(MakeDir(image_dir + "/rootfs", 0755));
    if (!Has("sha256:" + Sha256Hex(image.config_json))) {
      ASSIGN_OR_RETURN(UniqueFd root, OpenDir(image_dir + "/rootfs"));
      for (size_t i = 0; i < image.layer_count; ++i) {
        ASSIGN_OR_RETURN(ChunkSource layer, image.open_layer(i));
        ChunkReader reader(std::move(layer));
        TarReader tar(reader);
        RETURN_IF_ERROR(ApplyLayer(tar, root.get()));
        RETURN_IF_ERROR(reader.Drain());
      }
    }
    ASSIGN_OR_RETURN(ImageInfo info, Finish(*staging, image_dir, image.config_json, image.tags));
    std::lock_guard<std::mutex> lock(mu_);
    Record& r = images_[info.id];
    for (const std::string& d : image.digests) {
      auto it = digests_.find(d);
      if (it != digests_.end() && it->second == r.id) continue;
      if (it != digests_.end()) Untag(d);
      digests_[d] = r.id;
      r.digests.push_back(d);
    }
    RETURN_IF_ERROR(SaveIndex());
    return InfoOf(r);
  }

  BlobStore* Blobs() override { return blobs_.get(); }

 private:
  std::string DirOf(const std::string& id) const { return dir_ + "/sha256/" + id.substr(7); }

  bool Has(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    return images_.count(id) != 0;
  }

  StatusOr<std::unique_ptr<Staging>> NewStaging() {
    static std::mutex rng_mu;
    static std::mt19937_64 rng(std::random_device{}());
    uint64_t r;
    {
      std::lock_guard<std::mutex> lock(rng_mu);
      r = rng();
    }
    char name[32];
    std::snprintf(name, sizeof(name), "%016llx", static_cast<unsigned long long>(r));
    const std::string path = dir_ + "/tmp/" + name;
    if (::mkdir(path.c_str(), 0700) != 0) return ErrnoStatus("mkdir", path, errno);
    return std::make_unique<Staging>(path);
  }

  // One layer file of a loaded archive (confined to the archive directory), applied onto root.
  Status ApplyLayerFile(int archive_fd, const std::string& layer, int root_fd) {
    ASSIGN_OR_RETURN(std::string clean, CleanArchivePath(layer));
    StatusOr<UniqueFd> opened = OpenFileInRoot(archive_fd, clean);
    RETURN_IF_ERROR(InvalidArchive(opened.status()));
    UniqueFd fd = *std::move(opened);
    unsigned char magic[2] = {0, 0};
    if (::pread(fd.get(), magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      return absl::InvalidArgumentError("layer " + clean +
                                        " is compressed; only uncompressed layers are supported");
    }
    ChunkReader reader(FdSource(fd.get(), std::make_shared<std::string>()));
    TarReader tar(reader);
    Status st = ApplyLayer(tar, root_fd);
    if (!st.ok()) return Status(st.code(), "layer " + clean + ": " + std::string(st.message()));
    return absl::OkStatus();
  }

  // Writes config.json into image_dir (which holds rootfs/), moves it into place (unless the
  // same image exists already) and applies the tags.
  StatusOr<ImageInfo> Finish(const Staging&, const std::string& image_dir,
                             const std::string& config_json, const std::vector<std::string>& tags) {
    ASSIGN_OR_RETURN(ParsedConfig parsed, ParseConfigJson(config_json));
    const std::string id = "sha256:" + Sha256Hex(config_json);
    RETURN_IF_ERROR(WriteFileSynced(image_dir + "/config.json", config_json));
    const int64_t size = TreeSize(image_dir + "/rootfs");
    std::lock_guard<std::mutex> lock(mu_);
    if (images_.count(id) == 0) {
      if (::rename(image_dir.c_str(), DirOf(id).c_str()) != 0) {
        return ErrnoStatus("rename", image_dir, errno);
      }
      Record r;
      r.id = id;
      r.size = size;
      r.config = std::move(parsed);
      images_[id] = std::move(r);
    }
    for (const std::string& t : tags) {
      auto it = tags_.find(t);
      if (it != tags_.end() && it->second == id) continue;
      if (it != tags_.end()) Untag(t);
      tags_[t] = id;
      images_[id].tags.push_back(t);
    }
    RETURN_IF_ERROR(SaveIndex());
    return InfoOf(images_[id]);
  }

  // Requires mu_.
  void Untag(const std::string& tag) {
    if (auto d = digests_.find(tag); d != digests_.end()) {
      if (auto rec = images_.find(d->second); rec != images_.end()) {
        auto& v = rec->second.digests;
        v.erase(std::remove(v.begin(), v.end(), tag), v.end());
      }
      digests_.erase(d);
      return;
    }
    auto it = tags_.find(tag);
    if (it == tags_.end()) return;
    auto rec = images_.find(it->second);
    if (rec != images_.end()) {
      auto& v = rec->second.tags;
      v.erase(std::remove(v.begin(), v.end(), tag), v.end());
    }
    tags_.erase(it);
  }

  // The tag `ref` names if it is a tagged name in the store, else "". Requires mu_.
  std::string TagOf(const std::string& ref) const {
    if (ref.find('@') != std::string::npos) return DigestRefOf(ref);
    StatusOr<Reference> parsed = ParseReference(ref);
    if (!parsed.ok()) return "";
    return tags_.count(parsed->String()) ? parsed->String() : "";
  }

  // The stored "name@sha256:..." `ref` names (Docker Hub's prefixes dropped), else "".
  // Requires mu_.
  std::string DigestRefOf(const std::string& ref) const {
    const size_t at = ref.find('@');
    StatusOr<Reference> name = ParseReference(ref.substr(0, at));
    if (!name.ok()) return "";
    const std::string key = name->repo + ref.substr(at);
    return digests_.count(key) ? key : "";
  }

  // The uses naming image r (by ID, or by a reference that resolves to it). Requires mu_.
  std::vector<ImageUse> UsersOf(const Record& r, const std::vector<ImageUse>& uses) const {
    std::vector<ImageUse> out;
    for (const ImageUse& u : uses) {
      if (u.image == r.id) {
        out.push_back(u);
      } else if (u.image.rfind("sha256:", 0) != 0) {
        StatusOr<const Record*> named = Find(u.image);
        if (named.ok() && (*named)->id == r.id) out.push_back(u);
      }
    }
    return out;
  }

  static const ImageUse* FirstUser(const std::vector<ImageUse>& users, bool running) {
    for (const ImageUse& u : users) {
      if (u.running == running) return &u;
    }
    return nullptr;
  }

  // Docker's stringid.TruncateID: without an "algorithm:" prefix, at most 12 characters.
  static std::string ShortId(const std::string& id) {
    const size_t colon = id.find(':');
    return id.substr(colon == std::string::npos ? 0 : colon + 1, 12);
  }

  // Docker's imageDeleteConflict text.
  static Status DeleteConflict(const Record& r, const std::string& force_msg,
                               const std::string& message) {
    return absl::AlreadyExistsError("conflict: unable to delete " + ShortId(r.id) + " (" +
                                    force_msg + ") - " + message);
  }

  // By tag, then by full or short ID. Requires mu_.
  StatusOr<const Record*> Find(const std::string& ref) const {
    const std::string tag = TagOf(ref);
    if (!tag.empty())
      return &images_.at(tag.find('@') != std::string::npos ? digests_.at(tag) : tags_.at(tag));
    std::string hex = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
    if (IsHex(hex)) {
      const Record* match = nullptr;
      for (const auto& [id, r] : images_) {
        if (id.compare(7, hex.size(), hex) == 0) {
          if (match != nullptr) return absl::NotFoundError("No such image: " + ref);  // ambiguous
          match = &r;
        }
      }
      if (match != nullptr) return match;
    }
    return absl::NotFoundError("No such image: " + ref);
  }

  ImageInfo InfoOf(const Record& r) const {
    ImageInfo info;
    info.id = r.id;
    info.repo_tags = r.tags;
    info.created = r.config.created;
    info.size = r.size;
    info.config = r.config.config;
    info.comment = r.config.comment;
    info.layers = r.config.layers;
    info.repo_digests = r.digests;
    return info;
  }

  // Requires mu_.
  Status SaveIndex() {
    json images = json::object();
    for (const auto& [id, r] : images_) images[id] = {{"size", r.size}};
    json tags = json::object();
    for (const auto& [t, id] : tags_) tags[t] = id;
    json digests = json::object();
    for (const auto& [d, id] : digests_) digests[d] = id;
    return WriteFileSynced(dir_ + "/index.json",
                           json{{"images", images}, {"tags", tags}, {"digests", digests}}.dump());
  }

  const std::string dir_;
  Clock& clock_;
  const ImageUsers* const users_;  // may be null: no image counts as used
  mutable std::mutex mu_;
  std::map<std::string, Record> images_;        // by ID
  std::map<std::string, std::string> tags_;     // "name:tag" → ID
  std::map<std::string, std::string> digests_;  // "name@sha256:<manifest>" → ID
  std::unique_ptr<BlobStore> blobs_;
};

}  // namespace

StatusOr<std::unique_ptr<ImageStore>> NewImageStore(const std::string& images_dir, Clock& clock,
                                                    const ImageUsers* users) {
  auto store = std::make_unique<FsImageStore>(images_dir, clock, users);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<ImageStore>(std::move(store));
}

}  // namespace capsule::agent
