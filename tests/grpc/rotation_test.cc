// The server picks up a renewed certificate written over its files, without a restart.
#include <grpcpp/client_context.h>

#include "ca/node_key.h"
#include "capsule/ca.grpc.pb.h"
#include "common/ids.h"
#include "grpc_test_env.h"
#include "testing/eventually.h"
#include "transport/peer_addr.h"

namespace capsule::grpctest {
namespace {

class RotationTest : public GrpcTestEnv {
 protected:
  // The certificate the server presents on a fresh connection ("" on failure).
  std::string ServedCert() {
    auto stub = api::NodeCA::NewStub(Channel(nullptr));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    api::GetRootCACertificateResponse resp;
    if (!stub->GetRootCACertificate(&ctx, {}, &resp).ok()) return "";
    auto values = ctx.auth_context()->FindPropertyValues("x509_pem_cert");
    return values.size() == 1 ? std::string(values[0].data(), values[0].size()) : "";
  }
};

TEST_F(RotationTest, NewConnectionsSeeTheRenewedCertificate) {
  std::string old_cert = ServedCert();
  ASSERT_FALSE(old_cert.empty());
  auto old_info = ca::ParseCertInfo(old_cert);
  ASSERT_TRUE(old_info.ok());
  EXPECT_EQ(old_info->node_id, manager_id_);

  // Renew as a node does: keep the key, new CSR, new certificate (new serial), replace the
  // file atomically.
  auto key = ca::ReadNodeKeyFile(files_.key_path);
  ASSERT_TRUE(key.ok());
  auto csr = ca::CsrForKey(*key);
  ASSERT_TRUE(csr.ok());
  ca::NodeCertRequest req;
  req.csr_pem = *csr;
  req.node_id = manager_id_;
  req.role = ca::NodeRole::kManager;
  req.cluster_id = cluster_id_;
  req.ip_sans = {"127.0.0.1", "127.0.0.9"};
  auto renewed = root_->Sign(req);
  ASSERT_TRUE(renewed.ok());
  ASSERT_NE(*renewed, old_cert);
  ASSERT_TRUE(ca::WriteCertFile(files_.cert_path, *renewed).ok());

  std::string served;
  testing::Eventually([&] { return (served = ServedCert()) == *renewed; }, std::chrono::seconds(20),
                      std::chrono::milliseconds(200));
  EXPECT_EQ(served, *renewed);
}

TEST(PeerAddrTest, ParsesGrpcPeerUris) {
  EXPECT_EQ(*transport::PeerIp("ipv4:127.0.0.2:41234"), "127.0.0.2");
  EXPECT_EQ(*transport::PeerIp("ipv6:[::1]:41234"), "::1");
  EXPECT_EQ(*transport::PeerIp("ipv6:%5B::1%5D:41234"), "::1");
  EXPECT_EQ(*transport::PeerIp("ipv6:%5Bfe80::1%25eth0%5D:1"), "fe80::1");
  for (const char* bad :
       {"unix:/tmp/x", "ipv4:nope:1", "ipv4:1.2.3.4", "ipv6:[::1", "", "ipv6:::1:2"}) {
    EXPECT_EQ(transport::PeerIp(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace capsule::grpctest
