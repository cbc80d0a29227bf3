// The image routes through the router, with a real image store in a temp directory behind
// the node's adapter (api_adapters.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/images/tar_test_util.h"
#include "dockerapi/routes.h"
#include "node/api_adapters.h"

namespace capsule::dockerapi {
namespace {

using nlohmann::json;

class ImagesBackend : public Backend {
 public:
  explicit ImagesBackend(NodeImages* images) : images_(images) {}
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    return absl::UnavailableError("not a manager");
  }
  std::string Hostname() const override { return "test"; }
  NodeImages* Images() const override { return images_; }

 private:
  NodeImages* images_;
};

class ImageRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-image-routes-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_ = *agent::NewImageStore(dir_ + "/images");
    images_ = node::NewApiImages(*store_);
    backend_ = std::make_unique<ImagesBackend>(images_.get());
    RegisterImageRoutes(router_, *backend_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  http::Response Call(const std::string& method, const std::string& path,
                      std::map<std::string, std::vector<std::string>> query = {},
                      std::string body = "") {
    http::Request r;
    r.method = method;
    r.path = path;
    for (auto& [k, v] : query) {
      r.query[k] = v.back();
      r.query_all[k] = v;
    }
    r.body = std::move(body);
    return router_.Dispatch(r);
  }

  std::string dir_;
  std::unique_ptr<agent::ImageStore> store_;
  std::unique_ptr<NodeImages> images_;
  std::unique_ptr<ImagesBackend> backend_;
  http::Router router_;
};

std::string Rootfs() {
  return agent::testing::TarBuilder().File("bin/busybox", "bb", 0755).Finish();
}

TEST_F(ImageRoutesTest, ImportAnswersTheIdAsAJsonMessage) {
  auto r = Call("POST", "/v1.41/images/create",
                {{"fromSrc", {"-"}},
                 {"repo", {"127.0.0.1:5000/capsule/busybox:1"}},
                 {"changes", {"ENV PATH=/bin", "CMD [\"sh\"]"}}},
                Rootfs());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.body.substr(r.body.size() - 2), "\r\n");
  const json msg = json::parse(r.body);
  const std::string id = msg["status"];
  EXPECT_EQ(id.substr(0, 7), "sha256:");

  auto inspect = Call("GET", "/images/127.0.0.1:5000/capsule/busybox:1/json");
  ASSERT_EQ(inspect.status, 200) << inspect.body;
  const json i = json::parse(inspect.body);
  EXPECT_EQ(i["Id"], id);
  EXPECT_EQ(i["RepoTags"], json({"127.0.0.1:5000/capsule/busybox:1"}));
  EXPECT_EQ(i["Config"]["Env"], json({"PATH=/bin"}));
  EXPECT_EQ(i["Config"]["Cmd"], json({"sh"}));
  EXPECT_EQ(i["RootFS"]["Layers"].size(), 1u);

  auto list = Call("GET", "/images/json");
  ASSERT_EQ(list.status, 200);
  const json l = json::parse(list.body);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["Id"], id);
  EXPECT_TRUE(l[0]["Created"].is_number_integer());
  EXPECT_EQ(l[0]["Size"], 2);
}

TEST_F(ImageRoutesTest, PullIsRefusedAndBadArchivesAre400) {
  auto pull = Call("POST", "/images/create", {{"fromImage", {"busybox"}}, {"tag", {"latest"}}});
  EXPECT_EQ(pull.status, 400);
  EXPECT_EQ(json::parse(pull.body)["message"],
            "pulling images is not supported: import or load the image on each node");
  auto bad = Call("POST", "/images/create", {{"fromSrc", {"-"}}, {"repo", {"x:1"}}},
                  Rootfs().substr(0, 700));
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto change =
      Call("POST", "/images/create", {{"fromSrc", {"-"}}, {"changes", {"EXPOSE 80"}}}, Rootfs());
  EXPECT_EQ(json::parse(change.body)["message"], "EXPOSE is not a valid change command");
}

TEST_F(ImageRoutesTest, LoadAnswersLoadedImage) {
  const std::string config = R"({"config":{"Env":["A=1"]},"created":"2026-11-28T00:00:00Z"})";
  const json manifest =
      json::array({{{"Config", "c.json"}, {"RepoTags", {"saved:1"}}, {"Layers", {"l/layer.tar"}}}});
  const std::string archive = agent::testing::TarBuilder()
                                  .File("l/layer.tar", Rootfs())
                                  .File("c.json", config)
                                  .File("manifest.json", manifest.dump())
                                  .Finish();
  auto r = Call("POST", "/images/load", {{"quiet", {"1"}}}, archive);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"stream\":\"Loaded image: saved:1\\n\"}\r\n");
  EXPECT_EQ(
      r.headers,
      (std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}}));
}

TEST_F(ImageRoutesTest, DeleteAnd404) {
  ASSERT_EQ(
      Call("POST", "/images/create", {{"fromSrc", {"-"}}, {"repo", {"a/b:1"}}}, Rootfs()).status,
      200);
  auto del = Call("DELETE", "/images/a/b:1");
  ASSERT_EQ(del.status, 200) << del.body;
  const json d = json::parse(del.body);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0]["Untagged"], "a/b:1");
  EXPECT_TRUE(d[1].contains("Deleted"));
  auto missing = Call("DELETE", "/images/a/b:1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["message"], "No such image: a/b:1");
  EXPECT_EQ(Call("GET", "/images/nope/json").status, 404);
}

TEST_F(ImageRoutesTest, DistributionAlwaysAnswersWithoutDigest) {
  auto r = Call("GET", "/v1.41/distribution/127.0.0.1:5000/capsule/busybox:1/json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"Descriptor":{},"Platforms":[]})"));
}

}  // namespace
}  // namespace capsule::dockerapi
