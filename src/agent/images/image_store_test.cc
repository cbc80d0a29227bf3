// The image store: import, load (both `docker save` layouts), list, inspect, remove, reopen.
#include "agent/images/image_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "agent/images/sha256.h"
#include "agent/images/tar_test_util.h"
#include "testing/fake_clock.h"

namespace capsule::agent {
namespace {

namespace fs = std::filesystem;
using ::capsule::testing::FakeClock;
using testing::Source;
using testing::TarBuilder;

// The tasks using images, as the node reports them.
class FakeUsers : public ImageUsers {
 public:
  std::vector<ImageUse> Uses() const override { return uses; }
  std::vector<ImageUse> uses;
};

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-store-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void Reopen() {
    store_.reset();
    auto s = NewImageStore(root_ + "/images", clock_, &users_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  std::string Slurp(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  size_t Entries(const std::string& dir) {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
  }

  std::string root_;
  FakeClock clock_{FromUnixNanos(1700000000123456789)};
  FakeUsers users_;
  std::unique_ptr<ImageStore> store_;
};

using Items = std::vector<std::pair<std::string, std::string>>;

const std::string& Rootfs() {
  static const std::string tar = TarBuilder()
                                     .Dir("bin/")
                                     .File("bin/busybox", "#!bb", 0755)
                                     .Symlink("bin/sh", "busybox")
                                     .Finish();
  return tar;
}

TEST_F(ImageStoreTest, ImportTagsAndAppliesChanges) {
  auto info = store_->Import(Source(Rootfs()), "capsule/busybox:1",
                             {"ENV PATH=/bin", "CMD [\"sh\"]", "WORKDIR /tmp", "USER 1000"});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id.substr(0, 7), "sha256:");
  EXPECT_EQ(info->repo_tags, std::vector<std::string>{"capsule/busybox:1"});
  EXPECT_EQ(info->config.env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_EQ(info->config.cmd, std::vector<std::string>{"sh"});
  EXPECT_EQ(info->config.working_dir, "/tmp");
  EXPECT_EQ(info->config.user, "1000");
  EXPECT_EQ(info->created, clock_.Now());
  ASSERT_EQ(info->layers.size(), 1u);
  EXPECT_EQ(info->layers[0], "sha256:" + Sha256Hex(Rootfs()));
  EXPECT_EQ(info->size, 4 + 7);  // the file and the symlink

  // The ID is the digest of the config written.
  const std::string hex = info->id.substr(7);
  EXPECT_EQ(Sha256Hex(Slurp(root_ + "/images/sha256/" + hex + "/config.json")), hex);

  auto path = store_->RootfsPath("capsule/busybox:1");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(Slurp(*path + "/bin/busybox"), "#!bb");
  EXPECT_EQ(store_->Inspect(hex.substr(0, 12))->id, info->id);
  EXPECT_EQ(store_->Inspect(info->id)->id, info->id);
  EXPECT_EQ(store_->Inspect("capsule/busybox:2").status().message(),
            "No such image: capsule/busybox:2");
  EXPECT_EQ(store_->List().size(), 1u);
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
}

TEST_F(ImageStoreTest, DefaultTagAndDockerHubNames) {
  ASSERT_TRUE(store_->Import(Source(Rootfs()), "busybox", {}).ok());
  EXPECT_TRUE(store_->Inspect("busybox:latest").ok());
  EXPECT_TRUE(store_->Inspect("docker.io/library/busybox").ok());
}

TEST_F(ImageStoreTest, BadInputLeavesNothing) {
  const std::string truncated = Rootfs().substr(0, Rootfs().size() - 1024 - 100);
  auto bad = store_->Import(Source(truncated), "x:1", {});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(store_->Import(Source(Rootfs()), "x:1", {"RUN rm -rf /"}).status().message(),
            "RUN is not a valid change command");
  EXPECT_EQ(store_->Import(Source(Rootfs()), "Upper:1", {}).status().message(),
            "invalid reference format: repository name must be lowercase");
  const std::string traversal = TarBuilder().File("../escape", "x").Finish();
  EXPECT_EQ(store_->Import(Source(traversal), "x:1", {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/sha256"), 0u);
  EXPECT_FALSE(fs::exists(root_ + "/escape"));
}

nlohmann::json ConfigFor(const std::string& created, const std::vector<std::string>& env) {
  return {{"architecture", "amd64"},
          {"os", "linux"},
          {"created", created},
          {"config", {{"Env", env}, {"Cmd", {"sh"}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:aa", "sha256:bb"}}}}};
}

const std::string& Layer1() {
  static const std::string t = TarBuilder()
                                   .File("bin/busybox", "bb", 0755)
                                   .File("etc/old", "old")
                                   .File("etc/keep", "k")
                                   .Finish();
  return t;
}
const std::string& Layer2() {
  static const std::string t = TarBuilder().File("etc/.wh.old", "").File("etc/new", "new").Finish();
  return t;
}

TEST_F(ImageStoreTest, LoadsDockerSave2010Layout) {
  const std::string config = ConfigFor("2026-11-28T00:00:00Z", {"PATH=/bin"}).dump();
  const std::string cfg_hex = Sha256Hex(config);
  nlohmann::json manifest = nlohmann::json::array({{{"Config", cfg_hex + ".json"},
                                                    {"RepoTags", {"capsule/saved:2"}},
                                                    {"Layers", {"l1/layer.tar", "l2/layer.tar"}}}});
  const std::string archive = TarBuilder()
                                  .Dir("l1/")
                                  .File("l1/layer.tar", Layer1())
                                  .Dir("l2/")
                                  .File("l2/layer.tar", Layer2())
                                  .File(cfg_hex + ".json", config)
                                  .File("manifest.json", manifest.dump())
                                  .File("repositories", "{}")
                                  .Finish();
  auto loaded = store_->Load(Source(archive, 4096));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, "sha256:" + cfg_hex);
  EXPECT_EQ((*loaded)[0].repo_tags, std::vector<std::string>{"capsule/saved:2"});
  EXPECT_EQ((*loaded)[0].config.env, std::vector<std::string>{"PATH=/bin"});
  const std::string rootfs = *store_->RootfsPath("capsule/saved:2");
  EXPECT_EQ(Slurp(rootfs + "/etc/new"), "new");
  EXPECT_EQ(Slurp(rootfs + "/etc/keep"), "k");
  EXPECT_FALSE(fs::exists(rootfs + "/etc/old"));
  EXPECT_FALSE(fs::exists(rootfs + "/etc/.wh.old"));
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);

  // Loading the same archive again is idempotent.
  ASSERT_TRUE(store_->Load(Source(archive, 4096)).ok());
  EXPECT_EQ(store_->List().size(), 1u);
}

TEST_F(ImageStoreTest, LoadsOciLayout) {
  const std::string config = ConfigFor("2026-11-28T00:00:01Z", {"A=1"}).dump();
  const std::string cfg_hex = Sha256Hex(config);
  const std::string l1 = Sha256Hex(Layer1()), l2 = Sha256Hex(Layer2());
  nlohmann::json manifest =
      nlohmann::json::array({{{"Config", "blobs/sha256/" + cfg_hex},
                              {"RepoTags", {"oci/img:latest", "oci/img:v2"}},
                              {"Layers", {"blobs/sha256/" + l1, "blobs/sha256/" + l2}}}});
  const std::string archive = TarBuilder()
                                  .Dir("blobs/")
                                  .Dir("blobs/sha256/")
                                  .File("blobs/sha256/" + l1, Layer1())
                                  .File("blobs/sha256/" + l2, Layer2())
                                  .File("blobs/sha256/" + cfg_hex, config)
                                  .File("index.json", "{}")
                                  .File("manifest.json", manifest.dump())
                                  .File("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
                                  .Finish();
  auto loaded = store_->Load(Source(archive, 10000));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)[0].repo_tags.size(), 2u);
  EXPECT_EQ(Slurp(*store_->RootfsPath("oci/img") + "/etc/new"), "new");
}

TEST_F(ImageStoreTest, LoadWithoutManifestOrWithEscapingLayerFails) {
  EXPECT_EQ(store_->Load(Source(TarBuilder().File("x", "y").Finish())).status().code(),
            StatusCode::kInvalidArgument);
  nlohmann::json manifest = nlohmann::json::array({{{"Config", "../../etc/passwd"},
                                                    {"RepoTags", {"a:1"}},
                                                    {"Layers", nlohmann::json::array()}}});
  EXPECT_FALSE(
      store_->Load(Source(TarBuilder().File("manifest.json", manifest.dump()).Finish())).ok());
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
}

// Load on another thread, bounded: a regression that blocks opening a FIFO fails the test
// instead of hanging it (the FIFO is opened for writing, so the blocked open returns).
Status LoadBounded(ImageStore& store, const std::string& archive, const std::string& images) {
  auto f =
      std::async(std::launch::async, [&] { return store.Load(Source(archive, 4096)).status(); });
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "Load blocked";
    for (const auto& e : fs::recursive_directory_iterator(images + "/tmp")) {
      if (e.is_fifo()) {
        int w = ::open(e.path().c_str(), O_WRONLY | O_NONBLOCK);
        if (w >= 0) ::close(w);
      }
    }
  }
  return f.get();
}

// A `docker save` archive whose manifest names config.json and layer.tar; `hostile` replaces
// one of manifest.json, config.json or layer.tar with a FIFO, device or symlink.
std::string SavedArchive(const std::string& hostile, char type, const std::string& link = "") {
  const std::string config = ConfigFor("2026-11-28T00:00:00Z", {"PATH=/bin"}).dump();
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", "config.json"}, {"RepoTags", {"hostile:1"}}, {"Layers", {"layer.tar"}}}});
  const std::map<std::string, std::string> files = {
      {"layer.tar", Layer1()}, {"config.json", config}, {"manifest.json", manifest.dump()}};
  TarBuilder b;
  for (const auto& [name, data] : files) {
    if (name != hostile) {
      b.File(name, data);
    } else if (type == '2') {
      b.Symlink(name, link);
    } else {
      b.Entry(name, type, "", "", 0644, 0, 0);
    }
  }
  return b.Finish();
}

TEST_F(ImageStoreTest, LoadRefusesAFifoDeviceOrEscapingSymlinkAsManifestConfigOrLayer) {
  const std::string images = root_ + "/images";
  struct Case {
    std::string file;
    char type;
    std::string link;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"manifest.json", '6', "", "invalid archive: manifest.json is not a regular file"},
      {"config.json", '6', "", "invalid archive: config.json is not a regular file"},
      {"layer.tar", '6', "", "invalid archive: layer.tar is not a regular file"},
      // Devices are never created: the file is missing.
      {"manifest.json", '3', "", "invalid archive: no manifest.json (not a `docker save` archive)"},
      {"config.json", '3', "", "invalid archive: open config.json: No such file or directory"},
      {"layer.tar", '4', "", "invalid archive: open layer.tar: No such file or directory"},
      // A symlink is resolved inside the archive (docker save writes such links for shared
      // layers): an absolute host path is looked up there, where it is absent.
      {"manifest.json", '2', "/etc/passwd",
       "invalid archive: no manifest.json (not a `docker save` archive)"},
      {"config.json", '2', "/etc/passwd",
       "invalid archive: open config.json: No such file or directory"},
      {"layer.tar", '2', "../../../../etc/passwd",
       "invalid archive: open layer.tar: No such file or directory"},
  };
  for (const Case& c : cases) {
    Status st = LoadBounded(*store_, SavedArchive(c.file, c.type, c.link), images);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.file << " " << c.type;
    EXPECT_EQ(st.message(), c.message) << c.file << " " << c.type;
  }
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(images + "/tmp"), 0u);
  // Positive control: the same archive with every file regular loads.
  ASSERT_TRUE(LoadBounded(*store_, SavedArchive("", '0'), images).ok());
  EXPECT_EQ(store_->List().size(), 1u);
}

TEST_F(ImageStoreTest, LoadFollowsASymlinkToAFileInsideTheArchive) {
  const std::string config = ConfigFor("2026-11-28T00:00:00Z", {"PATH=/bin"}).dump();
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", "config.json"}, {"RepoTags", {"linked:1"}}, {"Layers", {"l2/layer.tar"}}}});
  const std::string archive = TarBuilder()
                                  .File("l1/layer.tar", Layer1())
                                  .Symlink("l2/layer.tar", "../l1/layer.tar")
                                  .File("config.json", config)
                                  .File("manifest.json", manifest.dump())
                                  .Finish();
  Status st = LoadBounded(*store_, archive, root_ + "/images");
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Slurp(*store_->RootfsPath("linked:1") + "/etc/keep"), "k");
}

TEST_F(ImageStoreTest, RootfsWithoutARootEntryIs0755WhateverTheUmask) {
  const mode_t old = ::umask(0077);
  auto info = store_->Import(Source(TarBuilder().File("bin/x", "x", 0755).Finish()), "u:1", {});
  ::umask(old);
  ASSERT_TRUE(info.ok()) << info.status();
  struct stat st;
  ASSERT_EQ(::stat(store_->RootfsPath("u:1")->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((*store_->RootfsPath("u:1") + "/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ImageStoreTest, RemoveUntagsThenDeletes) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  // Same content imported later is another image (its config has another time); retag.
  ASSERT_TRUE(store_->Load(Source(TarBuilder().Finish())).status().code() ==
              StatusCode::kInvalidArgument);
  clock_.Advance(std::chrono::seconds(1));
  auto b = store_->Import(Source(Rootfs()), "app:2", {});
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->id, b->id);
  // Tag app:2 moves to a re-import; the older image stays, untagged.
  clock_.Advance(std::chrono::seconds(1));
  auto c = store_->Import(Source(Rootfs()), "app:2", {});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(store_->Inspect(b->id)->repo_tags.empty());

  auto r = store_->Remove("app:1", false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], std::make_pair(std::string("Untagged"), std::string("app:1")));
  EXPECT_EQ((*r)[1], std::make_pair(std::string("Deleted"), a->id));
  EXPECT_FALSE(fs::exists(root_ + "/images/sha256/" + a->id.substr(7)));
  EXPECT_EQ(store_->Remove("app:1", false).status().message(), "No such image: app:1");
  EXPECT_EQ(store_->Remove(b->id.substr(7, 12), false)->size(), 1u);  // untagged: Deleted
}

TEST_F(ImageStoreTest, RemoveByIdWithSeveralTagsNeedsForce) {
  const std::string config = ConfigFor("2026-11-28T00:00:01Z", {}).dump();
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", "c.json"}, {"RepoTags", {"m:1", "m:2"}}, {"Layers", {"l.tar"}}}});
  auto loaded = store_->Load(Source(TarBuilder()
                                        .File("l.tar", Layer1())
                                        .File("c.json", config)
                                        .File("manifest.json", manifest.dump())
                                        .Finish()));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::string id = (*loaded)[0].id;
  auto conflict = store_->Remove(id.substr(7, 12), false);
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(conflict.status().message(),
            "conflict: unable to delete " + id.substr(7, 12) +
                " (must be forced) - image is referenced in multiple repositories");
  auto untag = store_->Remove("m:1", false);
  ASSERT_TRUE(untag.ok());
  EXPECT_EQ(untag->size(), 1u);
  EXPECT_TRUE(store_->Inspect("m:2").ok());
  ASSERT_TRUE(store_->Import(Source(Rootfs()), "m:1", {}).ok());
  auto forced = store_->Remove("m:2", true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->size(), 2u);
}

constexpr char kTaskId[] = "0123456789abcdefghijklmno";  // a task's container ID (25 chars)

TEST_F(ImageStoreTest, RemovingTheOnlyTagOfAnImageATaskUsesNeedsForce) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  for (bool running : {true, false}) {
    users_.uses = {{a->id, kTaskId, running}};
    auto refused = store_->Remove("app:1", false);
    EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(refused.status().message(),
              "conflict: unable to remove repository reference \"app:1\" (must force) - "
              "container 0123456789ab is using its referenced image " +
                  a->id.substr(7, 12));
    EXPECT_EQ(store_->Inspect("app:1")->id, a->id);  // nothing changed
  }
}

TEST_F(ImageStoreTest, ForcedRemovalOfAUsedImagesTagKeepsTheImageDangling) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  users_.uses = {{a->id, kTaskId, true}};
  auto r = store_->Remove("app:1", true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, (Items{{"Untagged", "app:1"}}));
  auto kept = store_->Inspect(a->id);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->repo_tags.empty());
  EXPECT_TRUE(fs::exists(*store_->RootfsPath(a->id)));
  // Once its task is gone it can be deleted by ID.
  users_.uses.clear();
  EXPECT_EQ(*store_->Remove(a->id, false), (Items{{"Deleted", a->id}}));
}

TEST_F(ImageStoreTest, AUsedImageWithAnotherTagLosesOneTagWithoutForce) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  users_.uses = {{a->id, kTaskId, true}};
  // The same rootfs imported at the same time has the same config: the same image, tagged twice.
  auto again = store_->Import(Source(Rootfs()), "app:2", {});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->id, a->id);
  EXPECT_EQ(*store_->Remove("app:1", false), (Items{{"Untagged", "app:1"}}));
  EXPECT_EQ(store_->Inspect("app:2")->id, a->id);
}

TEST_F(ImageStoreTest, RemovingByIdAnImageARunningTaskUsesCannotBeForced) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  const std::string short_id = a->id.substr(7, 12);
  users_.uses = {{"sha256:other", "zzzzzzzzzzzzzzzzzzzzzzzzz", true}, {a->id, kTaskId, true}};
  for (bool force : {false, true}) {
    auto refused = store_->Remove(short_id, force);
    EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(refused.status().message(),
              "conflict: unable to delete " + short_id +
                  " (cannot be forced) - image is being used by running container 0123456789ab");
  }
  EXPECT_EQ(store_->Inspect("app:1")->id, a->id);
}

