// Pulls against an in-memory registry (a fake transport answering the distribution API):
// tags, digests, indexes, gzip and zstd layers, shared layers stored once, Bearer and Basic
// authentication, and refusals (digest mismatch, truncated blob, diff ID mismatch, wrong
// credentials) that leave nothing stored.
#include "agent/registry/puller.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/images/sha256.h"
#include "agent/images/tar_test_util.h"
#include "agent/registry/compress_test_util.h"
#include "agent/registry/registry_client.h"

namespace capsule::agent::registry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Digest(const std::string& data) { return "sha256:" + Sha256Hex(data); }

using test_compress::Gzip;
using test_compress::Zstd;

// An in-memory registry at https://reg.test behind a token server at https://auth.test.
class FakeRegistry : public HttpTransport {
 public:
  std::string auth_mode = "bearer";  // "bearer", "basic" or "none"
  std::string user = "alice", password = "pw";
  std::map<std::string, std::pair<std::string, std::string>> manifests;  // ref → (type, body)
  std::map<std::string, std::string> blobs;                              // digest → bytes
  std::map<std::string, int> blob_gets;
  std::vector<std::string> seen_auth;

  StatusOr<HttpResponse> Do(const HttpRequest& req, const BodySink* sink, size_t) override {
    HttpResponse r;
    std::string authz;
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization") authz = v;
    }
    seen_auth.push_back(authz);
    const std::string basic = "Basic " + Base64(user + ":" + password);
    if (req.url.rfind("https://auth.test/token", 0) == 0) {
      if (authz != basic) {
        r.status = 401;
        r.body =
            R"({"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]})";
        return r;
      }
      r.status = 200;
      r.body = R"({"token":"tok123"})";
      return r;
    }
    const std::string want = auth_mode == "bearer" ? "Bearer tok123" : basic;
    if (auth_mode != "none" && authz != want) {
      r.status = 401;
      r.headers["www-authenticate"] =
          auth_mode == "bearer"
              ? R"(Bearer realm="https://auth.test/token",service="reg.test",scope="repository:team/app:pull")"
              : R"(Basic realm="Registry Realm")";
      r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      return r;
    }
    const std::string prefix = "https://reg.test/v2/team/app/";
    if (req.url == "https://reg.test/v2/") {
      r.status = 200;
      return r;
    }
    if (req.url.rfind(prefix + "manifests/", 0) == 0) {
      auto it = manifests.find(req.url.substr(prefix.size() + 10));
      if (it == manifests.end()) {
        r.status = 404;
        r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
        return r;
      }
      r.status = 200;
      r.headers["content-type"] = it->second.first;
      r.headers["docker-content-digest"] = Digest(it->second.second);
      r.body = it->second.second;
      return r;
    }
    if (req.url.rfind(prefix + "blobs/", 0) == 0) {
      const std::string d = req.url.substr(prefix.size() + 6);
      auto it = blobs.find(d);
      if (it == blobs.end()) {
        r.status = 404;
        r.body = R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})";
        return r;
      }
      ++blob_gets[d];
      r.status = 200;
      for (size_t i = 0; i < it->second.size(); i += 1000) {
        RETURN_IF_ERROR((*sink)(std::string_view(it->second).substr(i, 1000)));
      }
      return r;
    }
    r.status = 404;
    return r;
  }

  // Adds an image (one layer per tar, compressed as asked) and returns its manifest digest.
  std::string AddImage(const std::string& tag, const std::vector<std::string>& tars,
                       const std::string& compression = "gzip", const std::string& marker = "") {
    json layers = json::array();
    json diff_ids = json::array();
    for (const std::string& tar : tars) {
      const std::string packed = compression == "zstd" ? Zstd(tar) : Gzip(tar);
      blobs[Digest(packed)] = packed;
      layers.push_back({{"mediaType", compression == "zstd"
                                          ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                          : "application/vnd.docker.image.rootfs.diff.tar.gzip"},
                        {"digest", Digest(packed)},
                        {"size", packed.size()}});
      diff_ids.push_back(Digest(tar));
    }
    const std::string config =
        json{{"architecture", "amd64"},
             {"os", "linux"},
             {"created", "2026-01-02T03:04:05Z"},
             {"config", {{"Env", {"PATH=/bin", "MARK=" + marker + tag}}, {"Cmd", {"sh"}}}},
             {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
            .dump();
    blobs[Digest(config)] = config;
    const std::string manifest = json{
        {"schemaVersion", 2},
        {"mediaType", kDockerManifest},
        {"config",
         {{"mediaType", "application/vnd.docker.container.image.v1+json"},
          {"digest", Digest(config)},
          {"size", config.size()}}},
        {"layers", layers}}.dump();
    manifests[tag] = {kDockerManifest, manifest};
    manifests[Digest(manifest)] = {kDockerManifest, manifest};
    return Digest(manifest);
  }
};

class PullerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-puller-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }
  void Reopen() {
    store_.reset();
    store_ = *NewImageStore(root_ + "/images");
  }
  StatusOr<ImageInfo> Pull(const std::string& image, const std::string& tag = "") {
    messages_.clear();
    auto ref = ParsePullReference(image, tag);
    if (!ref.ok()) return ref.status();
    RegistryOptions options;
    Puller puller(*store_, registry_, options, Platform{"linux", "amd64", ""});
    return puller.Pull(*ref, auth_, [this](const std::string& m) {
      messages_.push_back(json::parse(m));
      return true;
    });
  }
  std::vector<std::string> Statuses() const {
    std::vector<std::string> out;
    for (const json& m : messages_) out.push_back(m.value("status", ""));
    return out;
  }
  bool Saw(const std::string& status) const {
    for (const std::string& s : Statuses()) {
      if (s == status) return true;
    }
    return false;
  }
  size_t Entries(const std::string& dir) const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
  }
  std::string ReadRootfsFile(const std::string& ref, const std::string& rel) {
    auto path = store_->RootfsPath(ref);
    if (!path.ok()) return "<" + path.status().ToString() + ">";
    std::ifstream in(*path + "/" + rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void UseCredentials(const std::string& user, const std::string& password) {
    auth_.username = user;
    auth_.password = SecretBytes::CopyFrom(password);
  }

  std::string root_;
  std::unique_ptr<ImageStore> store_;
  FakeRegistry registry_;
  RegistryAuth auth_;
  std::vector<json> messages_;
};

std::string LayerWith(const std::string& path, const std::string& data) {
  return testing::TarBuilder().Dir("etc").File(path, data).Finish();
}

TEST_F(PullerTest, PullsByTagWithBearerTokenAndStreamsDockerProgress) {
  UseCredentials("alice", "pw");
  const std::string digest =
      registry_.AddImage("1.0", {LayerWith("etc/a", "one"), LayerWith("etc/b", "two")});
  auto info = Pull("reg.test/team/app", "1.0");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->repo_tags, std::vector<std::string>{"reg.test/team/app:1.0"});
  EXPECT_EQ(info->repo_digests, std::vector<std::string>{"reg.test/team/app@" + digest});
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app:1.0", "etc/a"), "one");
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app@" + digest, "etc/b"), "two");
  ASSERT_FALSE(messages_.empty());
  EXPECT_EQ(messages_.front(), json({{"status", "Pulling from team/app"}, {"id", "1.0"}}));
  for (const char* s : {"Pulling fs layer", "Downloading", "Verifying Checksum",
                        "Download complete", "Extracting", "Pull complete"}) {
    EXPECT_TRUE(Saw(s)) << s;
  }
  EXPECT_EQ(Statuses()[Statuses().size() - 2], "Digest: " + digest);
  EXPECT_EQ(Statuses().back(), "Status: Downloaded newer image for reg.test/team/app:1.0");
  // The password went only to the token server; the registry saw the token.
  bool basic_seen = false;
  for (const std::string& a : registry_.seen_auth) basic_seen |= a.rfind("Basic ", 0) == 0;
  EXPECT_TRUE(basic_seen);
  EXPECT_EQ(registry_.seen_auth.back(), "Bearer tok123");
}

