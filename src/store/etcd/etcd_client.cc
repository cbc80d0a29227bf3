#include "store/etcd/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "store/etcd/grpc_client.h"

namespace capsule::etcd {

Op Op::Put(std::string key, std::string value, int64_t lease) {
  Op op;
  op.type = Type::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op Op::Delete(std::string key, std::string range_end) {
  Op op;
  op.type = Type::kDelete;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

Op Op::Get(std::string key, std::string range_end) {
  Op op;
  op.type = Type::kRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

Op Op::GetKeysOnly(std::string key) {
  Op op = Get(std::move(key));
  op.keys_only = true;
  return op;
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  // Empty prefix, or all bytes 0xff: etcd's "\0" means "to the end of the key space".
  return std::string(1, '\0');
}

StatusOr<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options,
                                                  std::chrono::milliseconds wait_ready) {
  if (options.endpoint.empty()) return absl::InvalidArgumentError("etcd: empty endpoint");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_bytes);
  // The member is local and restarts quickly: retry connecting often rather than backing off
  // to gRPC's default two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.endpoint, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + wait_ready)) {
    return absl::UnavailableError(absl::StrCat("etcd: cannot connect to ", options.endpoint,
                                               " within ",
                                               static_cast<long long>(wait_ready.count()), " ms"));
  }
  return std::unique_ptr<Client>(new GrpcClient(std::move(channel), options));
}

namespace {
Status NotImplemented(const char* what) {
  return absl::UnimplementedError(absl::StrCat("etcd client: ", what, " not implemented"));
}
}  // namespace

StatusOr<int64_t> Client::LeaseTimeToLive(int64_t) { return NotImplemented("LeaseTimeToLive"); }
Status Client::Compact(int64_t, bool) { return NotImplemented("Compact"); }
StatusOr<std::vector<Member>> Client::MemberList() { return NotImplemented("MemberList"); }
StatusOr<MemberAddResult> Client::MemberAdd(const std::vector<std::string>&, bool) {
  return NotImplemented("MemberAdd");
}
StatusOr<std::vector<Member>> Client::MemberRemove(uint64_t) {
  return NotImplemented("MemberRemove");
}
StatusOr<std::vector<Member>> Client::MemberUpdate(uint64_t, const std::vector<std::string>&) {
  return NotImplemented("MemberUpdate");
}
StatusOr<std::vector<Member>> Client::MemberPromote(uint64_t) {
  return NotImplemented("MemberPromote");
}
StatusOr<EndpointStatus> Client::GetStatus() { return NotImplemented("GetStatus"); }
Status Client::Defragment(std::chrono::milliseconds) { return NotImplemented("Defragment"); }

}  // namespace capsule::etcd
