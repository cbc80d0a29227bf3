#include "manager/controlapi/validation/service_validate.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace capsule::controlapi {
namespace {

struct Case {
  const char* input;
  absl::StatusCode code;
  const char* message;  // "" = accepted
};

void Expect(const Status& s, const Case& c) {
  if (c.message[0] == '\0') {
    EXPECT_TRUE(s.ok()) << c.input << ": " << s;
    return;
  }
  EXPECT_EQ(s.code(), c.code) << c.input;
  EXPECT_EQ(s.message(), c.message) << c.input;
}

constexpr auto kOk = absl::StatusCode::kOk;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kUnknown = absl::StatusCode::kUnknown;

TEST(ServiceValidate, Names) {
  const Case cases[] = {
      {"app", kOk, ""},
      {"a", kOk, ""},
      {"my_app-2", kOk, ""},
      {"A--b__c", kOk, ""},
      {"", kInvalid, "meta: name must be provided"},
      {"-app", kInvalid, "name must be valid as a DNS name component"},
      {"app-", kInvalid, "name must be valid as a DNS name component"},
      {"app.web", kInvalid, "name must be valid as a DNS name component"},
      {"a b", kInvalid, "name must be valid as a DNS name component"},
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", kOk, ""},  // 63
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", kInvalid,
       "name must be 63 characters or fewer"},
  };
  for (const Case& c : cases) Expect(ValidateServiceName(c.input), c);
}

TEST(ServiceValidate, Constraints) {
  const Case cases[] = {
      {"node.hostname==w1", kOk, ""},
      {"node.hostname == w1", kOk, ""},
      {"node.role!=manager", kOk, ""},
      {"node.id==abc123", kOk, ""},
      {"node.labels.zone==eu-1", kOk, ""},
      {"NODE.HOSTNAME==w1", kOk, ""},
      {"node.hostname=w1", kUnknown, "constraint expected one operator from ==, !="},
      {"node.hostname", kUnknown, "constraint expected one operator from ==, !="},
      {"==w1", kUnknown, "key '' is invalid"},
      {"no de==w1", kUnknown, "key 'no de' is invalid"},
      {"node.hostname==", kUnknown, "value '' is invalid"},
      {"node.hostname==a<b", kUnknown, "value 'a<b' is invalid"},
      {"node.platform.os==linux", kInvalid,
       "constraint key 'node.platform.os' is not supported: use node.id, node.hostname, "
       "node.role or node.labels.<label>"},
      {"node.labels.==x", kInvalid,
       "constraint key 'node.labels.' is not supported: use node.id, node.hostname, node.role "
       "or node.labels.<label>"},
  };
  for (const Case& c : cases) Expect(ValidateConstraints({c.input}), c);
}

// A file reference to a secret (or, with R = ConfigReference, a config).
template <typename R = SecretReference>
R Ref(const std::string& id, const std::string& name, const std::string& target) {
  R r;
  if constexpr (std::is_same_v<R, SecretReference>) {
    r.secret_id = id;
    r.secret_name = name;
  } else {
    r.config_id = id;
    r.config_name = name;
  }
  r.has_file = true;
  r.target = target;
  return r;
}

TEST(ServiceValidate, SecretTargets) {
  const Case cases[] = {
      {"password", kOk, ""},
      {"sub/dir/f", kOk, ""},
      {"/etc/abs", kOk, ""},
      {"extra.txt", kOk, ""},
      {"..hidden", kOk, ""},
      {"", kInvalid, "malformed file secret reference, invalid target file name provided"},
      {"../escape", kInvalid,
       "invalid secret target '../escape': '.' and '..' path components are not allowed"},
      {"a/../../b", kInvalid,
       "invalid secret target 'a/../../b': '.' and '..' path components are not allowed"},
      {"/run/..", kInvalid,
       "invalid secret target '/run/..': '.' and '..' path components are not allowed"},
      {"./x", kInvalid,
       "invalid secret target './x': '.' and '..' path components are not allowed"},
      {"a//b", kInvalid, "invalid secret target 'a//b': empty path component"},
      {"dir/", kInvalid, "invalid secret target 'dir/': empty path component"},
      {"/", kInvalid, "invalid secret target '/': empty file name"},
  };
  for (const Case& c : cases) Expect(ValidateSecretReferences({Ref("id1", "pw", c.input)}), c);
}

TEST(ServiceValidate, SecretTargetWithNulIsRefused) {
  // Found by tests/fuzz (fuzz_service_spec): the agent refuses a NUL at mount time.
  const std::string target("a\0b", 3);
  Status s = ValidateSecretReferences({Ref("id1", "pw", target)});
  EXPECT_EQ(s.code(), kInvalid);
  EXPECT_EQ(s.message(), "invalid secret target '" + target + "': contains a NUL byte");
}