TEST_F(PullerTest, SecondPullIsUpToDateAndDownloadsNothing) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  ASSERT_TRUE(Pull("reg.test/team/app:1.0").ok());
  const std::map<std::string, int> before = registry_.blob_gets;
  ASSERT_TRUE(Pull("reg.test/team/app:1.0").ok());
  // Only the config is fetched again (to learn the image ID); no layer.
  int layer_gets = 0;
  for (const auto& [d, n] : registry_.blob_gets) layer_gets += n - before.at(d);
  EXPECT_EQ(layer_gets, 1);
  EXPECT_TRUE(Saw("Already exists"));
  EXPECT_FALSE(Saw("Downloading"));
  EXPECT_EQ(Statuses().back(), "Status: Image is up to date for reg.test/team/app:1.0");
}

TEST_F(PullerTest, LayersSharedBetweenImagesAreStoredAndDownloadedOnce) {
  registry_.auth_mode = "none";
  const std::string base = LayerWith("etc/base", "shared");
  registry_.AddImage("a", {base, LayerWith("etc/a", "A")});
  registry_.AddImage("b", {base, LayerWith("etc/b", "B")});
  ASSERT_TRUE(Pull("reg.test/team/app:a").ok());
  ASSERT_TRUE(Pull("reg.test/team/app:b").ok());
  const std::string base_digest = Digest(Gzip(base));
  EXPECT_EQ(registry_.blob_gets[base_digest], 1);
  EXPECT_TRUE(Saw("Already exists"));
  EXPECT_EQ(Entries(root_ + "/images/blobs/sha256"), 3u);  // base + A + B (configs not kept)
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app:b", "etc/base"), "shared");
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app:b", "etc/b"), "B");
}

