#include "store/etcd/grpc_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "store/etcd/grpc_status.h"
#include "store/etcd/grpc_watch.h"
#include "store/etcd/proto_convert.h"

namespace capsule::etcd {

GrpcClient::GrpcClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : channel_(std::move(channel)),
      options_(std::move(options)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)),
      cluster_(etcdserverpb::Cluster::NewStub(channel_)),
      maintenance_(etcdserverpb::Maintenance::NewStub(channel_)) {}

void GrpcClient::Prepare(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
  context->set_wait_for_ready(true);
}

StatusOr<TxnResult> GrpcClient::Txn(const std::vector<Compare>& compares,
                                    const std::vector<Op>& success,
                                    const std::vector<Op>& failure) {
  etcdserverpb::TxnRequest request;
  for (const Compare& c : compares) ToProto(c, request.add_compare());
  for (const Op& op : success) ToProto(op, request.add_success());
  for (const Op& op : failure) ToProto(op, request.add_failure());
  etcdserverpb::TxnResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(kv_->Txn(&context, request, &response), "Txn"));
  TxnResult result;
  result.succeeded = response.succeeded();
  result.revision = response.header().revision();
  result.ranges.reserve(response.responses_size());
  for (const auto& r : response.responses()) {
    std::vector<KeyValue> kvs;
    if (r.has_response_range()) {
      for (const auto& kv : r.response_range().kvs()) kvs.push_back(FromProto(kv));
    }
    result.ranges.push_back(std::move(kvs));
  }
  return result;
}

StatusOr<RangeResult> GrpcClient::Range(const std::string& key, const std::string& range_end) {
  RangeResult result;
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_range_end(range_end);
  int64_t limit = range_end.empty() ? 0 : options_.range_page_size;
  while (true) {
    request.set_limit(limit > 0 ? limit : 0);
    etcdserverpb::RangeResponse response;
    grpc::ClientContext context;
    Prepare(&context);
    grpc::Status status = kv_->Range(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && limit > 1) {
      // The page was larger than the receive limit: retry the same page with half as many keys.
      limit /= 2;
      continue;
    }
    RETURN_IF_ERROR(FromGrpcStatus(status, "Range"));
    if (result.revision == 0) {
      // Every later page is read at the revision of the first, so the result is one snapshot.
      result.revision = response.header().revision();
      request.set_revision(result.revision);
    }
    for (const auto& kv : response.kvs()) result.kvs.push_back(FromProto(kv));
    if (!response.more() || response.kvs_size() == 0) break;
    request.set_key(response.kvs(response.kvs_size() - 1).key() + std::string(1, '\0'));
  }
  return result;
}

StatusOr<int64_t> GrpcClient::Put(const std::string& key, const std::string& value) {
  etcdserverpb::PutRequest request;
  request.set_key(key);
  request.set_value(value);
  etcdserverpb::PutResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(kv_->Put(&context, request, &response), "Put"));
  return response.header().revision();
}

StatusOr<int64_t> GrpcClient::Delete(const std::string& key, const std::string& range_end) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(key);
  request.set_range_end(range_end);
  etcdserverpb::DeleteRangeResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(kv_->DeleteRange(&context, request, &response), "DeleteRange"));
  return response.header().revision();
}

StatusOr<std::unique_ptr<Watch>> GrpcClient::WatchRange(const std::string& key,
                                                        const std::string& range_end,
                                                        int64_t start_revision,
                                                        WatchCallbacks callbacks) {
  etcdserverpb::WatchCreateRequest create;
  create.set_key(key);
  create.set_range_end(range_end);
  create.set_start_revision(start_revision);
  return GrpcWatch::Open(channel_, create, std::move(callbacks), options_.call_timeout);
}

StatusOr<int64_t> GrpcClient::LeaseGrant(std::chrono::seconds ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl.count());
  etcdserverpb::LeaseGrantResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(lease_->LeaseGrant(&context, request, &response), "LeaseGrant"));
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return response.id();
}

