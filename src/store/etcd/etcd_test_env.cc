#include "store/etcd/etcd_test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>

#include "testing/eventually.h"

namespace capsule::etcd::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/ce-XXXXXX";
  char* made = mkdtemp(tmpl);
  EXPECT_NE(made, nullptr);
  if (made != nullptr) path_ = made;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string FreePeerUrl() {
  static std::mt19937 rng{std::random_device{}()};
  static std::mutex mu;
  uint32_t host = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    host = (127u << 24) | (std::uniform_int_distribution<uint32_t>(64, 127)(rng) << 16) |
           (std::uniform_int_distribution<uint32_t>(0, 255)(rng) << 8) |
           std::uniform_int_distribution<uint32_t>(1, 254)(rng);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(host);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len), 0);
  close(fd);
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof(ip));
  return "http://" + std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

MemberConfig TestMemberConfig(const std::string& dir) {
  MemberConfig config;
  config.dir = dir;
  config.name = "m1";
  config.peer_url = FreePeerUrl();
  config.cluster_token = "capsule-test";
  config.log_level = "error";
  return config;
}

StatusOr<std::unique_ptr<Client>> ConnectTo(const Supervisor& supervisor, int64_t range_page_size,
                                            int max_receive_bytes) {
  ClientOptions options;
  options.endpoint = supervisor.ClientEndpoint();
  options.range_page_size = range_page_size;
  options.max_receive_bytes = max_receive_bytes;
  return Client::Connect(options, std::chrono::seconds(10));
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  return ::capsule::testing::Eventually(pred, timeout);
}

void EtcdTest::SetUp() {
  ASSERT_FALSE(tmp_.path().empty());
  config_ = TestMemberConfig(member_dir());
  supervisor_ = std::make_unique<Supervisor>(config_, RealClock());
  ASSERT_OK(supervisor_->Start(std::chrono::seconds(20)));
  auto client = ConnectTo(*supervisor_);
  ASSERT_OK(client.status());
  client_ = std::move(*client);
}

void EtcdTest::TearDown() {
  client_.reset();
  if (supervisor_) supervisor_->Stop();
  supervisor_.reset();
}

}  // namespace capsule::etcd::testing
