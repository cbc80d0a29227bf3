// The etcd-backed Store: each object a key under /capsule/v1/objects/ (store/keys.h), every
// value sealed under the cluster DEK with its etcd key as associated data, names kept as
// HMAC-ed name keys. Writes go through a GroupCommitter (store/group_commit.h): a lone write is
// one etcd transaction of its own; concurrent writes to distinct objects, and the writes of
// one WriteBatch, share transactions (and so revisions), each with its own answer. Fenced
// views (NewFencedStore) add the leader fence to every write, next to the write's own compares
// (txn_batch.h), so fenced and unfenced writes still share transactions. Thread-safe.
#pragma once

#include <functional>
#include <memory>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keyring.h"
#include "store/etcd/etcd_client.h"
#include "store/fence.h"
#include "store/store.h"

namespace capsule::store {

// `client` and `keyring` must outlive the store.
std::unique_ptr<Store> NewEtcdStore(etcd::Client& client, const crypto::Keyring& keyring);

// A view of `store` (made by NewEtcdStore) for leader work: every write through it (Create,
// Update, Delete, each write of a WriteBatch) carries the fence's compare in the same Txn as
// its own compares (store/fence.h), so it applies only while the fence holds; one whose fence
// fails writes nothing and answers FailedPrecondition kNotLeaderMessage, and `on_fence_failed`
// (may be empty) then runs on the writer's thread (it must not wait for that writer). Reads,
// watches and LastWrittenRevision are `store`'s. The view must not outlive `store`.
// InvalidArgument if `store` is not an etcd store or the fence key is an object key.
StatusOr<std::unique_ptr<Store>> NewFencedStore(Store& store, Fence fence,
                                                std::function<void()> on_fence_failed);

// Reads the keyring from etcd (unwrapping it with kek) or, if there is none yet, stores
// `fresh` (wrapped) and returns it. DataLoss if the stored keyring does not open with kek.
// Reads the keyring from etcd (a manager that joined an existing swarm: it must be there).
// NotFound if there is none; DataLoss if it does not open with kek.
StatusOr<crypto::Keyring> LoadKeyring(etcd::Client& client, const SecretBytes& kek);

StatusOr<crypto::Keyring> LoadOrStoreKeyring(etcd::Client& client, const SecretBytes& kek,
                                             crypto::Keyring fresh);

}  // namespace capsule::store
