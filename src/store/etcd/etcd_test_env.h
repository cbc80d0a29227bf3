// Test helpers: temp dirs, free loopback ports and a real etcd member run by the Supervisor.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "store/etcd/etcd_client.h"
#include "store/etcd/supervisor.h"
#include "testing/status_macros.h"  // ASSERT_OK, which users of this header use

namespace capsule::etcd::testing {

// A fresh mkdtemp("/tmp/ce-XXXXXX") directory, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// http://<address>:<port> for an etcd peer: a random address in 127.64.0.0/10 (apart from the
// 127.0.0.1 that every outgoing loopback connection's local end uses, and from the 127.0.x.y
// blocks of the integration tests) and a port that was free on it a moment ago (bind port 0,
// read it, close). So tests running side by side rarely race for one address and port.
std::string FreePeerUrl();

// A one-member cluster config in dir, peer URL FreePeerUrl().
MemberConfig TestMemberConfig(const std::string& dir);

StatusOr<std::unique_ptr<Client>> ConnectTo(const Supervisor& supervisor,
                                            int64_t range_page_size = 1000,
                                            int max_receive_bytes = 64 << 20);

// testing::Eventually (src/testing/eventually.h): polls pred every 10 ms until it is true or
// timeout passes; returns pred's last value.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Each test gets its own member in a fresh temp dir: supervisor_ and client_ are ready.
class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string member_dir() const { return tmp_.path() + "/etcd"; }

  TempDir tmp_;
  MemberConfig config_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<Client> client_;
};

}  // namespace capsule::etcd::testing
