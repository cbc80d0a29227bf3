// A small etcd v3 client over gRPC (hand-written proto subset in api/etcd/). It speaks to
// the member this manager supervises, over a unix socket. Every value passed through it is
// already sealed by the caller: this layer never sees plaintext.
//
// Thread-safety: all methods may be called concurrently from any thread. Watch callbacks
// run on a thread owned by the Watch object; they must not block for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key;
  Target target = Target::kModRevision;
  Result result = Result::kEqual;
  int64_t revision = 0;  // for kVersion / kCreateRevision / kModRevision
  std::string value;     // for kValue
};

struct Op {
  enum class Type { kPut, kDelete, kRange };
  Type type = Type::kPut;
  std::string key;
  std::string value;      // kPut
  std::string range_end;  // kDelete / kRange ("" = single key)
  int64_t lease = 0;      // kPut
  static Op Put(std::string key, std::string value, int64_t lease = 0);
  static Op Delete(std::string key, std::string range_end = "");
  static Op Get(std::string key, std::string range_end = "");
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // header revision after the transaction
  // One entry per Op of the branch that ran; kvs filled only for kRange ops.
  std::vector<std::vector<KeyValue>> ranges;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // header revision the read was served at
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete, kv.key and kv.mod_revision (the deletion revision) are set
};

// Returns the end of the range that covers every key starting with prefix.
std::string PrefixEnd(const std::string& prefix);

class Watch {
 public:
  virtual ~Watch() = default;  // cancels the watch and joins its thread
};

struct WatchCallbacks {
  // Events of one revision batch, in revision order. `revision` is the header revision.
  std::function<void(const std::vector<WatchEvent>& events, int64_t revision)> on_events;
  // The watch ended: compacted (code OutOfRange, with the compact revision in the message),
  // the member went away (Unavailable), or cancelled. After this no more callbacks come.
  std::function<void(const Status& status)> on_error;
};

struct ClientOptions {
  std::string endpoint;  // gRPC target, e.g. "unix:/var/lib/capsule/etcd/client.sock"
  std::chrono::milliseconds call_timeout{10000};
  int max_receive_bytes = 64 << 20;  // raise gRPC's 4 MiB default
  int64_t range_page_size = 1000;    // Range pages internally with this limit
};

class Client {
 public:
  virtual ~Client() = default;
  // Connects (waits until the channel is ready or the deadline passes → Unavailable).
  static StatusOr<std::unique_ptr<Client>> Connect(const ClientOptions& options,
                                                   std::chrono::milliseconds wait_ready);

  virtual StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                  const std::vector<Op>& success,
                                  const std::vector<Op>& failure) = 0;
  // Linearizable read of [key, range_end) (range_end "" = single key), all pages.
  virtual StatusOr<RangeResult> Range(const std::string& key, const std::string& range_end) = 0;
  virtual StatusOr<int64_t> Put(const std::string& key, const std::string& value) = 0;  // revision
  virtual StatusOr<int64_t> Delete(const std::string& key, const std::string& range_end) = 0;

  // Watches [key, range_end) from start_revision (inclusive; 0 = now).
  virtual StatusOr<std::unique_ptr<Watch>> WatchRange(const std::string& key,
                                                      const std::string& range_end,
                                                      int64_t start_revision,
                                                      WatchCallbacks callbacks) = 0;

  // Leases (for leader election later).
  virtual StatusOr<int64_t> LeaseGrant(std::chrono::seconds ttl) = 0;
  virtual Status LeaseKeepAliveOnce(int64_t lease_id) = 0;
  virtual Status LeaseRevoke(int64_t lease_id) = 0;
};

}  // namespace capsule::etcd
