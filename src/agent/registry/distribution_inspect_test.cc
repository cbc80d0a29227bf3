// InspectDistribution and DistributionResolver against an in-memory registry: what Docker's
// daemon answers for an index, a Docker manifest, an OCI manifest, by tag and by digest, with
// credentials, and its errors; and the names the resolver keeps to the node.
#include "agent/registry/distribution_inspect.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "agent/images/sha256.h"
#include "agent/registry/manifest.h"

namespace capsule::agent::registry {
namespace {

using nlohmann::json;

std::string Digest(const std::string& data) { return "sha256:" + Sha256Hex(data); }

// https://reg.test with basic auth (alice/pw) for repository team/app; `down` makes every
// request fail as an unreachable host does.
class FakeRegistry : public HttpTransport {
 public:
  bool down = false;
  std::map<std::string, std::pair<std::string, std::string>> manifests;  // ref → (type, body)
  std::map<std::string, std::string> blobs;
  std::vector<std::string> urls;  // every request, in order

  StatusOr<HttpResponse> Do(const HttpRequest& req, const BodySink* sink, size_t) override {
    urls.push_back(req.url);
    if (down) {
      return absl::UnavailableError("Get \"" + req.url +
                                    "\": dial tcp reg.test:443: connect: connection refused");
    }
    HttpResponse r;
    std::string authz;
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization") authz = v;
    }
    if (authz != "Basic " + Base64("alice:pw")) {
      r.status = 401;
      r.headers["www-authenticate"] = R"(Basic realm="Registry Realm")";
      r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      return r;
    }
    const std::string prefix = "https://reg.test/v2/team/app/";
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
      auto it = blobs.find(req.url.substr(prefix.size() + 6));
      if (it == blobs.end()) {
        r.status = 404;
        r.body = R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})";
        return r;
      }
      r.status = 200;
      RETURN_IF_ERROR((*sink)(it->second));
      return r;
    }
    r.status = 404;
    return r;
  }

  // A single-platform image under `tag` (and its digest); returns the manifest.
  std::string AddImage(const std::string& tag, const std::string& type, json config) {
    const std::string config_text = config.dump();
    blobs[Digest(config_text)] = config_text;
    json m = {{"schemaVersion", 2},
              {"mediaType", type},
              {"config",
               {{"mediaType", "application/vnd.docker.container.image.v1+json"},
                {"digest", Digest(config_text)},
                {"size", config_text.size()}}},
              {"layers", json::array()}};
    const std::string body = m.dump();
    manifests[tag] = {type, body};
    manifests[Digest(body)] = {type, body};
    return body;
  }
};

RegistryAuth Alice() {
  RegistryAuth a;
  a.username = "alice";
  a.password = SecretBytes::CopyFrom("pw");
  return a;
}

PullReference Ref(const std::string& name) {
  StatusOr<PullReference> r = ParsePullReference(name);
  EXPECT_TRUE(r.ok()) << r.status();
  return *r;
}

class DistributionInspectTest : public ::testing::Test {
 protected:
  StatusOr<DistributionInfo> Inspect(const std::string& name, const RegistryAuth& auth = Alice()) {
    return InspectDistribution(registry_, options_, Ref(name), auth);
  }
  FakeRegistry registry_;
  RegistryOptions options_;
};

TEST_F(DistributionInspectTest, IndexByTagListsEveryPlatformWithItsDigestAndSize) {
  json index = {{"schemaVersion", 2},
                {"mediaType", kDockerManifestList},
                {"manifests",
                 {{{"mediaType", kDockerManifest},
                   {"digest", "sha256:" + std::string(64, 'a')},
                   {"size", 10},
                   {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}},
                  {{"mediaType", kDockerManifest},
                   {"digest", "sha256:" + std::string(64, 'b')},
                   {"size", 10},
                   {"platform",
                    {{"architecture", "arm"},
                     {"os", "linux"},
                     {"variant", "v7"},
                     {"os.features", {"f1"}}}}}}}};
  const std::string body = index.dump();
  registry_.manifests["1.0"] = {kDockerManifestList, body};
  auto info = Inspect("reg.test/team/app:1.0");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->resolved);
  EXPECT_EQ(info->media_type, kDockerManifestList);
  EXPECT_EQ(info->digest, Digest(body));
  EXPECT_EQ(info->size, static_cast<int64_t>(body.size()));
  ASSERT_EQ(info->platforms.size(), 2u);
  EXPECT_EQ(info->platforms[0].architecture, "amd64");
  EXPECT_EQ(info->platforms[0].os, "linux");
  EXPECT_EQ(info->platforms[1].architecture, "arm");
  EXPECT_EQ(info->platforms[1].variant, "v7");
  EXPECT_EQ(info->platforms[1].os_features, std::vector<std::string>{"f1"});
}

