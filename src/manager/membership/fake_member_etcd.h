// Tests only: an etcd cluster's membership in memory (the Cluster calls of etcd::Client, and a
// minimal key-value store for Txn / Range / Put / Delete: equality compares only, leases that
// end only when revoked, no watches), behaving as etcd 3.4 does where joins care: one learner
// at a time, promotion refused until the test marks the learner in sync, and injectable
// transient refusals. Not thread-safe: one test thread, or a gRPC test's handler threads one
// call at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/etcd/etcd_client.h"

namespace capsule::membership::testing {

// An etcd cluster's membership in memory: just the Cluster calls; one learner at a time, as
// etcd 3.4; a learner is "in sync" once the test says so.
class FakeMemberEtcd final : public etcd::Client {
 public:
  FakeMemberEtcd() { members_[1] = {1, "m1", {"https://127.0.0.1:2380"}, {}, false}; }

  StatusOr<std::vector<etcd::Member>> MemberList() override {
    if (before_member_list) before_member_list();
    return List();
  }
  StatusOr<etcd::MemberAddResult> MemberAdd(const std::vector<std::string>& urls,
                                            bool is_learner) override {
    if (removed_id_answers > 0) {
      --removed_id_answers;
      return absl::NotFoundError("etcd MemberAdd: etcdserver: member not found");
    }
    if (unhealthy_answers > 0) {
      --unhealthy_answers;
      return absl::UnavailableError("etcd MemberAdd: etcdserver: unhealthy cluster");
    }
    for (const auto& [id, m] : members_) {
      if (m.is_learner && is_learner) {
        return absl::FailedPreconditionError("etcdserver: too many learner members in cluster");
      }
    }
    etcd::Member m{next_id_++, "", urls, {}, is_learner};
    members_[m.id] = m;
    return etcd::MemberAddResult{m, List()};
  }
  StatusOr<std::vector<etcd::Member>> MemberRemove(uint64_t id) override {
    if (members_.erase(id) == 0) return absl::NotFoundError("etcdserver: member not found");
    ++removals;
    return List();
  }
  StatusOr<std::vector<etcd::Member>> MemberPromote(uint64_t id) override {
    if (before_member_promote) before_member_promote();
    auto it = members_.find(id);
    if (it == members_.end()) return absl::NotFoundError("etcdserver: member not found");
    if (!it->second.is_learner) {
      return absl::FailedPreconditionError("etcdserver: can only promote a learner member");
    }
    if (!in_sync) {
      return absl::FailedPreconditionError(
          "etcdserver: can only promote a learner member which is in sync with leader");
    }
    it->second.is_learner = false;
    return List();
  }

  // The key-value calls: kPut / kDelete ops, compares with kEqual only.
  StatusOr<etcd::TxnResult> Txn(const std::vector<etcd::Compare>& compares,
                                const std::vector<etcd::Op>& success,
                                const std::vector<etcd::Op>& failure) override {
    bool ok = true;
    for (const etcd::Compare& c : compares) {
      if (c.result != etcd::Compare::Result::kEqual) return absl::UnimplementedError("fake");
      auto it = kvs_.find(c.key);
      const etcd::KeyValue none;
      const etcd::KeyValue& kv = it == kvs_.end() ? none : it->second;
      switch (c.target) {
        case etcd::Compare::Target::kCreateRevision:
          ok = ok && kv.create_revision == c.revision;
          break;
        case etcd::Compare::Target::kModRevision:
          ok = ok && kv.mod_revision == c.revision;
          break;
        case etcd::Compare::Target::kVersion:
          ok = ok && kv.version == c.revision;
          break;
        case etcd::Compare::Target::kValue:
          ok = ok && it != kvs_.end() && kv.value == c.value;
          break;
      }
    }
    const std::vector<etcd::Op>& ops = ok ? success : failure;
    etcd::TxnResult r;
    r.succeeded = ok;
    if (!ops.empty()) ++revision_;
    for (const etcd::Op& op : ops) {
      if (op.type == etcd::Op::Type::kPut) {
        etcd::KeyValue& kv = kvs_[op.key];
        if (kv.version == 0) kv.create_revision = revision_;
        kv.key = op.key;
        kv.value = op.value;
        kv.lease = op.lease;
        kv.mod_revision = revision_;
        ++kv.version;
      } else if (op.type == etcd::Op::Type::kDelete) {
        kvs_.erase(op.key);
      }
      r.ranges.emplace_back();
    }
    r.revision = revision_;
    return r;
  }
  StatusOr<etcd::RangeResult> Range(const std::string& key, const std::string& range_end) override {
    etcd::RangeResult r;
    r.revision = revision_;
    for (const auto& [k, kv] : kvs_) {
      if (range_end.empty() ? k == key : (k >= key && k < range_end)) r.kvs.push_back(kv);
    }
    return r;
  }
  StatusOr<int64_t> Put(const std::string& key, const std::string& value) override {
    StatusOr<etcd::TxnResult> r = Txn({}, {etcd::Op::Put(key, value)}, {});
    if (!r.ok()) return r.status();
    return r->revision;
  }
  StatusOr<int64_t> Delete(const std::string& key, const std::string& range_end) override {
    if (!range_end.empty()) return absl::UnimplementedError("fake");
    StatusOr<etcd::TxnResult> r = Txn({}, {etcd::Op::Delete(key)}, {});
    if (!r.ok()) return r.status();
    return r->revision;
  }
  StatusOr<std::unique_ptr<etcd::Watch>> WatchRange(const std::string&, const std::string&, int64_t,
                                                    etcd::WatchCallbacks) override {
    return absl::UnimplementedError("fake");
  }
  // Leases never expire by themselves: a test ends one with LeaseRevoke (as etcd does when
  // its TTL passes: the keys attached to it are deleted).
  StatusOr<int64_t> LeaseGrant(std::chrono::seconds) override { return next_lease_++; }
  Status LeaseKeepAliveOnce(int64_t) override { return absl::UnimplementedError("fake"); }
  Status LeaseRevoke(int64_t lease) override {
    std::erase_if(kvs_, [&](const auto& e) { return e.second.lease == lease; });
    return absl::OkStatus();
  }

  std::vector<etcd::Member> List() const {
    std::vector<etcd::Member> out;
    for (const auto& [id, m] : members_) out.push_back(m);
    return out;
  }
  const etcd::Member* Get(uint64_t id) const {
    auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
  }

  void SetName(uint64_t id, const std::string& name) { members_[id].name = name; }

  // The key's current create_revision (0: absent).
  int64_t CreateRevision(const std::string& key) const {
    auto it = kvs_.find(key);
    return it == kvs_.end() ? 0 : it->second.create_revision;
  }

  std::function<void()> before_member_list;     // runs at the start of every MemberList
  std::function<void()> before_member_promote;  // runs at the start of every MemberPromote
  bool in_sync = false;
  int unhealthy_answers = 0;
  int removed_id_answers = 0;  // etcd's ID collision with a member removed in the same second
  int removals = 0;

 private:
  std::map<uint64_t, etcd::Member> members_;
  uint64_t next_id_ = 0x100;
  std::map<std::string, etcd::KeyValue> kvs_;
  int64_t revision_ = 1;
  int64_t next_lease_ = 0x7000;
};

}  // namespace capsule::membership::testing
