// The pieces of a pull: references, auth challenges, manifests and platform selection,
// progress messages, decompression, credential decoding, registry error texts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/registry/auth_challenge.h"
#include "agent/registry/compress_test_util.h"
#include "agent/registry/decompress.h"
#include "agent/registry/manifest.h"
#include "agent/registry/progress.h"
#include "agent/registry/pull_reference.h"
#include "agent/registry/registry_auth.h"
#include "agent/registry/registry_client.h"

namespace capsule::agent::registry {
namespace {

using nlohmann::json;

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(PullReferenceTest, DockerHubNamesGetLibraryPrefixAndLatest) {
  auto r = ParsePullReference("busybox");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->domain, "docker.io");
  EXPECT_EQ(r->path, "library/busybox");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->Familiar(), "busybox");
  EXPECT_EQ(r->String(), "docker.io/library/busybox:latest");
  auto team = ParsePullReference("docker.io/team/app", "1.0");
  ASSERT_TRUE(team.ok());
  EXPECT_EQ(team->path, "team/app");
  EXPECT_EQ(team->TagRef(), "team/app:1.0");
}

TEST(PullReferenceTest, RegistryWithPortTagAndDigest) {
  auto r = ParsePullReference("127.0.44.1:5000/team/db:1.4@" + kDigest);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->domain, "127.0.44.1:5000");
  EXPECT_EQ(r->path, "team/db");
  EXPECT_EQ(r->tag, "1.4");
  EXPECT_EQ(r->digest, kDigest);
  EXPECT_EQ(r->ManifestRef(), kDigest);
  EXPECT_EQ(r->Familiar(), "127.0.44.1:5000/team/db");
  EXPECT_EQ(r->DigestRef(kDigest), "127.0.44.1:5000/team/db@" + kDigest);
}

TEST(PullReferenceTest, TagParameterMayBeADigest) {
  auto r = ParsePullReference("localhost/x", kDigest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "localhost");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest, kDigest);
  auto tagged = ParsePullReference("host:5000/x", "v2");
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->tag, "v2");
}

TEST(PullReferenceTest, RejectsBadReferencesWithDockersText) {
  const std::vector<std::string> bad_refs = {
      "", "x@sha256:abc", "x:", "x::1", "-x", "a//b", "x@md5:" + std::string(32, 'a')};
  for (const std::string& bad : bad_refs) {
    auto r = ParsePullReference(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), "invalid reference format") << bad;
  }
  EXPECT_EQ(ParsePullReference("Host:5000/Team").status().message(),
            "invalid reference format: repository name must be lowercase");
}

TEST(AuthChallengeTest, ParsesBearerWithQuotedParams) {
  auto c = ParseAuthChallenges(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/db:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(c[0].params["service"], "registry.example");
  EXPECT_EQ(c[0].params["scope"], "repository:team/db:pull");
}

TEST(AuthChallengeTest, ParsesBasicAndSeveralChallenges) {
  auto c = ParseAuthChallenges(
      R"(Basic realm="Registry Realm", Bearer realm="a\"b", error=invalid_token)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry Realm");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params["realm"], "a\"b");
  EXPECT_EQ(c[1].params["error"], "invalid_token");
}

TEST(AuthChallengeTest, MalformedHeadersNeverFail) {
  EXPECT_TRUE(ParseAuthChallenges("").empty());
  EXPECT_EQ(ParseAuthChallenges("Basic").size(), 1u);
  EXPECT_EQ(ParseAuthChallenges(R"(Bearer realm="unterminated)").size(), 1u);
  EXPECT_TRUE(ParseAuthChallenges("=== ,,,").empty());
}

std::string Desc(const std::string& type, const std::string& digest, int size,
                 const std::string& platform = "") {
  json d{{"mediaType", type}, {"digest", digest}, {"size", size}};
  if (!platform.empty()) {
    const size_t s1 = platform.find('/');
    const size_t s2 = platform.find('/', s1 + 1);
    d["platform"] = {
        {"os", platform.substr(0, s1)},
        {"architecture",
         platform.substr(s1 + 1, s2 == std::string::npos ? std::string::npos : s2 - s1 - 1)}};
    if (s2 != std::string::npos) d["platform"]["variant"] = platform.substr(s2 + 1);
  }
  return d.dump();
}

TEST(ManifestTest, ParsesDockerSchema2) {
  const std::string body =
      R"({"schemaVersion":2,"mediaType":")" + std::string(kDockerManifest) + R"(","config":)" +
      Desc("application/vnd.docker.container.image.v1+json", kDigest, 10) + R"(,"layers":[)" +
      Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", kDigest, 20) + "]}";
  auto m = ParseManifest(body, "");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->config.size, 10);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest, kDigest);
}

