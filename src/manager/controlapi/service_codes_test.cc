// Every code service.h documents for ServiceApi, with swarmkit's exact message (the spec
// rules themselves are tabled in service_validate_test.cc; here: that the API applies them,
// and the codes only the API can give).
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;
using testing::Case;
using testing::RunCases;

constexpr auto kOk = StatusCode::kOk;
constexpr auto kInvalid = StatusCode::kInvalidArgument;

ServiceSpec Spec(const std::string& name) {
  ServiceSpec spec;
  spec.name = name;
  spec.task_template.container.image = "busybox:1";
  return spec;
}

SecretReference Ref(const std::string& id, const std::string& name) {
  SecretReference ref;
  ref.secret_id = id;
  ref.secret_name = name;
  ref.has_file = true;
  ref.target = name;
  return ref;
}

Status Create(ApiTestEnv& env, ServiceSpec spec) {
  return env.services.Create(std::move(spec)).status();
}

TEST(ServiceCodes, Create) {
  RunCases({
      {"a valid service", [](ApiTestEnv& env) { return Create(env, Spec("web")); }, kOk, ""},
      {"a valid service using a secret",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         ServiceSpec spec = Spec("web");
         spec.task_template.container.secrets = {Ref("sec1", "pw")};
         return Create(env, spec);
       },
       kOk, ""},
      {"an invalid name", [](ApiTestEnv& env) { return Create(env, Spec("-web")); }, kInvalid,
       "name must be valid as a DNS name component"},
      {"no image",
       [](ApiTestEnv& env) {
         ServiceSpec spec = Spec("web");
         spec.task_template.container.image.clear();
         return Create(env, spec);
       },
       kInvalid, "ContainerSpec: image reference must be provided"},
      {"bad constraint syntax",
       [](ApiTestEnv& env) {
         ServiceSpec spec = Spec("web");
         spec.task_template.placement.constraints = {"node.hostname=w1"};
         return Create(env, spec);
       },
       StatusCode::kUnknown, "constraint expected one operator from ==, !="},
      {"an unknown secret",
       [](ApiTestEnv& env) {
         ServiceSpec spec = Spec("web");
         spec.task_template.container.secrets = {Ref("nope", "pw")};
         return Create(env, spec);
       },
       kInvalid, "secret not found: pw"},
      {"a secret under another name",
       [](ApiTestEnv& env) {
         env.PutSecret("sec1", "pw", "x");
         ServiceSpec spec = Spec("web");
         spec.task_template.container.secrets = {Ref("sec1", "other")};
         return Create(env, spec);
       },
       kInvalid, "secret not found: other"},
      {"two unknown secrets",
       [](ApiTestEnv& env) {
         ServiceSpec spec = Spec("web");
         spec.task_template.container.secrets = {Ref("x1", "a"), Ref("x2", "b")};
         return Create(env, spec);
       },
       kInvalid, "secrets not found: a, b"},
      {"a name taken in another case",
       [](ApiTestEnv& env) {
         EXPECT_TRUE(Create(env, Spec("web")).ok());
         return Create(env, Spec("WEB"));
       },
       StatusCode::kAlreadyExists,
       "name conflicts with an existing object: service WEB already exists"},
  });
}

Service Stored(const std::string& id, const std::string& name) {
  Service s;
  s.id = id;
  s.spec = Spec(name);
  return s;
}