TEST(ServiceValidate, SecretReferenceShape) {
  SecretReference no_file = Ref("id1", "pw", "");
  no_file.has_file = false;
  EXPECT_EQ(ValidateSecretReferences({no_file}).message(),
            "malformed secret reference, no target provided");
  EXPECT_EQ(ValidateSecretReferences({Ref("", "pw", "t")}).message(), "malformed secret reference");
  EXPECT_EQ(ValidateSecretReferences({Ref("id", "", "t")}).message(), "malformed secret reference");
  Status dup = ValidateSecretReferences({Ref("a", "pwfile", "same"), Ref("b", "extra", "same")});
  EXPECT_EQ(dup.code(), kInvalid);
  EXPECT_EQ(dup.message(),
            "secret references 'pwfile' and 'extra' have a conflicting target: 'same'");
  // Targets conflict by where they land in the task (found by tests/fuzz: the agent refused).
  Status alias = ValidateSecretReferences(
      {Ref("a", "pwfile", "password"), Ref("b", "extra", "/run/secrets/password")});
  EXPECT_EQ(alias.code(), kInvalid);
  EXPECT_EQ(alias.message(),
            "secret references 'pwfile' and 'extra' have a conflicting target: "
            "'/run/secrets/password'");
  // The same secret under two targets is fine (as Docker).
  EXPECT_TRUE(ValidateSecretReferences({Ref("a", "pw", "one"), Ref("a", "pw", "two")}).ok());
}

TEST(ServiceValidate, Images) {
  const Case cases[] = {
      {"busybox", kOk, ""},
      {"capsule/busybox:1", kOk, ""},
      {"127.0.0.1:5999/anchor/busybox:local", kOk, ""},
      {"localhost/a/b", kOk, ""},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", kOk, ""},
      {"", kInvalid, "ContainerSpec: image reference must be provided"},
      {"BusyBox", kInvalid, "ContainerSpec: \"BusyBox\" is not a valid repository/tag"},
      {"busybox:", kInvalid, "ContainerSpec: \"busybox:\" is not a valid repository/tag"},
      {"a b", kInvalid, "ContainerSpec: \"a b\" is not a valid repository/tag"},
      {"busybox:-x", kInvalid, "ContainerSpec: \"busybox:-x\" is not a valid repository/tag"},
  };
  for (const Case& c : cases) Expect(ValidateImage(c.input), c);
}

ServiceSpec Valid() {
  ServiceSpec s;
  s.name = "app";
  s.task_template.container.image = "busybox";
  return s;
}

TEST(ServiceValidate, SpecRules) {
  EXPECT_TRUE(ValidateServiceSpec(Valid()).ok());
  ServiceSpec s = Valid();
  s.task_template.restart_policy = RestartPolicy{};
  s.task_template.restart_policy->delay_ns = -1;
  EXPECT_EQ(ValidateServiceSpec(s).message(), "TaskSpec: restart-delay cannot be negative");
  s = Valid();
  s.update_config = UpdateConfig{};
  s.update_config->max_failure_ratio = 1.5;
  EXPECT_EQ(ValidateServiceSpec(s).message(),
            "TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1");
  s = Valid();
  s.update_config = UpdateConfig{};
  s.update_config->delay_ns = -5;
  EXPECT_EQ(ValidateServiceSpec(s).message(), "TaskSpec: update-delay cannot be negative");
  s = Valid();
  s.task_template.container.image.clear();
  EXPECT_EQ(ValidateServiceSpec(s).message(), "ContainerSpec: image reference must be provided");
  s = Valid();
  s.task_template.placement.constraints = {"node.hostname=w1"};
  EXPECT_EQ(ValidateServiceSpec(s).code(), kUnknown);
}

