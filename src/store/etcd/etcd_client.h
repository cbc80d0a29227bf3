// A small etcd v3 client over gRPC (hand-written proto subset in api/etcd/). It speaks to
// the member this manager supervises, over a unix socket. Every value passed through it is
// already sealed by the caller: this layer never sees plaintext.
//
// Thread-safety: all methods may be called concurrently from any thread. Watch callbacks
// run on a thread owned by the Watch object; they must not block for long.
//
// Calls: every unary call has a deadline of call_timeout and waits for the channel to be
// ready within it (so a call made while the member restarts succeeds once it is back, or
// fails with DeadlineExceeded). gRPC codes map 1:1 to Status codes (UNAVAILABLE →
// Unavailable, DEADLINE_EXCEEDED → DeadlineExceeded, etcd's "required revision has been
// compacted" → OutOfRange, …); messages name the call, never keys' values.
// A Watch keeps the channel alive on its own, so it may outlive the Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::etcd {

// Request limits of the member the Supervisor starts (EtcdArgs passes them as --max-txn-ops
// and --max-request-bytes): a Txn with more compares, or more operations in a branch, than
// kMaxTxnOps is rejected, as is a request larger than kMaxRequestBytes.
inline constexpr int kMaxTxnOps = 128;                        // etcd's default
inline constexpr int64_t kMaxRequestBytes = 4 * 1024 * 1024;  // one sealed 512 KB secret fits

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
  std::string value;       // kPut
  std::string range_end;   // kDelete / kRange ("" = single key)
  int64_t lease = 0;       // kPut
  bool keys_only = false;  // kRange: the values are left out (revisions and versions kept)
  static Op Put(std::string key, std::string value, int64_t lease = 0);
  static Op Delete(std::string key, std::string range_end = "");
  static Op Get(std::string key, std::string range_end = "");
  static Op GetKeysOnly(std::string key);
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

// Destroying a Watch cancels it and joins its thread: no callback runs after the destructor
// returns, and a cancel requested this way is not reported through on_error. Do not destroy
// a Watch from inside one of its own callbacks.
class Watch {
 public:
  virtual ~Watch() = default;  // cancels the watch and joins its thread
};

struct WatchCallbacks {
  // Events of one revision batch, in revision order. `revision`: every event of the watched
  // range at or below it has been delivered (the header revision, or less while etcd is
  // catching the watch up; grpc_watch.h).
  std::function<void(const std::vector<WatchEvent>& events, int64_t revision)> on_events;
  // The watch ended: compacted (code OutOfRange, with the compact revision in the message),
  // the member went away (Unavailable), or cancelled. After this no more callbacks come.
  std::function<void(const Status& status)> on_error;
};

// A cluster member as etcd reports it (Cluster service).
struct Member {
  uint64_t id = 0;
  std::string name;  // empty until the member has started
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

struct MemberAddResult {
  Member member;                // the member just added
  std::vector<Member> members;  // the whole membership after the change
};

// Maintenance.Status of the member the client talks to.
struct EndpointStatus {
  std::string version;  // etcd server version, e.g. "3.4.23"
  uint64_t member_id = 0;
  uint64_t leader = 0;  // member ID of the current leader, 0 if none
  int64_t revision = 0;
  int64_t db_size = 0;         // bytes of the backend file
  int64_t db_size_in_use = 0;  // bytes of it in use (the rest is free pages until a defrag)
  bool is_learner = false;
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
  // Linearizable read of [key, range_end) (range_end "" = single key), all pages: pages of
  // range_page_size keys, each later page read at the first page's revision (one snapshot;
  // OutOfRange if that revision is compacted meanwhile). A page over max_receive_bytes is
  // retried with half as many keys.
  virtual StatusOr<RangeResult> Range(const std::string& key, const std::string& range_end) = 0;
  virtual StatusOr<int64_t> Put(const std::string& key, const std::string& value) = 0;  // revision
  // Returns the header revision after the delete (also when nothing matched).
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

  // ---- Additions to the original contract. They have default bodies that return
  // Unimplemented, so test doubles that predate them keep compiling; the gRPC client
  // implements all of them.

  // Remaining TTL of a lease in seconds; NotFound if it expired or was revoked.
  virtual StatusOr<int64_t> LeaseTimeToLive(int64_t lease_id);
  // Discards history before `revision` (watches and reads below it then fail with
  // OutOfRange). physical = wait until the compaction is applied to the backend.
  virtual Status Compact(int64_t revision, bool physical);

  // Cluster membership (manager join: add as learner, start it, promote).
  virtual StatusOr<std::vector<Member>> MemberList();
  virtual StatusOr<MemberAddResult> MemberAdd(const std::vector<std::string>& peer_urls,
                                              bool is_learner);
  virtual StatusOr<std::vector<Member>> MemberRemove(uint64_t member_id);
  virtual StatusOr<std::vector<Member>> MemberUpdate(uint64_t member_id,
                                                     const std::vector<std::string>& peer_urls);
  // Promotes a learner that has caught up (etcd answers FailedPrecondition until it has).
  virtual StatusOr<std::vector<Member>> MemberPromote(uint64_t member_id);

  // Maintenance.Status of the connected member.
  virtual StatusOr<EndpointStatus> GetStatus();
  // Maintenance.Defragment of the connected member: rewrites its backend file without the
  // free pages (etcd's file never shrinks otherwise). The member serves nothing meanwhile;
  // allowed `timeout` (not call_timeout), as a large file takes a while.
  virtual Status Defragment(std::chrono::milliseconds timeout);
};

}  // namespace capsule::etcd
