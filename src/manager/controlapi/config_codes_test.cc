// Every code config.h documents for ConfigApi, with swarmkit's exact message, and what
// differs from secrets: the size limit, the data in inspect and list, Runtime references.
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;
using testing::RunCases;
using testing::ServiceUsingConfig;

constexpr auto kOk = StatusCode::kOk;
constexpr auto kInvalid = StatusCode::kInvalidArgument;
constexpr char kBadSize[] = "config data must be larger than 0 and less than 1024000 bytes";

ConfigSpec Spec(const std::string& name, std::string_view data) {
  ConfigSpec spec;
  spec.name = name;
  spec.data = SecretBytes::CopyFrom(data);
  return spec;
}

Status Create(ApiTestEnv& env, ConfigSpec spec) { return env.configs.Create(spec).status(); }

TEST(ConfigCodes, Create) {
  RunCases({
      {"a valid config", [](ApiTestEnv& env) { return Create(env, Spec("app.conf", "x")); }, kOk,
       ""},
      {"no name", [](ApiTestEnv& env) { return Create(env, Spec("", "x")); }, kInvalid,
       "name must be provided"},
      {"a name ending with a dot", [](ApiTestEnv& env) { return Create(env, Spec("app.", "x")); },
       kInvalid,
       "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character "
       "must be [a-zA-Z0-9]"},
      {"no data",
       [](ApiTestEnv& env) {
         ConfigSpec spec = Spec("app.conf", "x");
         spec.data.reset();
         return Create(env, std::move(spec));
       },
       kInvalid, kBadSize},
      {"data of 1024000 bytes",
       [](ApiTestEnv& env) { return Create(env, Spec("big", std::string(1024000, 'x'))); },
       kInvalid, kBadSize},
      {"data of 1023999 bytes (more than a secret may hold)",
       [](ApiTestEnv& env) { return Create(env, Spec("big", std::string(1023999, 'x'))); }, kOk,
       ""},
      {"a name taken in another case",
       [](ApiTestEnv& env) {
         env.PutConfig("cfg1", "app.conf", "x");
         return Create(env, Spec("APP.conf", "y"));
       },
       StatusCode::kAlreadyExists, "config APP.conf already exists"},
      {"the name of a secret (another kind)",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "app.conf", "x");
         return Create(env, Spec("app.conf", "y"));
       },
       kOk, ""},
  });
}

TEST(ConfigCodes, Update) {
  RunCases({
      {"new labels with identical data",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutConfig("cfg1", "app.conf", "port=80");
         ConfigSpec spec = Spec("app.conf", "port=80");
         spec.labels = {{"a", "b"}};
         return env.configs.Update("cfg1", v, spec);
       },
       kOk, ""},
      {"other data",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutConfig("cfg1", "app.conf", "port=80");
         return env.configs.Update("cfg1", v, Spec("app.conf", "port=81"));
       },
       kInvalid, "only updates to Labels are allowed"},
      {"another name",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutConfig("cfg1", "app.conf", "port=80");
         return env.configs.Update("cfg1", v, Spec("other", "port=80"));
       },
       kInvalid, "only updates to Labels are allowed"},
      {"a missing config",
       [](ApiTestEnv& env) { return env.configs.Update("nope", 1, Spec("app.conf", "x")); },
       StatusCode::kNotFound, "config nope not found"},
      {"a stale version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutConfig("cfg1", "app.conf", "x");
         EXPECT_TRUE(env.configs.Update("cfg1", v, Spec("app.conf", "x")).ok());
         return env.configs.Update("cfg1", v, Spec("app.conf", "x"));
       },
       StatusCode::kUnknown, "update out of sequence"},
  });
}

