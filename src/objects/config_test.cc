// A config's store encoding and API JSON (objects.h).
#include <gtest/gtest.h>

#include "objects/objects.h"

namespace capsule {
namespace {

Config Sample() {
  Config c;
  c.id = "ktnb1";
  c.created_at = FromUnixNanos(1'700'000'000'000'000'000);
  c.updated_at = FromUnixNanos(1'700'000'001'000'000'000);
  c.name = "app.conf";
  c.labels = {{"team", "a"}};
  c.templating = Driver{"golang", {}};
  return c;
}

TEST(ConfigObject, StoreRoundTrip) {
  const Config c = Sample();
  StatusOr<Config> back = DecodeConfigMeta(EncodeConfigMeta(c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->name, c.name);
  EXPECT_EQ(back->labels, c.labels);
  EXPECT_EQ(back->created_at, c.created_at);
  EXPECT_EQ(back->updated_at, c.updated_at);
  ASSERT_TRUE(back->templating.has_value());
  EXPECT_EQ(back->templating->name, "golang");
}

TEST(ConfigObject, DecodeRejectsGarbage) {
  EXPECT_EQ(DecodeConfigMeta("{").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(DecodeConfigMeta(R"({"ID":"x"})").status().message(),
            "stored config object is malformed");
}

TEST(ConfigObject, RendersLikeDockerWithData) {
  Config c = Sample();
  c.templating.reset();
  EXPECT_EQ(RenderConfig(c, 42, "cG9ydD04MAo="),
            R"({"ID":"ktnb1","Version":{"Index":42},"CreatedAt":"2023-11-14T22:13:20Z",)"
            R"("UpdatedAt":"2023-11-14T22:13:21Z","Spec":{"Name":"app.conf",)"
            R"("Labels":{"team":"a"},"Data":"cG9ydD04MAo="}})");
}

TEST(ConfigObject, SecretsStillRenderWithoutData) {
  Secret s;
  s.id = "s1";
  s.name = "pw";
  s.driver = Driver{"vault", {}};
  const std::string j = RenderSecret(s, 1);
  EXPECT_EQ(j.find("Data"), std::string::npos);
  EXPECT_NE(j.find(R"("Driver":{"Name":"vault"})"), std::string::npos);
}

}  // namespace
}  // namespace capsule