TEST_F(PullerTest, ZstdLayersAndPullByDigest) {
  registry_.auth_mode = "none";
  const std::string digest = registry_.AddImage("z", {LayerWith("etc/z", "zstd!")}, "zstd");
  auto info = Pull("reg.test/team/app@" + digest);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->repo_tags.empty());
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app@" + digest, "etc/z"), "zstd!");
  EXPECT_EQ(messages_.front()["id"], digest);
  EXPECT_EQ(Statuses().back(), "Status: Downloaded newer image for reg.test/team/app@" + digest);
}

TEST_F(PullerTest, IndexPicksTheNodesPlatform) {
  registry_.auth_mode = "none";
  const std::string amd = registry_.AddImage("amd", {LayerWith("etc/arch", "amd64")});
  const std::string arm = registry_.AddImage("arm", {LayerWith("etc/arch", "arm64")});
  const json index{{"schemaVersion", 2},
                   {"mediaType", kOciIndex},
                   {"manifests",
                    {{{"mediaType", kDockerManifest},
                      {"digest", arm},
                      {"size", registry_.manifests[arm].second.size()},
                      {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                     {{"mediaType", kDockerManifest},
                      {"digest", amd},
                      {"size", registry_.manifests[amd].second.size()},
                      {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  registry_.manifests["multi"] = {kOciIndex, index.dump()};
  auto info = Pull("reg.test/team/app:multi");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(ReadRootfsFile("reg.test/team/app:multi", "etc/arch"), "amd64");
  // RepoDigests name the index, as Docker's do.
  EXPECT_EQ(info->repo_digests,
            std::vector<std::string>{"reg.test/team/app@" + Digest(index.dump())});
}

TEST_F(PullerTest, DigestMismatchIsRefusedWithNothingStored) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  const json m = json::parse(registry_.manifests["1.0"].second);
  const std::string layer = m["layers"][0]["digest"];
  std::string& bytes = registry_.blobs[layer];
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  auto info = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(), "filesystem layer verification failed for digest " + layer);
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/blobs/sha256"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/blobs/incoming"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/sha256"), 0u);
}

TEST_F(PullerTest, TruncatedBlobIsRefusedWithNothingStored) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", std::string(5000, 'x'))});
  const json m = json::parse(registry_.manifests["1.0"].second);
  const std::string layer = m["layers"][0]["digest"];
  registry_.blobs[layer].resize(registry_.blobs[layer].size() - 10);
  auto info = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(info.status())) << info.status();
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/blobs/sha256"), 0u);
}

TEST_F(PullerTest, DiffIdMismatchIsRefusedWithNothingStored) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  // Swap the layer for another whose compressed digest the manifest names correctly.
  json m = json::parse(registry_.manifests["1.0"].second);
  const std::string other = Gzip(LayerWith("etc/a", "evil"));
  registry_.blobs[Digest(other)] = other;
  m["layers"][0]["digest"] = Digest(other);
  m["layers"][0]["size"] = other.size();
  registry_.manifests["1.0"] = {kDockerManifest, m.dump()};
  auto info = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("diff ID"), std::string::npos) << info.status();
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(Entries(root_ + "/images/sha256"), 0u);
}

TEST_F(PullerTest, ManifestFetchedByDigestIsVerified) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  const std::string wrong = "sha256:" + std::string(64, 'b');
  registry_.manifests[wrong] = registry_.manifests["1.0"];
  auto info = Pull("reg.test/team/app@" + wrong);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(), "manifest verification failed for digest " + wrong);
  EXPECT_TRUE(messages_.empty());
}

