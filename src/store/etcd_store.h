// The etcd-backed Store: each object a key under /capsule/v1/objects/ (store/keys.h), every
// value sealed under the cluster DEK with its etcd key as associated data, names kept as
// HMAC-ed name keys. Writes go through a GroupCommitter (store/group_commit.h): a lone write is
// one etcd transaction of its own; concurrent writes to distinct objects, and the writes of
// one WriteBatch, share transactions (and so revisions), each with its own answer. Fenced()
// views add the leader fence to every write, in the write's own compares (txn_batch.h), so
// fenced and unfenced writes still share transactions. Thread-safe.
#pragma once

#include <memory>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keyring.h"
#include "store/etcd/etcd_client.h"
#include "store/store.h"

namespace capsule::store {

// `client` and `keyring` must outlive the store.
std::unique_ptr<Store> NewEtcdStore(etcd::Client& client, const crypto::Keyring& keyring);

// Reads the keyring from etcd (unwrapping it with kek) or, if there is none yet, stores
// `fresh` (wrapped) and returns it. DataLoss if the stored keyring does not open with kek.
// Reads the keyring from etcd (a manager that joined an existing swarm: it must be there).
// NotFound if there is none; DataLoss if it does not open with kek.
StatusOr<crypto::Keyring> LoadKeyring(etcd::Client& client, const SecretBytes& kek);

StatusOr<crypto::Keyring> LoadOrStoreKeyring(etcd::Client& client, const SecretBytes& kek,
                                             crypto::Keyring fresh);

}  // namespace capsule::store