TEST(ConfigCodes, Remove) {
  RunCases({
      {"an unused config",
       [](ApiTestEnv& env) {
         env.PutConfig("cfg1", "app.conf", "x");
         return env.configs.Remove("cfg1");
       },
       kOk, ""},
      {"a missing config", [](ApiTestEnv& env) { return env.configs.Remove("nope"); },
       StatusCode::kNotFound, "config nope not found"},
      {"a config one service uses",
       [](ApiTestEnv& env) {
         env.PutConfig("cfg1", "app.conf", "x");
         env.PutService(ServiceUsingConfig("svc1", "web", "cfg1"));
         return env.configs.Remove("cfg1");
       },
       kInvalid, "config 'app.conf' is in use by the following service: web"},
      {"a config two services use",
       [](ApiTestEnv& env) {
         env.PutConfig("cfg1", "app.conf", "x");
         env.PutService(ServiceUsingConfig("svc1", "web", "cfg1"));
         env.PutService(ServiceUsingConfig("svc2", "api", "cfg1"));
         return env.configs.Remove("cfg1");
       },
       kInvalid, "config 'app.conf' is in use by the following services: web, api"},
  });
}

TEST(ConfigCodes, Resolve) {
  RunCases({
      {"by name",
       [](ApiTestEnv& env) {
         env.PutConfig("abc1", "app.conf", "x");
         return env.configs.Resolve("app.conf").status();
       },
       kOk, ""},
      {"by a unique ID prefix",
       [](ApiTestEnv& env) {
         env.PutConfig("abc1", "app.conf", "x");
         return env.configs.Resolve("ab").status();
       },
       kOk, ""},
      {"an ambiguous prefix",
       [](ApiTestEnv& env) {
         env.PutConfig("abc1", "one", "x");
         env.PutConfig("abc2", "two", "x");
         return env.configs.Resolve("abc").status();
       },
       kInvalid, "config abc is ambiguous (2 matches found)"},
      {"a secret's name is not a config",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         return env.configs.Resolve("pw").status();
       },
       StatusCode::kNotFound, "config pw not found"},
  });
}

TEST(ConfigCodes, InspectReturnsTheDataAndVersion) {
  ApiTestEnv env;
  const int64_t v = env.PutConfig("cfg1", "app.conf", "port=80\n");
  StatusOr<ConfigWithData> c = env.configs.Inspect("app.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->config.id, "cfg1");
  EXPECT_EQ(c->version, v);
  EXPECT_EQ(c->data.view(), "port=80\n");
}

TEST(ConfigCodes, ListFiltersAndCarriesData) {
  ApiTestEnv env;
  env.PutConfig("c1", "app.conf", "one");
  env.PutConfig("c2", "db.conf", "two");
  env.PutSecret("s1", "app.secret", "hidden");
  StatusOr<std::vector<ConfigWithData>> all = env.configs.List({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].data.view(), "one");
  EXPECT_EQ((*all)[1].data.view(), "two");
  StatusOr<std::vector<ConfigWithData>> app = env.configs.List({.name_prefixes = {"APP"}});
  ASSERT_TRUE(app.ok());
  ASSERT_EQ(app->size(), 1u);
  EXPECT_EQ((*app)[0].config.name, "app.conf");
}

TEST(ConfigCodes, ServiceCreateChecksConfigReferences) {
  ApiTestEnv env;
  env.PutConfig("cfg1", "app.conf", "x");
  ServiceSpec ok = ServiceUsingConfig("", "web", "cfg1").spec;
  EXPECT_TRUE(env.services.Create(ok).ok());
  ServiceSpec missing = ServiceUsingConfig("", "web2", "nope").spec;
  Status s = env.services.Create(missing).status();
  EXPECT_EQ(s.code(), kInvalid);
  EXPECT_EQ(s.message(), "config not found: app.conf");
  ServiceSpec two = ServiceUsingConfig("", "web3", "nope").spec;
  ConfigReference other = two.task_template.container.configs[0];
  other.config_name = "b.conf";
  other.target = "/b";
  two.task_template.container.configs.push_back(other);
  EXPECT_EQ(env.services.Create(two).status().message(), "configs not found: app.conf, b.conf");
}

}  // namespace
}  // namespace capsule::controlapi