TEST_F(PullerTest, UnknownTagIsNotFoundBeforeAnyProgress) {
  registry_.auth_mode = "none";
  auto info = Pull("reg.test/team/app:nope");
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::IsNotFound(info.status()));
  EXPECT_EQ(info.status().message(),
            "manifest for reg.test/team/app:nope not found: manifest unknown: manifest unknown");
  EXPECT_TRUE(messages_.empty());
}

TEST_F(PullerTest, WrongCredentialsAreRefused) {
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  UseCredentials("alice", "wrong");
  auto bearer = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(bearer.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(bearer.status())) << bearer.status();
  registry_.auth_mode = "basic";
  auto basic = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(basic.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(basic.status())) << basic.status();
  EXPECT_EQ(basic.status().message(), "unauthorized: authentication required");
  auth_ = RegistryAuth{};
  auto none = Pull("reg.test/team/app:1.0");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "Get \"https://reg.test/v2/team/app/manifests/1.0\": no basic auth credentials");
  EXPECT_TRUE(store_->List().empty());
}

TEST_F(PullerTest, LoginChecksCredentialsAsDockerDoes) {
  registry_.auth_mode = "basic";
  Puller puller(*store_, registry_, RegistryOptions{});
  UseCredentials("alice", "pw");
  EXPECT_TRUE(puller.Login("reg.test", auth_).ok());
  UseCredentials("alice", "nope");
  Status st = puller.Login("https://reg.test", auth_);
  EXPECT_TRUE(absl::IsUnauthenticated(st));
  EXPECT_EQ(st.message(),
            "login attempt to https://reg.test/v2/ failed with status: 401 Unauthorized");
}

TEST_F(PullerTest, ClientGoneCancelsThePullWithNothingStored) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  auto ref = ParsePullReference("reg.test/team/app:1.0");
  Puller puller(*store_, registry_, RegistryOptions{});
  int sent = 0;
  auto info = puller.Pull(*ref, auth_, [&sent](const std::string&) { return ++sent < 3; });
  EXPECT_TRUE(absl::IsCancelled(info.status())) << info.status();
  EXPECT_TRUE(store_->List().empty());
}

TEST_F(PullerTest, ReopenedStoreDiscardsPartialBlobsAndKeepsVerifiedOnes) {
  registry_.auth_mode = "none";
  registry_.AddImage("1.0", {LayerWith("etc/a", "one")});
  ASSERT_TRUE(Pull("reg.test/team/app:1.0").ok());
  std::ofstream(root_ + "/images/blobs/incoming/partial") << "half a blob";
  fs::create_directories(root_ + "/images/tmp/0123456789abcdef/image/rootfs");
  Reopen();
  EXPECT_EQ(Entries(root_ + "/images/blobs/incoming"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/tmp"), 0u);
  EXPECT_EQ(Entries(root_ + "/images/blobs/sha256"), 1u);
  auto info = store_->Inspect("reg.test/team/app:1.0");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->repo_digests.size(), 1u);
}

}  // namespace
}  // namespace capsule::agent::registry
