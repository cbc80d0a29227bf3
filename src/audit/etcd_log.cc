#include "audit/etcd_log.h"

#include <span>

namespace capsule::audit {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

EtcdLog::EtcdLog(etcd::Client& client, const crypto::Keyring& keyring)
    : client_(client), keyring_(keyring) {}

Status EtcdLog::Append(const std::vector<Event>& events) {
  if (events.size() > kMaxAppend) {
    return absl::InvalidArgumentError("too many audit events in one append");
  }
  if (events.empty()) return absl::OkStatus();
  std::vector<etcd::Op> puts;
  puts.reserve(events.size());
  for (const Event& e : events) {
    if (e.key.empty()) return absl::InvalidArgumentError("audit event without a key");
    StoredEvent stored = *Stored(e);
    ASSIGN_OR_RETURN(std::string sealed, keyring_.Seal(stored.key, Bytes(stored.value)));
    puts.push_back(etcd::Op::Put(stored.key, std::move(sealed)));
  }
  return client_.Txn({}, puts, {}).status();
}

std::optional<StoredEvent> EtcdLog::Stored(const Event& event) const {
  return StoredEvent{kAuditPrefix + event.key, EncodeEvent(event)};
}

StatusOr<std::vector<Event>> EtcdLog::ReadSince(TimePoint since) const {
  const std::string prefix = kAuditPrefix;
  ASSIGN_OR_RETURN(etcd::RangeResult r,
                   client_.Range(prefix + KeyAtOrAfter(since), etcd::PrefixEnd(prefix)));
  std::vector<Event> out;
  out.reserve(r.kvs.size());
  for (const etcd::KeyValue& kv : r.kvs) {
    ASSIGN_OR_RETURN(SecretBytes plain, keyring_.Open(kv.key, kv.value));
    ASSIGN_OR_RETURN(Event e, DecodeEvent(plain.view()));
    e.key = kv.key.substr(prefix.size());
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<size_t> EtcdLog::Trim(size_t keep) {
  const std::string prefix = kAuditPrefix;
  etcd::Op keys = etcd::Op::Get(prefix, etcd::PrefixEnd(prefix));
  keys.keys_only = true;
  ASSIGN_OR_RETURN(etcd::TxnResult r, client_.Txn({}, {keys}, {}));
  if (r.ranges.empty()) return absl::InternalError("audit trim: no range in the answer");
  const std::vector<etcd::KeyValue>& kvs = r.ranges.front();
  if (kvs.size() <= keep) return size_t{0};
  const size_t drop = kvs.size() - keep;
  // [prefix, last dropped key + "\0"): the oldest `drop` keys, and nothing written after.
  std::string end = kvs[drop - 1].key;
  end.push_back('\0');
  RETURN_IF_ERROR(client_.Delete(prefix, end).status());
  return drop;
}

}  // namespace capsule::audit