TEST_F(DistributionInspectTest, OciIndexWithoutMediaTypeIsAnOciIndex) {
  const std::string body = json{{"schemaVersion", 2},
                                {"manifests",
                                 {{{"mediaType", kOciManifest},
                                   {"digest", "sha256:" + std::string(64, 'c')},
                                   {"size", 5},
                                   {"platform", {{"architecture", "arm64"}, {"os", "linux"}}}}}}}
                               .dump();
  registry_.manifests["latest"] = {kOciIndex, body};
  auto info = Inspect("reg.test/team/app");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->media_type, kOciIndex);
  ASSERT_EQ(info->platforms.size(), 1u);
  EXPECT_EQ(info->platforms[0].architecture, "arm64");
}

TEST_F(DistributionInspectTest, DockerManifestReadsItsPlatformFromTheConfigBlob) {
  const std::string body = registry_.AddImage(
      "2", kDockerManifest, {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}});
  auto info = Inspect("reg.test/team/app:2");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->media_type, kDockerManifest);
  EXPECT_EQ(info->digest, Digest(body));
  ASSERT_EQ(info->platforms.size(), 1u);
  EXPECT_EQ(info->platforms[0].architecture, "arm64");
  EXPECT_EQ(info->platforms[0].os, "linux");
  EXPECT_EQ(info->platforms[0].variant, "v8");
}

TEST_F(DistributionInspectTest, DockerManifestWithUnreadableConfigHasNoPlatform) {
  const std::string body =
      registry_.AddImage("3", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  registry_.blobs.clear();
  auto info = Inspect("reg.test/team/app:3");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, Digest(body));
  EXPECT_TRUE(info->platforms.empty());
}

TEST_F(DistributionInspectTest, OciManifestHasNoPlatformAsInDockersDaemon) {
  registry_.AddImage("oci", kOciManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  const size_t before = registry_.urls.size();
  auto info = Inspect("reg.test/team/app:oci");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->media_type, kOciManifest);
  EXPECT_TRUE(info->platforms.empty());
  for (size_t i = before; i < registry_.urls.size(); ++i) {
    EXPECT_EQ(registry_.urls[i].find("/blobs/"), std::string::npos) << registry_.urls[i];
  }
}

TEST_F(DistributionInspectTest, ByDigestAnswersThatDigest) {
  const std::string body =
      registry_.AddImage("4", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  auto info = Inspect("reg.test/team/app:ignored@" + Digest(body));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, Digest(body));
  EXPECT_EQ(info->size, static_cast<int64_t>(body.size()));
  EXPECT_EQ(registry_.urls.back().find("/manifests/ignored"), std::string::npos);
}

TEST_F(DistributionInspectTest, UnknownTagIsDockersManifestUnknown) {
  auto info = Inspect("reg.test/team/app:nope");
  EXPECT_TRUE(absl::IsNotFound(info.status())) << info.status();
  EXPECT_EQ(info.status().message(), "manifest unknown: manifest unknown");
}

TEST_F(DistributionInspectTest, RefusedCredentialsAreUnauthenticated) {
  registry_.AddImage("5", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  RegistryAuth wrong = Alice();
  wrong.password = SecretBytes::CopyFrom("nope");
  auto refused = Inspect("reg.test/team/app:5", wrong);
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status())) << refused.status();
  EXPECT_EQ(refused.status().message(), "unauthorized: authentication required");
}

// Docker answers 500 when it had no credentials to give (a HEAD for a tag, a GET for a digest).
TEST_F(DistributionInspectTest, NoCredentialsIsAnUnknownErrorWithDockersText) {
  const std::string body =
      registry_.AddImage("5", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  auto by_tag = Inspect("reg.test/team/app:5", RegistryAuth{});
  EXPECT_EQ(by_tag.status().code(), absl::StatusCode::kUnknown) << by_tag.status();
  EXPECT_EQ(by_tag.status().message(),
            "Head \"https://reg.test/v2/team/app/manifests/5\": no basic auth credentials");
  auto by_digest = Inspect("reg.test/team/app@" + Digest(body), RegistryAuth{});
  EXPECT_EQ(by_digest.status().message(), "Get \"https://reg.test/v2/team/app/manifests/" +
                                              Digest(body) + "\": no basic auth credentials");
}

TEST_F(DistributionInspectTest, UnreachableRegistryIsAnUnknownErrorNamingTheUrl) {
  registry_.down = true;
  auto info = Inspect("reg.test/team/app:1");
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnknown) << info.status();
  EXPECT_EQ(info.status().message(),
            "Get \"https://reg.test/v2/team/app/manifests/1\": dial tcp reg.test:443: connect: "
            "connection refused");
}

