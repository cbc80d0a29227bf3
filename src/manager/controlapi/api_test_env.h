// Unit tests of the control API's documented codes, without etcd: a MemoryStore, a read model
// following it, the four APIs over both, and a table runner that gives every case a fresh
// environment and checks the exact code and message.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "manager/controlapi/cluster.h"
#include "manager/controlapi/config.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/secret.h"
#include "manager/controlapi/service.h"
#include "store/memory_store.h"
#include "store/read_model.h"
#include "testing/fake_clock.h"

namespace capsule::controlapi::testing {

class ApiTestEnv {
 public:
  ApiTestEnv() { EXPECT_TRUE(reads.Start().ok()); }
  ~ApiTestEnv() { reads.Stop(); }

  // Objects with fixed IDs, straight into the store; → the revision of the write.
  int64_t PutSecret(const std::string& id, const std::string& name, std::string_view data) {
    Secret s;
    s.id = id;
    s.name = name;
    return Put({kSecretsKind, id, name}, {EncodeSecretMeta(s), SecretBytes::CopyFrom(data)});
  }
  int64_t PutConfig(const std::string& id, const std::string& name, std::string_view data) {
    Config c;
    c.id = id;
    c.name = name;
    return Put({kConfigsKind, id, name}, {EncodeConfigMeta(c), SecretBytes::CopyFrom(data)});
  }
  int64_t PutService(const Service& s) {
    return Put({kServicesKind, s.id, s.spec.name}, {EncodeServiceMeta(s), {}});
  }
  int64_t PutNode(const Node& n) { return Put({kNodesKind, n.id, ""}, {EncodeNodeMeta(n), {}}); }
  int64_t PutCluster(const Cluster& c) {
    return Put({kClusterKind, c.id, ""}, {EncodeClusterMeta(c), {}});
  }

  store::MemoryStore store;
  store::ReadModel reads{store};
  ::capsule::testing::FakeClock clock{FromUnixNanos(1'700'000'000'000'000'000)};
  SecretApi secrets{store, reads, clock};
  ConfigApi configs{store, reads, clock};
  ServiceApi services{store, reads, clock};
  // The store members the demotion guards see; the manager serving the calls is "m1".
  std::vector<membership::ManagerMember> members;
  NodeApi nodes{store, reads, clock, nullptr,
                ManagerRoster{"m1", [this]() -> StatusOr<std::vector<membership::ManagerMember>> {
                                return members;
                              }}};
  ClusterApi cluster{store, reads, clock};

 private:
  int64_t Put(const store::ObjectRef& ref, const store::Record& record) {
    StatusOr<int64_t> rev = store.Create(ref, record);
    EXPECT_TRUE(rev.ok()) << rev.status();
    return rev.ok() ? *rev : 0;
  }
};

// A service `name` (ID `id`, image busybox) whose task mounts config `config_id` (named
// `config_name`) at /etc/app.conf.
inline Service ServiceUsingConfig(const std::string& id, const std::string& name,
                                  const std::string& config_id,
                                  const std::string& config_name = "app.conf") {
  Service s;
  s.id = id;
  s.spec.name = name;
  s.spec.task_template.container.image = "busybox";
  ConfigReference r;
  r.config_id = config_id;
  r.config_name = config_name;
  r.has_file = true;
  r.target = "/etc/app.conf";
  s.spec.task_template.container.configs.push_back(r);
  return s;
}

// One row of a table: `call` runs in a fresh ApiTestEnv and must return exactly
// code/message (kOk and "" for a call that must succeed).
struct Case {
  const char* name;
  std::function<Status(ApiTestEnv&)> call;
  StatusCode code;
  std::string message;
};

inline void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ApiTestEnv env;
    const Status s = c.call(env);
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_EQ(s.message(), c.message);
  }
}

}  // namespace capsule::controlapi::testing
