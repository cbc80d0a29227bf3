// The audit log in etcd: one key per event under /capsule/v1/audit/<EventKey>, its value the
// event's JSON sealed under the cluster DEK with the etcd key as associated data (as every
// object value, store/etcd_store.h), so it is replicated to every manager, survives restarts
// and failover, and never lies in clear on disk. Keys hold no name: only time, the writing
// manager's node ID and a sequence number.
//
// Append is one Txn of puts (at most kMaxAppend events). Stored gives the same put for a
// change that writes its event in its own Txn (the etcd store seals it with the same keyring:
// store::SideWrite). Trim reads the keys only (no values) and deletes the oldest with one
// range delete. Not object keys: the store's
// watch and read model never see audit events. Thread-safe; `client` and `keyring` must
// outlive the log.
#pragma once

#include "audit/log.h"
#include "crypto/keyring.h"
#include "store/etcd/etcd_client.h"
#include "store/keys.h"

namespace capsule::audit {

inline constexpr const char* kAuditPrefix = store::kAuditPrefix;
class EtcdLog : public Log {
 public:
  EtcdLog(etcd::Client& client, const crypto::Keyring& keyring);

  // InvalidArgument for more than kMaxAppend events or an event without a key.
  Status Append(const std::vector<Event>& events) override;
  StatusOr<std::vector<Event>> ReadSince(TimePoint since) const override;
  StatusOr<size_t> Trim(size_t keep) override;
  // {kAuditPrefix + event.key, EncodeEvent(event)}.
  std::optional<StoredEvent> Stored(const Event& event) const override;

 private:
  etcd::Client& client_;
  const crypto::Keyring& keyring_;
};

}  // namespace capsule::audit
