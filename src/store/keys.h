// The etcd key layout. Everything lives under /capsule/v1/:
//   objects/<kind>/<id>        an object (sealed Record)
//   names/<kind>/<hmac>        name-uniqueness key of a named object (sealed object ID);
//                              <hmac> = Keyring::NameIndex(name), so names never appear in clear
//   keys/keyring               the DEK keyring, wrapped by the KEK (not sealed by a DEK)
//   election/leader            the leader's node ID in clear, under the leader's lease
//                              (manager/election/elector.h); fenced writes compare on it
//   audit/<event key>          a secrets audit event (sealed; audit/etcd_log.h), written by
//                              the recorder or with the change it records (SideWrite)
#pragma once

#include <string>
#include <string_view>

namespace capsule::store {

inline constexpr char kRoot[] = "/capsule/v1/";
inline constexpr char kObjectsPrefix[] = "/capsule/v1/objects/";
inline constexpr char kKeyringKey[] = "/capsule/v1/keys/keyring";
inline constexpr char kLeaderKey[] = "/capsule/v1/election/leader";
inline constexpr char kAuditPrefix[] = "/capsule/v1/audit/";

std::string ObjectKey(std::string_view kind, std::string_view id);
std::string KindPrefix(std::string_view kind);
std::string NameKey(std::string_view kind, std::string_view name_index);

// Splits "/capsule/v1/objects/<kind>/<id>"; false if key is not an object key.
bool ParseObjectKey(std::string_view key, std::string* kind, std::string* id);

}  // namespace capsule::store