TEST(ServiceValidate, ResourcesAsSwarmkit) {
  struct ResCase {
    ResourceLimits limits;
    ResourceReservations reservations;
    const char* message;  // "" = accepted
  };
  const ResCase cases[] = {
      {{}, {}, ""},
      {{1000000, 4194304, 100}, {1000000, 4194304}, ""},
      {{999999, 0, 0}, {}, "invalid cpu value 0.000999999: Must be at least 0.001"},
      {{-1, 0, 0}, {}, "invalid cpu value -1e-09: Must be at least 0.001"},
      {{-20000000000, 0, 0}, {}, "invalid cpu value -20: Must be at least 0.001"},
      {{0, 4194303, 0}, {}, "invalid memory value 4194303: Must be at least 4MiB"},
      {{0, -1, 0}, {}, "invalid memory value -1: Must be at least 4MiB"},
      {{0, 0, -1}, {}, "invalid pids value -1: Must be at least 0"},
      {{}, {100, 0}, "invalid cpu value 1e-07: Must be at least 0.001"},
      {{}, {0, 1024}, "invalid memory value 1024: Must be at least 4MiB"},
      // Limits are checked before reservations, cpu before memory.
      {{0, 1, 0}, {1, 0}, "invalid memory value 1: Must be at least 4MiB"},
      {{1, 1, 0}, {}, "invalid cpu value 1e-09: Must be at least 0.001"},
  };
  for (const ResCase& c : cases) {
    ServiceSpec s;
    s.name = "app";
    s.task_template.container.image = "busybox";
    s.task_template.resources = ResourceRequirements{c.limits, c.reservations};
    Status st = ValidateServiceSpec(s);
    if (c.message[0] == '\0') {
      EXPECT_TRUE(st.ok()) << st;
    } else {
      EXPECT_EQ(st.code(), kInvalid) << c.message;
      EXPECT_EQ(st.message(), c.message);
    }
  }
}

TEST(ServiceValidate, ConfigReferenceShape) {
  EXPECT_TRUE(ValidateConfigReferences({Ref<ConfigReference>("c1", "app", "app.conf")}, {}).ok());
  EXPECT_TRUE(
      ValidateConfigReferences({Ref<ConfigReference>("c1", "app", "/etc/app.conf")}, {}).ok());
  EXPECT_EQ(ValidateConfigReferences({Ref<ConfigReference>("", "app", "t")}, {}).message(),
            "malformed config reference");
  ConfigReference no_target = Ref<ConfigReference>("c1", "app", "t");
  no_target.has_file = false;
  EXPECT_EQ(ValidateConfigReferences({no_target}, {}).message(),
            "malformed config reference, no target provided");
  ConfigReference runtime = no_target;
  runtime.has_runtime = true;
  EXPECT_TRUE(ValidateConfigReferences({runtime}, {}).ok());
  EXPECT_EQ(ValidateConfigReferences({Ref<ConfigReference>("c1", "app", "")}, {}).message(),
            "malformed file config reference, invalid target file name provided");
  EXPECT_EQ(ValidateConfigReferences({Ref<ConfigReference>("c1", "app", "../x")}, {}).message(),
            "invalid config target '../x': '.' and '..' path components are not allowed");
}

TEST(ServiceValidate, ConfigTargetsConflictByDestination) {
  // A relative config target is under "/": "app.conf" and "/app.conf" are one file.
  Status s = ValidateConfigReferences(
      {Ref<ConfigReference>("a", "one", "app.conf"), Ref<ConfigReference>("b", "two", "/app.conf")},
      {});
  EXPECT_EQ(s.message(),
            "config references 'one' and 'two' have a conflicting target: '/app.conf'");
  // A config mounted where a secret is.
  Status with_secret = ValidateConfigReferences(
      {Ref<ConfigReference>("a", "cfg", "/run/secrets/pw")}, {Ref("s", "pw", "pw")});
  EXPECT_EQ(with_secret.message(),
            "config references 'pw' and 'cfg' have a conflicting target: '/run/secrets/pw'");
  // The same config twice under two targets is fine (as Docker).
  EXPECT_TRUE(
      ValidateConfigReferences(
          {Ref<ConfigReference>("a", "c", "/one"), Ref<ConfigReference>("a", "c", "/two")}, {})
          .ok());
}

TEST(ServiceValidate, GoFormatGMatchesGo) {
  EXPECT_EQ(GoFormatG(0.001), "0.001");
  EXPECT_EQ(GoFormatG(1.5), "1.5");
  EXPECT_EQ(GoFormatG(-1e-9), "-1e-09");
  EXPECT_EQ(GoFormatG(0.0001), "0.0001");
  EXPECT_EQ(GoFormatG(0.00001), "1e-05");
  EXPECT_EQ(GoFormatG(123456), "123456");
  EXPECT_EQ(GoFormatG(1234567), "1.234567e+06");
  EXPECT_EQ(GoFormatG(-20), "-20");
}

TEST(ServiceValidate, RandomNamesAreValid) {
  for (int i = 0; i < 50; ++i) {
    std::string n = RandomServiceName();
    EXPECT_TRUE(ValidateServiceName(n).ok()) << n;
  }
}

}  // namespace
}  // namespace capsule::controlapi