TEST_F(ImageStoreTest, RemovingByIdAnImageAStoppedTaskUsesMustBeForced) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  const std::string short_id = a->id.substr(7, 12);
  users_.uses = {{a->id, kTaskId, false}};
  auto refused = store_->Remove(a->id, false);
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.status().message(),
            "conflict: unable to delete " + short_id +
                " (must be forced) - image is being used by stopped container 0123456789ab");
  // Forced: untagged, but its files stay while the task's rootfs is built on them.
  EXPECT_EQ(*store_->Remove(a->id, true), (Items{{"Untagged", "app:1"}}));
  EXPECT_TRUE(store_->Inspect(a->id).ok());
}

TEST_F(ImageStoreTest, ATaskNamingTheImageByReferenceCountsAsAUser) {
  auto a = store_->Import(Source(Rootfs()), "app:1", {});
  ASSERT_TRUE(a.ok());
  users_.uses = {{"app:1", kTaskId, true}};
  EXPECT_EQ(store_->Remove("app:1", false).status().code(), StatusCode::kAlreadyExists);
  users_.uses = {{"other:1", kTaskId, true}};
  EXPECT_EQ(*store_->Remove("app:1", false), (Items{{"Untagged", "app:1"}, {"Deleted", a->id}}));
}

TEST_F(ImageStoreTest, ReopenKeepsImagesAndTags) {
  auto a = store_->ImportWithMessage(Source(Rootfs()), "keep:1", {"ENV X=1"}, "msg");
  ASSERT_TRUE(a.ok());
  Reopen();
  auto again = store_->Inspect("keep:1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, a->id);
  EXPECT_EQ(again->size, a->size);
  EXPECT_EQ(again->comment, "msg");
  EXPECT_EQ(again->config.env, std::vector<std::string>{"X=1"});
  // A leftover staging directory (crash mid-import) is removed on open.
  fs::create_directories(root_ + "/images/tmp/deadbeef/rootfs");
  Reopen();
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
}

// A pulled image: its layers applied in order, its tag and its digest reference both name it,
// both survive a reopen, and removing it untags both.
TEST_F(ImageStoreTest, PulledImageIsNamedByTagAndDigestAndRemovedWithBoth) {
  const std::string layer1 = TarBuilder().Dir("etc/").File("etc/a", "1").Finish();
  const std::string layer2 = TarBuilder().File("etc/b", "2").File("etc/.wh.a", "").Finish();
  const std::string config =
      R"({"architecture":"amd64","os":"linux","created":"2026-01-02T03:04:05Z",)"
      R"("config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:)" +
      Sha256Hex(layer1) + R"(","sha256:)" + Sha256Hex(layer2) + R"("]}})";
  const std::string digest_ref = "reg.test/app@sha256:" + std::string(64, 'c');
  PulledImage image;
  image.config_json = config;
  image.layer_count = 2;
  image.open_layer = [&](size_t i) -> StatusOr<ChunkSource> {
    return Source(i == 0 ? layer1 : layer2);
  };
  image.tags = {"reg.test/app:1"};
  image.digests = {digest_ref};
  auto info = store_->AddPulled(std::move(image));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, "sha256:" + Sha256Hex(config));
  EXPECT_EQ(info->repo_digests, std::vector<std::string>{digest_ref});
  auto root = store_->RootfsPath(digest_ref);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(Slurp(*root + "/etc/b"), "2");
  EXPECT_FALSE(fs::exists(*root + "/etc/a"));  // whiteout of the lower layer
  Reopen();
  ASSERT_TRUE(store_->Inspect(digest_ref).ok());
  auto removed = store_->Remove("reg.test/app:1", false);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, (Items{{"Untagged", "reg.test/app:1"},
                             {"Untagged", digest_ref},
                             {"Deleted", "sha256:" + Sha256Hex(config)}}));
  EXPECT_TRUE(store_->List().empty());
}