Status GrpcClient::LeaseKeepAliveOnce(int64_t lease_id) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = lease_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseKeepAliveResponse response;
  bool got = stream->Write(request) && stream->WritesDone() && stream->Read(&response);
  if (got) {
    etcdserverpb::LeaseKeepAliveResponse extra;
    while (stream->Read(&extra)) {
    }
  }
  grpc::Status status = stream->Finish();
  RETURN_IF_ERROR(FromGrpcStatus(status, "LeaseKeepAlive"));
  if (!got) return absl::UnavailableError("etcd LeaseKeepAlive: no answer");
  if (response.ttl() <= 0) return absl::NotFoundError("etcd LeaseKeepAlive: lease not found");
  return absl::OkStatus();
}

Status GrpcClient::LeaseRevoke(int64_t lease_id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  return FromGrpcStatus(lease_->LeaseRevoke(&context, request, &response), "LeaseRevoke");
}

StatusOr<int64_t> GrpcClient::LeaseTimeToLive(int64_t lease_id) {
  etcdserverpb::LeaseTimeToLiveRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseTimeToLiveResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(
      FromGrpcStatus(lease_->LeaseTimeToLive(&context, request, &response), "LeaseTimeToLive"));
  if (response.ttl() < 0) return absl::NotFoundError("etcd LeaseTimeToLive: lease not found");
  return response.ttl();
}

Status GrpcClient::Compact(int64_t revision, bool physical) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(physical);
  etcdserverpb::CompactionResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  return FromGrpcStatus(kv_->Compact(&context, request, &response), "Compact");
}

StatusOr<std::vector<Member>> GrpcClient::MemberList() {
  etcdserverpb::MemberListRequest request;
  etcdserverpb::MemberListResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(cluster_->MemberList(&context, request, &response), "MemberList"));
  return FromProto(response.members());
}

StatusOr<MemberAddResult> GrpcClient::MemberAdd(const std::vector<std::string>& peer_urls,
                                                bool is_learner) {
  etcdserverpb::MemberAddRequest request;
  for (const auto& url : peer_urls) request.add_peerurls(url);
  request.set_islearner(is_learner);
  etcdserverpb::MemberAddResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(cluster_->MemberAdd(&context, request, &response), "MemberAdd"));
  MemberAddResult result;
  result.member = FromProto(response.member());
  result.members = FromProto(response.members());
  return result;
}

StatusOr<std::vector<Member>> GrpcClient::MemberRemove(uint64_t member_id) {
  etcdserverpb::MemberRemoveRequest request;
  request.set_id(member_id);
  etcdserverpb::MemberRemoveResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(
      FromGrpcStatus(cluster_->MemberRemove(&context, request, &response), "MemberRemove"));
  return FromProto(response.members());
}

StatusOr<std::vector<Member>> GrpcClient::MemberUpdate(uint64_t member_id,
                                                       const std::vector<std::string>& peer_urls) {
  etcdserverpb::MemberUpdateRequest request;
  request.set_id(member_id);
  for (const auto& url : peer_urls) request.add_peerurls(url);
  etcdserverpb::MemberUpdateResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(
      FromGrpcStatus(cluster_->MemberUpdate(&context, request, &response), "MemberUpdate"));
  return FromProto(response.members());
}

StatusOr<std::vector<Member>> GrpcClient::MemberPromote(uint64_t member_id) {
  etcdserverpb::MemberPromoteRequest request;
  request.set_id(member_id);
  etcdserverpb::MemberPromoteResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(
      FromGrpcStatus(cluster_->MemberPromote(&context, request, &response), "MemberPromote"));
  return FromProto(response.members());
}

StatusOr<EndpointStatus> GrpcClient::GetStatus() {
  etcdserverpb::StatusRequest request;
  etcdserverpb::StatusResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  RETURN_IF_ERROR(FromGrpcStatus(maintenance_->Status(&context, request, &response), "Status"));
  EndpointStatus result;
  result.version = response.version();
  result.member_id = response.header().member_id();
  result.leader = response.leader();
  result.revision = response.header().revision();
  result.db_size = response.dbsize();
  result.db_size_in_use = response.dbsizeinuse();
  result.is_learner = response.islearner();
  return result;
}

Status GrpcClient::Defragment(std::chrono::milliseconds timeout) {
  etcdserverpb::DefragmentRequest request;
  etcdserverpb::DefragmentResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  context.set_wait_for_ready(true);
  return FromGrpcStatus(maintenance_->Defragment(&context, request, &response), "Defragment");
}

}  // namespace capsule::etcd
