// Every code secret.h documents for SecretApi, with swarmkit's exact message.
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;
using testing::Case;
using testing::RunCases;

constexpr auto kOk = StatusCode::kOk;
constexpr auto kInvalid = StatusCode::kInvalidArgument;
constexpr char kBadName[] =
    "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character "
    "must be [a-zA-Z0-9]";
constexpr char kBadSize[] = "secret data must be larger than 0 and less than 512000 bytes";

SecretSpec Spec(const std::string& name, std::string_view data) {
  SecretSpec spec;
  spec.name = name;
  spec.data = SecretBytes::CopyFrom(data);
  return spec;
}

Status Create(ApiTestEnv& env, SecretSpec spec) { return env.secrets.Create(spec).status(); }

TEST(SecretCodes, Create) {
  RunCases({
      {"a valid secret", [](ApiTestEnv& env) { return Create(env, Spec("pw", "x")); }, kOk, ""},
      {"no name", [](ApiTestEnv& env) { return Create(env, Spec("", "x")); }, kInvalid,
       "name must be provided"},
      {"a name starting with a dash", [](ApiTestEnv& env) { return Create(env, Spec("-pw", "x")); },
       kInvalid, kBadName},
      {"a name of 65 characters",
       [](ApiTestEnv& env) { return Create(env, Spec(std::string(65, 'a'), "x")); }, kInvalid,
       kBadName},
      {"no data",
       [](ApiTestEnv& env) {
         SecretSpec spec = Spec("pw", "x");
         spec.data.reset();
         return Create(env, std::move(spec));
       },
       kInvalid, kBadSize},
      {"empty data", [](ApiTestEnv& env) { return Create(env, Spec("pw", "")); }, kInvalid,
       kBadSize},
      {"data of 512000 bytes",
       [](ApiTestEnv& env) { return Create(env, Spec("pw", std::string(512000, 'x'))); }, kInvalid,
       kBadSize},
      {"data of 511999 bytes",
       [](ApiTestEnv& env) { return Create(env, Spec("pw", std::string(511999, 'x'))); }, kOk, ""},
      {"a driver",
       [](ApiTestEnv& env) {
         SecretSpec spec = Spec("pw", "x");
         spec.driver = Driver{"vault", {}};
         return Create(env, std::move(spec));
       },
       kInvalid, "secret drivers are not supported: vault"},
      {"a name taken in another case",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         return Create(env, Spec("PW", "y"));
       },
       StatusCode::kAlreadyExists, "secret PW already exists"},
  });
}

TEST(SecretCodes, Update) {
  RunCases({
      {"new labels at the current version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutSecret("sec1", "pw", "s3cr3t");
         SecretSpec spec = Spec("pw", "s3cr3t");  // identical data is accepted
         spec.labels = {{"a", "b"}};
         return env.secrets.Update("sec1", v, spec);
       },
       kOk, ""},
      {"another name",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutSecret("sec1", "pw", "s3cr3t");
         return env.secrets.Update("sec1", v, Spec("pw2", "s3cr3t"));
       },
       kInvalid, "only updates to Labels are allowed"},
      {"other data",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutSecret("sec1", "pw", "s3cr3t");
         return env.secrets.Update("sec1", v, Spec("pw", "other"));
       },
       kInvalid, "only updates to Labels are allowed"},
      {"a missing secret",
       [](ApiTestEnv& env) { return env.secrets.Update("nope", 1, Spec("pw", "x")); },
       StatusCode::kNotFound, "secret nope not found"},
      {"a stale version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutSecret("sec1", "pw", "s3cr3t");
         EXPECT_TRUE(env.secrets.Update("sec1", v, Spec("pw", "s3cr3t")).ok());
         return env.secrets.Update("sec1", v, Spec("pw", "s3cr3t"));
       },
       StatusCode::kUnknown, "update out of sequence"},
      {"version 0",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "s3cr3t");
         return env.secrets.Update("sec1", 0, Spec("pw", "s3cr3t"));
       },
       StatusCode::kUnknown, "update out of sequence"},
  });
}

TEST(SecretCodes, UpdateChangesOnlyTheLabels) {
  ApiTestEnv env;
  const int64_t v = env.PutSecret("sec1", "pw", "s3cr3t");
  SecretSpec spec;
  spec.name = "pw";
  spec.labels = {{"team", "a"}};
  ASSERT_TRUE(env.secrets.Update("sec1", v, spec).ok());
  StatusOr<store::StoredRecord> got = env.store.Get(kSecretsKind, "sec1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->record.data.view(), "s3cr3t");
  EXPECT_EQ(DecodeSecretMeta(got->record.meta)->labels, (Labels{{"team", "a"}}));
}

Service UsingSecret(const std::string& id, const std::string& name) {
  Service s;
  s.id = "svc-" + name;
  s.spec.name = name;
  SecretReference ref;
  ref.secret_id = id;
  ref.secret_name = "pw";
  s.spec.task_template.container.secrets = {ref};
  return s;
}

TEST(SecretCodes, Remove) {
  RunCases({
      {"an unused secret",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         return env.secrets.Remove("sec1");
       },
       kOk, ""},
      {"a missing secret", [](ApiTestEnv& env) { return env.secrets.Remove("nope"); },
       StatusCode::kNotFound, "secret nope not found"},
      {"a secret one service uses",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         env.PutService(UsingSecret("sec1", "web"));
         return env.secrets.Remove("sec1");
       },
       kInvalid, "secret 'pw' is in use by the following service: web"},
      {"a secret two services use",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         env.PutService(UsingSecret("sec1", "web"));
         env.PutService(UsingSecret("sec1", "db"));
         return env.secrets.Remove("sec1");
       },
       kInvalid, "secret 'pw' is in use by the following services: db, web"},
  });
}

TEST(SecretCodes, RemoveFreesTheName) {
  ApiTestEnv env;
  env.PutSecret("sec1", "pw", "x");
  ASSERT_TRUE(env.secrets.Remove("sec1").ok());
  EXPECT_EQ(env.store.Get(kSecretsKind, "sec1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(env.secrets.Create(Spec("pw", "y")).ok());
}

}  // namespace
}  // namespace capsule::controlapi
