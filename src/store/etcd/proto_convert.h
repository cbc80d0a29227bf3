// Conversions between the client's plain structs and the etcd protobuf messages.
// Internal to src/store/etcd.
#pragma once

#include <vector>

#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"
#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

KeyValue FromProto(const mvccpb::KeyValue& kv);
Member FromProto(const etcdserverpb::Member& member);
std::vector<Member> FromProto(
    const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members);

void ToProto(const Compare& compare, etcdserverpb::Compare* out);
void ToProto(const Op& op, etcdserverpb::RequestOp* out);

}  // namespace capsule::etcd
