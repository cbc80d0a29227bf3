// peer_log_client: one LogPeer.SubscribeForPeer call (manager to manager task logs) with a
// node's real certificate files, for tests/integration/test_ha_logs.py (a worker's certificate
// must be refused; a manager's accepted). Not a test by itself: it prints the outcome as one
// JSON line,
//   {"code": "<absl code name>", "message": "...", "lines": ["<each line's data>", ...]}
// and exits 0 whenever the call was made (refusals included); 2 on bad usage or unreadable
// files.
//
//   peer_log_client ADDR CERT KEY ROOT_CA NODE_ID TASK_ID
//     reads the whole log of TASK_ID on NODE_ID (no follow) through the manager at ADDR.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ca/node_key.h"
#include "common/clock.h"
#include "manager/logbroker/log_broker.h"
#include "manager/logbroker/peer_log_client.h"

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using capsule::logbroker::PeerCredentials;
  if (argc != 7) {
    std::fprintf(stderr, "usage: peer_log_client ADDR CERT KEY ROOT_CA NODE_ID TASK_ID\n");
    return 2;
  }
  PeerCredentials creds;
  if (!ReadFile(argv[2], &creds.identity.cert_pem) || !ReadFile(argv[4], &creds.root_ca_pem)) {
    std::fprintf(stderr, "cannot read the certificate files\n");
    return 2;
  }
  auto key = capsule::ca::ReadNodeKeyFile(argv[3]);
  if (!key.ok()) {
    std::fprintf(stderr, "cannot read the key: %s\n", key.status().ToString().c_str());
    return 2;
  }
  creds.identity.key_pem = *std::move(key);
  capsule::logbroker::PeerLogClient client(
      [&creds]() -> capsule::StatusOr<PeerCredentials> {
        PeerCredentials c;
        c.root_ca_pem = creds.root_ca_pem;
        c.identity.cert_pem = creds.identity.cert_pem;
        c.identity.key_pem = capsule::SecretBytes::CopyFrom(creds.identity.key_pem.view());
        return c;
      },
      capsule::RealClock());
  capsule::api::LogSelector selector =
      capsule::logbroker::MakeSelector(true, true, false, std::nullopt, capsule::TimePoint{});
  nlohmann::json lines = nlohmann::json::array();
  capsule::Status s = client.Read(argv[1], argv[5], argv[6], selector, nullptr,
                                  [&lines](const capsule::api::LogLine& l) {
                                    lines.push_back(l.data());
                                    return true;
                                  });
  nlohmann::json out = {{"code", absl::StatusCodeToString(s.code())},
                        {"message", std::string(s.message())},
                        {"lines", lines}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
