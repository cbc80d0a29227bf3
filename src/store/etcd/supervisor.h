// Runs and supervises this manager's etcd member as a child process.
//
// The member runs with working directory <dir> (created 0700), data dir <dir>/member-data,
// client URL unix://client.sock:2379 (relative: etcd 3.4 rejects absolute unix paths), so the
// client socket is <dir>/client.sock:2379 — reachable only by root because <dir> is 0700.
// Peers listen on peer_url (an https:// or http:// URL on the advertise IP, never 0.0.0.0).
// The child gets PR_SET_PDEATHSIG(SIGKILL); its PID is written to <dir>/etcd.pid. Start()
// first kills a leftover etcd recorded in that pidfile (only if /proc/<pid>/exe is the
// configured etcd binary and /proc/<pid>/cwd is <dir>) and unlinks stale socket files in
// <dir> (before every start and restart). etcd's own log goes to our stderr.
//
// If the child dies unexpectedly the supervisor logs it and restarts it after a backoff
// (200 ms doubling to 5 s; reset after 10 s of healthy running) until Stop(). A child that
// exits with status 0 by itself is not restarted: etcd does that only when its server stopped
// on its own, i.e. when it learned that its member was removed from the cluster (e.g. another
// member ran with --force-new-cluster); restarting it on the same data would only repeat that,
// or split the cluster if enough removed members found each other. removed() then says so.
// The child is forked by a monitor thread that lives until Stop(), because
// PR_SET_PDEATHSIG fires when the forking *thread* exits. The process must not set SIGCHLD
// to SIG_IGN (the monitor reaps the child with waitpid).
// The restart backoff, the healthy-run time, Start's timeout and Stop's grace period are
// measured on the injected Clock (Start polls the socket every 20 ms of real time).
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace capsule::etcd {

struct PeerTls {
  std::string cert_file;        // PEM
  std::string key_file;         // PEM
  std::string trusted_ca_file;  // PEM; client certs are required and verified against it
  // When set, a peer (either side of a peer connection) must present a certificate with this
  // DNS SAN (etcd's --peer-cert-allowed-hostname). Capsule sets the manager role name, so a
  // certificate the swarm's CA issued to a worker cannot speak Raft to a manager's member.
  std::string allowed_hostname;
};

struct MemberConfig {
  std::string etcd_binary = "/usr/bin/etcd";
  std::string dir;              // <data-root>/etcd
  std::string name;             // member name (the node ID)
  std::string peer_url;         // e.g. https://127.0.0.1:2380
  std::string initial_cluster;  // "name=peer_url,..."; empty = "<name>=<peer_url>"
  bool new_cluster = true;      // --initial-cluster-state new|existing
  std::string cluster_token;    // --initial-cluster-token (the swarm's cluster ID)
  PeerTls peer_tls;             // empty cert_file → plain http peer URL
  std::string log_level = "warn";
  // etcd's --force-new-cluster on the first child of a Start(): the member keeps its data and
  // identity and becomes the only member of its cluster (every other member is removed). The
  // supervisor's restarts after a crash run without it, since a restart with it would remove
  // the members added since.
  bool force_new_cluster = false;
};

class Supervisor {
 public:
  // `clock` must outlive the supervisor.
  Supervisor(MemberConfig config, const Clock& clock);
  ~Supervisor();  // Stop()
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the member and waits until its client socket accepts connections (or the timeout
  // → DeadlineExceeded). Returns OK at once if already started (also when its child
  // was removed: Stop() first). Errors: InvalidArgument for
  // an empty dir/name/peer URL, a 0.0.0.0 peer URL, or an absolute socket path longer than
  // 107 bytes (sun_path; use a shorter data root); Unavailable if etcd exits before serving
  // (its reason is in its log on stderr); errno-based errors for the dir and the spawn.
  // An empty cluster_token is passed as "capsule".
  Status Start(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to 10 s, then SIGKILL. Idempotent.
  void Stop();

  // gRPC target for Client: "unix:<absolute dir>/client.sock:2379".
  std::string ClientEndpoint() const;
  // PID of the running child, or -1.
  int pid() const;
  // Number of times the child was restarted after an unexpected exit.
  int restarts() const;
  // The child exited with status 0 without being asked to (its member was removed from the
  // cluster) and was not restarted. Cleared by the next Start().
  bool removed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capsule::etcd