// A layer stream that fails aborts the pull: nothing is stored, no staging is left.
TEST_F(ImageStoreTest, PulledImageWhoseLayerFailsLeavesNothing) {
  PulledImage image;
  image.config_json = R"({"rootfs":{"type":"layers","diff_ids":["sha256:00"]}})";
  image.layer_count = 1;
  image.open_layer = [](size_t) -> StatusOr<ChunkSource> {
    return ChunkSource([]() -> StatusOr<std::string_view> {
      return absl::InvalidArgumentError("filesystem layer verification failed for digest x");
    });
  };
  image.tags = {"reg.test/bad:1"};
  auto info = store_->AddPulled(std::move(image));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(), "filesystem layer verification failed for digest x");
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/sha256"), 0u);
}

// A service pinned by `docker service create` names its image "name:tag@sha256:<manifest>"
// (issue 16 part 4): the pulled image is found by that reference, the digest deciding (the tag
// may since point elsewhere, or be gone), with Docker Hub's long form too; another digest of
// the same name is not this image.
TEST_F(ImageStoreTest, PulledImageIsFoundByTagAndDigestReferenceTheDigestDeciding) {
  const std::string layer = TarBuilder().File("etc/pinned", "yes").Finish();
  const std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
                             R"("diff_ids":["sha256:)" +
                             Sha256Hex(layer) + R"("]}})";
  const std::string digest = "sha256:" + std::string(64, 'd');
  PulledImage image;
  image.config_json = config;
  image.layer_count = 1;
  image.open_layer = [&](size_t) -> StatusOr<ChunkSource> { return Source(layer); };
  image.digests = {"reg.test:5000/team/app@" + digest, "app@" + digest};
  auto pulled = store_->AddPulled(std::move(image));
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  for (const std::string& ref :
       {"reg.test:5000/team/app:1@" + digest, "reg.test:5000/team/app@" + digest,
        "reg.test:5000/team/app:gone@" + digest, "docker.io/library/app:1@" + digest}) {
    auto info = store_->Inspect(ref);
    ASSERT_TRUE(info.ok()) << ref << ": " << info.status();
    EXPECT_EQ(info->id, pulled->id) << ref;
    auto root = store_->RootfsPath(ref);
    ASSERT_TRUE(root.ok()) << ref << ": " << root.status();
    EXPECT_EQ(Slurp(*root + "/etc/pinned"), "yes");
  }
  const std::string other = "reg.test:5000/team/app:1@sha256:" + std::string(64, 'e');
  EXPECT_TRUE(absl::IsNotFound(store_->Inspect(other).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->RootfsPath(other).status()));
}

}  // namespace
}  // namespace capsule::agent