TEST_F(DistributionInspectTest, SchemaOneAndUnknownMediaTypesAreRefused) {
  registry_.manifests["v1"] = {"application/vnd.docker.distribution.manifest.v1+prettyjws",
                               R"({"schemaVersion":1,"name":"team/app"})"};
  EXPECT_TRUE(absl::IsInvalidArgument(Inspect("reg.test/team/app:v1").status()));
  registry_.manifests["odd"] = {"application/x-odd", R"({"schemaVersion":2})"};
  auto odd = Inspect("reg.test/team/app:odd");
  EXPECT_EQ(odd.status().message(),
            "unsupported manifest media type and no default available: application/x-odd");
}

// ---- DistributionResolver -----------------------------------------------------------------

// A store that knows a few images by name.
class FakeStore : public ImageStore {
 public:
  std::map<std::string, ImageInfo> images;  // "name:tag" → info
  StatusOr<ImageInfo> Import(ChunkSource, const std::string&,
                             const std::vector<std::string>&) override {
    return absl::UnimplementedError("fake");
  }
  StatusOr<std::vector<ImageInfo>> Load(ChunkSource) override {
    return absl::UnimplementedError("fake");
  }
  std::vector<ImageInfo> List() const override { return {}; }
  StatusOr<ImageInfo> Inspect(const std::string& ref) const override {
    auto it = images.find(ref);
    if (it == images.end()) return absl::NotFoundError("No such image: " + ref);
    return it->second;
  }
  StatusOr<std::string> RootfsPath(const std::string& ref) const override {
    return absl::NotFoundError("No such image: " + ref);
  }
  StatusOr<std::vector<std::pair<std::string, std::string>>> Remove(const std::string&,
                                                                    bool) override {
    return absl::UnimplementedError("fake");
  }
};

class DistributionResolverTest : public DistributionInspectTest {
 protected:
  FakeStore store_;
  DistributionResolver resolver_{store_, registry_, options_};
};

TEST_F(DistributionResolverTest, ImportedImageIsTheNodesOwnAndNoRegistryIsAsked) {
  store_.images["busybox:latest"] = ImageInfo{};
  store_.images["reg.test/team/app:local"] = ImageInfo{};
  for (const char* name : {"busybox", "busybox:latest", "docker.io/library/busybox:latest",
                           "reg.test/team/app:local"}) {
    auto info = resolver_.Resolve(name, Alice());
    ASSERT_TRUE(info.ok()) << name << ": " << info.status();
    EXPECT_FALSE(info->resolved) << name;
    EXPECT_TRUE(info->digest.empty()) << name;
  }
  EXPECT_TRUE(registry_.urls.empty());
}

TEST_F(DistributionResolverTest, PulledImageIsResolvedOnItsRegistry) {
  const std::string body =
      registry_.AddImage("1", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  ImageInfo pulled;
  pulled.repo_digests = {"reg.test/team/app@" + Digest(body)};
  store_.images["reg.test/team/app:1"] = pulled;
  auto info = resolver_.Resolve("reg.test/team/app:1", Alice());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->resolved);
  EXPECT_EQ(info->digest, Digest(body));
  EXPECT_FALSE(registry_.urls.empty());
}

TEST_F(DistributionResolverTest, NameMissingLocallyIsAskedOfItsRegistry) {
  const std::string body =
      registry_.AddImage("9", kDockerManifest, {{"architecture", "amd64"}, {"os", "linux"}});
  auto info = resolver_.Resolve("reg.test/team/app:9", Alice());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, Digest(body));
  EXPECT_EQ(registry_.urls.front(), "https://reg.test/v2/team/app/manifests/9");
}

TEST_F(DistributionResolverTest, BareImageIdAndBadNamesGetDockersErrors) {
  auto id = resolver_.Resolve("sha256:" + std::string(64, 'e'), Alice());
  EXPECT_EQ(id.status().message(), "no manifest found for full image ID");
  auto bare = resolver_.Resolve(std::string(64, 'e'), Alice());
  EXPECT_EQ(bare.status().message(), "no manifest found for full image ID");
  auto bad = resolver_.Resolve("Bad//Name", Alice());
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_TRUE(registry_.urls.empty());
}

}  // namespace
}  // namespace capsule::agent::registry
