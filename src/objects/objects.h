// Capsule's stored objects and their Docker Engine API JSON. Each object has a typed struct
// (what the code works with), an encoding for the store (Meta: non-secret JSON; secret data
// is carried separately in the store record, see store/record.h) and a renderer for the API.
// Version.Index is never stored: it is the etcd mod_revision, supplied when rendering.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace capsule {

using Json = nlohmann::ordered_json;
using Labels = std::map<std::string, std::string>;

// Kinds, as they appear in store keys (/capsule/v1/<kind>/<id>).
inline constexpr char kSecretsKind[] = "secrets";
inline constexpr char kConfigsKind[] = "configs";
inline constexpr char kClusterKind[] = "cluster";
inline constexpr char kNodesKind[] = "nodes";
inline constexpr char kCaKind[] = "ca";

struct Driver {
  std::string name;
  std::map<std::string, std::string> options;
};

// One version of a secret's data (Capsule's extension, never in Docker's JSON; see
// docs/secret-versions.md). The data of version 1 is the secret record's own data part (where
// it always was); version n >= 2 is the store object secretversions/<secret ID>.<n>.
struct SecretVersion {
  int64_t number = 1;
  TimePoint created_at;
  int64_t created_by_uid = -1;  // the caller's uid; -1 = not known
  // Hex HMAC-SHA256 of the data under the cluster's digest key; "" = not computed yet (a
  // version 1 made before versions existed).
  std::string digest;
};

struct Secret {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  std::string name;
  Labels labels;
  std::optional<Driver> driver;
  std::optional<Driver> templating;
  // Capsule's extension (stored, never rendered by RenderSecret): the version tasks get now,
  // and the versions kept, oldest first. Empty `versions` = a secret that was never rotated
  // (only version 1, its data in the record).
  int64_t current_version = 1;
  std::vector<SecretVersion> versions;
};

// Docker's swarm config: a secret's sibling (name, labels, data kept with the object and sealed
// like a secret's; no driver). Unlike a secret's, its Data is shown by inspect and list.
struct Config {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  std::string name;
  Labels labels;
  std::optional<Driver> templating;
};

struct ClusterSpec {
  std::string name = "default";
  Labels labels;
  int64_t task_history_retention_limit = 5;
  uint64_t snapshot_interval = 10000;
  uint64_t keep_old_snapshots = 0;
  uint64_t log_entries_for_slow_followers = 500;
  int64_t election_tick = 10;
  int64_t heartbeat_tick = 1;
  int64_t heartbeat_period_ns = 5000000000LL;
  int64_t node_cert_expiry_ns = 7776000000000000LL;
  bool autolock_managers = false;
  // Set by `swarm init --default-addr-pool/--default-addr-pool-mask-length` only (Docker's
  // Cluster.DefaultAddrPool and SubnetSize, rendered beside the Spec, not in it): where the
  // subnets of networks created without IPAM configs come from. A swarm update keeps them.
  std::vector<std::string> default_addr_pool = {"10.0.0.0/8"};
  uint32_t subnet_size = 24;
  // Capsule's extension (stored, never in Docker's JSON; a Docker swarm update keeps it): how
  // many old versions of each secret are kept besides the current one (docs/secret-versions.md).
  int64_t secret_versions_kept = 2;
  // CAConfig.ForceRotate: a change starts a root rotation (docs/ca-rotation.md).
  uint64_t ca_force_rotate = 0;
  // CAConfig.SigningCACert: the root an operator supplied for the last rotation ("" = none).
  // Its key (SigningCAKey) is never kept in the spec: it goes sealed into the CA record.
  std::string signing_ca_cert;
};

struct Cluster {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  ClusterSpec spec;
  std::string root_ca_cert_pem;        // TLSInfo.TrustRoot (public)
  std::string cert_issuer_subject;     // TLSInfo.CertIssuerSubject: base64 DER subject
  std::string cert_issuer_public_key;  // TLSInfo.CertIssuerPublicKey: base64 DER SPKI
  std::string worker_join_token;
  std::string manager_join_token;
  // A root rotation in progress (RootRotationInProgress): the new root, and the new root
  // cross-signed by the current one. Both empty when none runs.
  std::string rotation_cert_pem;
  std::string rotation_cross_signed_pem;
};

struct Node {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  std::string hostname;
  std::string spec_name;         // Spec.Name (optional)
  std::string role = "manager";  // manager | worker: the observed role
  // Spec.Role (swarmkit's Spec.DesiredRole): what `node promote|demote` asked for; the leader's
  // role reconciler (manager/membership/role_reconciler.h) makes `role` follow it. "" = `role`
  // (objects stored before role changes existed).
  std::string desired_role;
  std::string availability = "active";  // active | pause | drain
  Labels labels;
  std::string state = "ready";  // unknown | down | ready | disconnected
  std::string addr;             // Status.Addr (the advertise IP)
  std::string manager_addr;     // ManagerStatus.Addr (ip:port); empty for workers
  bool leader = false;
  std::string engine_version;
  std::string os = "linux";
  std::string architecture = "x86_64";
  // Description.Resources: the machine's CPUs (x 1e9) and memory, as the node reported them;
  // 0 = not reported.
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;
  // Capsule's own, not in the Docker API: the manager whose dispatcher holds the node's session
  // ("" = none known); see node/session_liveness.h.
  std::string session_manager;
  // Description.TLSInfo as the node last reported it (node/ca_sync.h): the root it trusts and
  // the issuer of the certificate it presents (base64 DER subject and public key).
  std::string tls_trust_root;
  std::string tls_issuer_subject;
  std::string tls_issuer_public_key;
};

// Store encodings (Meta JSON). Decode errors are DataLoss: stored data is ours.
std::string EncodeSecretMeta(const Secret& s);
StatusOr<Secret> DecodeSecretMeta(std::string_view meta);
std::string EncodeConfigMeta(const Config& c);
StatusOr<Config> DecodeConfigMeta(std::string_view meta);
std::string EncodeClusterMeta(const Cluster& c);
StatusOr<Cluster> DecodeClusterMeta(std::string_view meta);
std::string EncodeNodeMeta(const Node& n);
StatusOr<Node> DecodeNodeMeta(std::string_view meta);

// Docker API JSON (compact, no trailing newline).
std::string RenderSecret(const Secret& s, int64_t version);
// `data_base64`: the config's Data, already base64-encoded (Go's []byte in JSON).
std::string RenderConfig(const Config& c, int64_t version, std::string_view data_base64);
// with_tokens: JoinTokens are only shown to managers on GET /swarm.
Json ClusterJson(const Cluster& c, int64_t version, bool with_tokens);
Json NodeJson(const Node& n, int64_t version);

}  // namespace capsule