TEST(ServiceCodes, Update) {
  RunCases({
      {"a new spec at the current version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         ServiceSpec spec = Spec("web");
         spec.replicas = 3;
         return env.services.Update("svc1", v, spec, false);
       },
       kOk, ""},
      {"a missing service",
       [](ApiTestEnv& env) { return env.services.Update("nope", 1, Spec("web"), false); },
       StatusCode::kNotFound, "service nope not found"},
      {"an invalid spec",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         ServiceSpec spec = Spec("web");
         spec.task_template.container.image.clear();
         return env.services.Update("svc1", v, spec, false);
       },
       kInvalid, "ContainerSpec: image reference must be provided"},
      {"an unknown secret",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         ServiceSpec spec = Spec("web");
         spec.task_template.container.secrets = {Ref("nope", "pw")};
         return env.services.Update("svc1", v, spec, false);
       },
       kInvalid, "secret not found: pw"},
      {"a mode change",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         ServiceSpec spec = Spec("web");
         spec.global = true;
         return env.services.Update("svc1", v, spec, false);
       },
       StatusCode::kUnimplemented, "service mode change is not allowed"},
      {"a new name",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         return env.services.Update("svc1", v, Spec("web2"), false);
       },
       StatusCode::kUnimplemented, "renaming services is not supported"},
      {"a new name at a stale version (the name is checked first)",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         return env.services.Update("svc1", v - 1, Spec("web2"), false);
       },
       StatusCode::kUnimplemented, "renaming services is not supported"},
      {"a rollback without a previous spec",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         return env.services.Update("svc1", v, Spec("web"), true);
       },
       StatusCode::kFailedPrecondition, "service svc1 does not have a previous spec"},
      {"a stale version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         EXPECT_TRUE(env.services.Update("svc1", v, Spec("web"), false).ok());
         return env.services.Update("svc1", v, Spec("web"), false);
       },
       StatusCode::kUnknown, "update out of sequence"},
      {"a rollback at a stale version (the version is checked first)",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutService(Stored("svc1", "web"));
         return env.services.Update("svc1", v + 1, Spec("web"), true);
       },
       StatusCode::kUnknown, "update out of sequence"},
  });
}

TEST(ServiceCodes, UpdateKeepsThePreviousSpecAndRollbackSwapsThem) {
  ApiTestEnv env;
  const int64_t created = env.PutService(Stored("svc1", "web"));
  ServiceSpec next = Spec("web");
  next.replicas = 3;
  ASSERT_TRUE(env.services.Update("svc1", created, next, false).ok());
  StatusOr<store::StoredRecord> got = env.store.Get(kServicesKind, "svc1");
  ASSERT_TRUE(got.ok());
  StatusOr<Service> s = DecodeServiceMeta(got->record.meta);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->spec.replicas, 3u);
  ASSERT_TRUE(s->previous_spec.has_value());
  EXPECT_EQ(s->previous_spec->replicas, 1u);
  EXPECT_EQ(s->previous_spec_version, created);  // the stored 0 resolved to its write
  EXPECT_EQ(s->spec_version, 0);                 // = this write's revision
  // The name stays taken.
  EXPECT_EQ(Create(env, Spec("WEB")).code(), StatusCode::kAlreadyExists);

  ASSERT_TRUE(env.services.Update("svc1", got->mod_revision, Spec("web"), true).ok());
  s = DecodeServiceMeta(env.store.Get(kServicesKind, "svc1")->record.meta);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->spec.replicas, 1u);
  EXPECT_EQ(s->spec_version, created);
  EXPECT_EQ(s->previous_spec_version, got->mod_revision);
  ASSERT_TRUE(s->update_status.has_value());
  EXPECT_EQ(s->update_status->state, "rollback_started");
  EXPECT_EQ(s->update_status->message, "manually requested rollback");
}

TEST(ServiceCodes, Remove) {
  RunCases({
      {"a service",
       [](ApiTestEnv& env) {
         env.PutService(Stored("svc1", "web"));
         return env.services.Remove("svc1");
       },
       kOk, ""},
      {"a missing service", [](ApiTestEnv& env) { return env.services.Remove("nope"); },
       StatusCode::kNotFound, "service nope not found"},
  });
}

TEST(ServiceCodes, RemoveFreesTheName) {
  ApiTestEnv env;
  env.PutService(Stored("svc1", "web"));
  ASSERT_TRUE(env.services.Remove("svc1").ok());
  EXPECT_TRUE(Create(env, Spec("web")).ok());
}

}  // namespace
}  // namespace capsule::controlapi
