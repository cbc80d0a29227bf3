#include "store/etcd/proto_convert.h"

namespace capsule::etcd {

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

Member FromProto(const etcdserverpb::Member& member) {
  Member out;
  out.id = member.id();
  out.name = member.name();
  out.peer_urls.assign(member.peerurls().begin(), member.peerurls().end());
  out.client_urls.assign(member.clienturls().begin(), member.clienturls().end());
  out.is_learner = member.islearner();
  return out;
}

std::vector<Member> FromProto(
    const google::protobuf::RepeatedPtrField<etcdserverpb::Member>& members) {
  std::vector<Member> out;
  out.reserve(members.size());
  for (const auto& m : members) out.push_back(FromProto(m));
  return out;
}

void ToProto(const Compare& compare, etcdserverpb::Compare* out) {
  out->set_key(compare.key);
  switch (compare.result) {
    case Compare::Result::kEqual:
      out->set_result(etcdserverpb::Compare::EQUAL);
      break;
    case Compare::Result::kGreater:
      out->set_result(etcdserverpb::Compare::GREATER);
      break;
    case Compare::Result::kLess:
      out->set_result(etcdserverpb::Compare::LESS);
      break;
    case Compare::Result::kNotEqual:
      out->set_result(etcdserverpb::Compare::NOT_EQUAL);
      break;
  }
  switch (compare.target) {
    case Compare::Target::kVersion:
      out->set_target(etcdserverpb::Compare::VERSION);
      out->set_version(compare.revision);
      break;
    case Compare::Target::kCreateRevision:
      out->set_target(etcdserverpb::Compare::CREATE);
      out->set_create_revision(compare.revision);
      break;
    case Compare::Target::kModRevision:
      out->set_target(etcdserverpb::Compare::MOD);
      out->set_mod_revision(compare.revision);
      break;
    case Compare::Target::kValue:
      out->set_target(etcdserverpb::Compare::VALUE);
      out->set_value(compare.value);
      break;
  }
}

void ToProto(const Op& op, etcdserverpb::RequestOp* out) {
  switch (op.type) {
    case Op::Type::kPut: {
      auto* put = out->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease);
      break;
    }
    case Op::Type::kDelete: {
      auto* del = out->mutable_request_delete_range();
      del->set_key(op.key);
      del->set_range_end(op.range_end);
      break;
    }
    case Op::Type::kRange: {
      auto* range = out->mutable_request_range();
      range->set_key(op.key);
      range->set_range_end(op.range_end);
      range->set_keys_only(op.keys_only);
      break;
    }
  }
}

}  // namespace capsule::etcd