TEST(ManifestTest, OciManifestTypeFromContentType) {
  const std::string body = R"({"schemaVersion":2,"config":)" +
                           Desc("application/vnd.oci.image.config.v1+json", kDigest, 1) +
                           R"(,"layers":[)" +
                           Desc("application/vnd.oci.image.layer.v1.tar+zstd", kDigest, 2) + "]}";
  auto m = ParseManifest(body, std::string(kOciManifest) + "; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*LayerCompression(m->layers[0].media_type), Compression::kZstd);
}

TEST(ManifestTest, RefusesSchema1UnknownLayersAndBadDigests) {
  EXPECT_FALSE(ParseManifest(R"({"schemaVersion":1,"fsLayers":[]})", "").ok());
  const std::string foreign =
      R"({"schemaVersion":2,"config":)" + Desc("x", kDigest, 1) + R"(,"layers":[)" +
      Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", kDigest, 2) + "]}";
  EXPECT_FALSE(ParseManifest(foreign, kDockerManifest).ok());
  const std::string bad_digest =
      R"({"schemaVersion":2,"config":)" + Desc("x", "sha256:xyz", 1) + R"(,"layers":[]})";
  EXPECT_FALSE(ParseManifest(bad_digest, kDockerManifest).ok());
  EXPECT_FALSE(ParseManifest("[]", "").ok());
}

Manifest IndexOf(const std::vector<std::string>& platforms) {
  std::string body =
      R"({"schemaVersion":2,"mediaType":")" + std::string(kOciIndex) + R"(","manifests":[)";
  for (size_t i = 0; i < platforms.size(); ++i) {
    if (i) body += ",";
    body += Desc(kOciManifest, "sha256:" + std::string(64, static_cast<char>('0' + i)), 1,
                 platforms[i]);
  }
  body += "]}";
  return *ParseManifest(body, "");
}

TEST(ManifestTest, SelectsTheNodesPlatformFromAnIndex) {
  Manifest index = IndexOf({"linux/arm64/v8", "linux/amd64", "windows/amd64", "linux/arm/v7"});
  Platform amd64{"linux", "amd64", ""};
  auto d = SelectPlatform(index, amd64);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest, "sha256:" + std::string(64, '1'));
  auto arm = SelectPlatform(index, Platform{"linux", "arm", "v7"});
  ASSERT_TRUE(arm.ok());
  EXPECT_EQ(arm->digest, "sha256:" + std::string(64, '3'));
  auto arm64 = SelectPlatform(IndexOf({"linux/arm64"}), Platform{"linux", "arm64", "v8"});
  EXPECT_TRUE(arm64.ok());
}

TEST(ManifestTest, NoMatchingPlatformIsDockersError) {
  auto d = SelectPlatform(IndexOf({"linux/arm64/v8"}), Platform{"linux", "amd64", ""});
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::IsNotFound(d.status()));
  EXPECT_EQ(d.status().message(),
            "no matching manifest for linux/amd64 in the manifest list entries");
}

TEST(ProgressTest, MessagesHaveDockersShapes) {
  EXPECT_EQ(StatusMessage("Pulling from team/db", "1.4"),
            R"({"id":"1.4","status":"Pulling from team/db"})");
  EXPECT_EQ(LayerMessage("Pull complete", "0123456789ab"),
            R"({"id":"0123456789ab","progressDetail":{},"status":"Pull complete"})");
  json p = json::parse(ProgressMessage("Downloading", "0123456789ab", 500000, 1000000));
  EXPECT_EQ(p["progressDetail"]["current"], 500000);
  EXPECT_EQ(p["progressDetail"]["total"], 1000000);
  EXPECT_EQ(p["status"], "Downloading");
  EXPECT_EQ(p["progress"],
            "[" + std::string(25, '=') + ">" + std::string(25, ' ') + "]    500kB/1MB");
  json e = json::parse(ErrorMessage("boom"));
  EXPECT_EQ(e["error"], "boom");
  EXPECT_EQ(e["errorDetail"]["message"], "boom");
  EXPECT_EQ(ShortDigest(kDigest), "aaaaaaaaaaaa");
  EXPECT_EQ(HumanSize(32768), "32.77kB");
  EXPECT_EQ(HumanSize(512), "512B");
}

