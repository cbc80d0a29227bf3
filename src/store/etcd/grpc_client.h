// The gRPC implementation of Client. Internal to src/store/etcd; built by Client::Connect.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "etcd/rpc.grpc.pb.h"
#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

class GrpcClient : public Client {
 public:
  GrpcClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options);

  StatusOr<TxnResult> Txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                          const std::vector<Op>& failure) override;
  StatusOr<RangeResult> Range(const std::string& key, const std::string& range_end) override;
  StatusOr<int64_t> Put(const std::string& key, const std::string& value) override;
  StatusOr<int64_t> Delete(const std::string& key, const std::string& range_end) override;
  StatusOr<std::unique_ptr<Watch>> WatchRange(const std::string& key, const std::string& range_end,
                                              int64_t start_revision,
                                              WatchCallbacks callbacks) override;
  StatusOr<int64_t> LeaseGrant(std::chrono::seconds ttl) override;
  Status LeaseKeepAliveOnce(int64_t lease_id) override;
  Status LeaseRevoke(int64_t lease_id) override;

  StatusOr<int64_t> LeaseTimeToLive(int64_t lease_id) override;
  Status Compact(int64_t revision, bool physical) override;
  StatusOr<std::vector<Member>> MemberList() override;
  StatusOr<MemberAddResult> MemberAdd(const std::vector<std::string>& peer_urls,
                                      bool is_learner) override;
  StatusOr<std::vector<Member>> MemberRemove(uint64_t member_id) override;
  StatusOr<std::vector<Member>> MemberUpdate(uint64_t member_id,
                                             const std::vector<std::string>& peer_urls) override;
  StatusOr<std::vector<Member>> MemberPromote(uint64_t member_id) override;
  StatusOr<EndpointStatus> GetStatus() override;
  Status Defragment(std::chrono::milliseconds timeout) override;

 private:
  // Deadline = now + call_timeout; waits for the channel to be ready within it.
  void Prepare(grpc::ClientContext* context) const;

  std::shared_ptr<grpc::Channel> channel_;
  ClientOptions options_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster_;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_;
};

}  // namespace capsule::etcd
