#include "manager/membership/presence.h"

#include <spdlog/spdlog.h>

namespace capsule::membership {

std::string ReachabilityOf(const std::string& node_id, const std::string& self,
                           const std::set<std::string>& present) {
  return node_id == self || present.count(node_id) > 0 ? "reachable" : "unreachable";
}

Presence::Presence(etcd::Client& client, const Clock& clock, PresenceOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

Presence::~Presence() { Stop(); }

void Presence::Start() {
  Tick();
  thread_ = std::thread([this] { Run(); });
}

void Presence::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lease_ != 0) {
    if (Status s = client_.LeaseRevoke(lease_); !s.ok()) {
      spdlog::warn("revoking this manager's presence lease: {}", s.ToString());
    }
    lease_ = 0;
  }
}

void Presence::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      clock_.WaitFor(cv_, lock, options_.period, [this] { return stopping_; });
      if (stopping_) return;
    }
    Tick();
  }
}

void Presence::Tick() {
  if (lease_ != 0 && !client_.LeaseKeepAliveOnce(lease_).ok()) {
    // Expired (or etcd unreachable: then the grant below fails too and we try again).
    lease_ = 0;
  }
  if (lease_ == 0) {
    StatusOr<int64_t> lease = client_.LeaseGrant(options_.ttl);
    if (lease.ok()) {
      etcd::Op put = etcd::Op::Put(options_.prefix + options_.node_id, "", *lease);
      StatusOr<etcd::TxnResult> r = client_.Txn({}, {put}, {});
      if (r.ok()) {
        lease_ = *lease;
      } else {
        (void)client_.LeaseRevoke(*lease);
        spdlog::warn("writing this manager's presence key: {}", r.status().ToString());
      }
    } else {
      spdlog::warn("granting this manager's presence lease: {}", lease.status().ToString());
    }
  }
  std::string end = options_.prefix;
  end.back() = static_cast<char>(end.back() + 1);
  StatusOr<etcd::RangeResult> r = client_.Range(options_.prefix, end);
  if (!r.ok()) return;  // keep the last answer: a read that fails says nothing of the others
  std::set<std::string> present;
  for (const etcd::KeyValue& kv : r->kvs) present.insert(kv.key.substr(options_.prefix.size()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    present_ = std::move(present);
  }
  (void)ReadMembers();
}

bool Presence::ReadMembers() const {
  StatusOr<std::vector<etcd::Member>> members = client_.MemberList();
  if (!members.ok()) return false;  // keep the last answer
  std::set<std::string> names;
  for (const etcd::Member& m : *members) {
    if (!m.name.empty()) names.insert(m.name);
  }
  std::lock_guard<std::mutex> lock(mu_);
  members_ = std::move(names);
  return true;
}

bool Presence::IsMember(const std::string& node_id) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!members_ || members_->count(node_id) > 0) return true;
  }
  if (!ReadMembers()) return false;  // the last read stands
  std::lock_guard<std::mutex> lock(mu_);
  return members_->count(node_id) > 0;
}

std::set<std::string> Presence::Present() const {
  std::lock_guard<std::mutex> lock(mu_);
  return present_;
}

bool Presence::IsReachable(const std::string& node_id) const {
  if (ReachabilityOf(node_id, options_.node_id, Present()) == "reachable") return true;
  StatusOr<etcd::RangeResult> r = client_.Range(options_.prefix + node_id, "");
  return r.ok() && !r->kvs.empty();
}

std::string Presence::Reachability(const std::string& node_id) const {
  return IsReachable(node_id) ? "reachable" : "unreachable";
}

}  // namespace capsule::membership