std::string Drain(ChunkSource src, Status* status) {
  std::string out;
  for (;;) {
    StatusOr<std::string_view> p = src();
    if (!p.ok()) {
      *status = p.status();
      return out;
    }
    if (p->empty()) return out;
    out.append(*p);
  }
}

ChunkSource Pieces(std::shared_ptr<std::string> data, size_t piece) {
  auto pos = std::make_shared<size_t>(0);
  return [data, piece, pos]() -> StatusOr<std::string_view> {
    const size_t n = std::min(piece, data->size() - *pos);
    std::string_view v(data->data() + *pos, n);
    *pos += n;
    return v;
  };
}

using test_compress::Gzip;
using test_compress::Zstd;

std::string BigText() {
  std::string s;
  for (int i = 0; i < 200000; ++i) s += std::to_string(i * 7919 % 1000003) + ",";
  return s;
}

TEST(DecompressTest, GzipAndZstdRoundTripInSmallPieces) {
  const std::string plain = BigText();
  for (Compression kind : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    auto packed = std::make_shared<std::string>(kind == Compression::kGzip   ? Gzip(plain)
                                                : kind == Compression::kZstd ? Zstd(plain)
                                                                             : plain);
    EXPECT_EQ(SniffCompression(*packed), kind);
    Status st;
    EXPECT_EQ(Drain(Decompress(Pieces(packed, 1000), kind), &st), plain);
    EXPECT_TRUE(st.ok()) << st;
  }
}

TEST(DecompressTest, TruncatedOrCorruptStreamsFail) {
  const std::string plain = BigText();
  for (Compression kind : {Compression::kGzip, Compression::kZstd}) {
    const std::string packed = kind == Compression::kGzip ? Gzip(plain) : Zstd(plain);
    Status st;
    Drain(
        Decompress(Pieces(std::make_shared<std::string>(packed.substr(0, packed.size() / 2)), 4096),
                   kind),
        &st);
    EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
    std::string corrupt = packed;
    for (size_t i = 20; i < 60; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    Status st2;
    Drain(Decompress(Pieces(std::make_shared<std::string>(corrupt), 4096), kind), &st2);
    EXPECT_FALSE(st2.ok());
  }
}

TEST(RegistryAuthTest, DecodesXRegistryAuthBase64Url) {
  const std::string json_text =
      R"({"username":"alice","password":"s3cr?t>>","serveraddress":"127.0.44.1:5000"})";
  std::string b64 = Base64(json_text);
  for (char& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  auto a = DecodeRegistryAuthHeader(b64);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->username, "alice");
  EXPECT_EQ(a->password.view(), "s3cr?t>>");
  EXPECT_EQ(a->server_address, "127.0.44.1:5000");
  EXPECT_TRUE(DecodeRegistryAuthHeader("")->empty());
  EXPECT_FALSE(DecodeRegistryAuthHeader("!!!").ok());
}

TEST(RegistryAuthTest, AuthFieldCarriesUserAndPassword) {
  auto a = ParseAuthConfig(R"({"auth":")" + Base64("bob:pw:with:colons") + R"("})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->username, "bob");
  EXPECT_EQ(a->password.view(), "pw:with:colons");
}

TEST(RegistryErrorTextTest, ErrcodeJsonAsDockerPrintsIt) {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]})";
  EXPECT_EQ(RegistryErrorText(r), "manifest unknown: manifest unknown");
  r.status = 401;
  r.body = "";
  EXPECT_EQ(RegistryErrorText(r), "unauthorized: authentication required");
  r.status = 502;
  EXPECT_EQ(RegistryErrorText(r), "received unexpected HTTP status: 502 Bad Gateway");
}

TEST(RegistryBaseUrlTest, HttpsUnlessNamedInsecure) {
  RegistryOptions o;
  o.insecure = {"127.0.44.2:5000", "plain.example"};
  EXPECT_EQ(RegistryBaseUrl("127.0.44.1:5000", o), "https://127.0.44.1:5000");
  EXPECT_EQ(RegistryBaseUrl("127.0.44.2:5000", o), "http://127.0.44.2:5000");
  EXPECT_EQ(RegistryBaseUrl("plain.example:8080", o), "http://plain.example:8080");
  EXPECT_EQ(RegistryBaseUrl("docker.io", o), "https://registry-1.docker.io");
}

}  // namespace
}  // namespace capsule::agent::registry
