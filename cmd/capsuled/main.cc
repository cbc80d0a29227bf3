// capsuled: one per node. Serves the Docker Engine API on a unix socket; a manager runs
// and supervises its etcd member. Logs go to stderr only.
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/secret_bytes.h"
#include "crypto/random.h"
#include "dockerapi/http/server.h"
#include "dockerapi/routes.h"
#include "node/daemon.h"

namespace {

// No core dumps, no ptrace by other users, no /proc/<pid>/mem reads by non-root: the
// process holds secrets.
void HardenProcess() {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// The soft descriptor limit up to the hard one, as Go programs (dockerd, etcd) do since Go
// 1.19: the swarm port alone may hold ~1,100 connections of strangers (transport::FrontLimits),
// and the common soft default is 1,024. Children (etcd, runc) inherit it; tasks get their own
// limit from their OCI spec.
void RaiseDescriptorLimit() {
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

int DockerGroupId() {
  struct group* g = getgrnam("docker");
  return g != nullptr ? static_cast<int>(g->gr_gid) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  capsule::node::DaemonOptions options;
  std::string host = "unix:///run/capsule/capsule.sock";
  std::string log_level = "info";
  CLI::App app{"capsuled: Capsule node daemon (swarm-mode secrets, Docker Engine API)"};
  app.add_option("--data-root", options.data_root, "Persistent state directory")
      ->capture_default_str();
  app.add_option("--exec-root", options.exec_root, "Runtime state directory")
      ->capture_default_str();
  app.add_option("-H,--host", host, "API socket (unix://PATH)")->capture_default_str();
  app.add_option("--etcd-binary", options.etcd_binary, "etcd executable")->capture_default_str();
  app.add_option("--etcd-peer-port", options.etcd_peer_port,
                 "etcd peer port (default: swarm port + 3)");
  app.add_option("--hostname", options.hostname, "Hostname this node reports");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  // Hidden, for tests only: Docker refuses a NodeCertExpiry under 1 h, so seeing renewals within
  // a test needs a shorter validity (overrides the cluster spec's on this node's CA and for its
  // own certificate) and a short check period.
  int64_t node_cert_validity_s = 0;
  int64_t cert_check_period_s = capsule::node::kDefaultCertCheckPeriod.count();
  app.add_option("--node-cert-validity", node_cert_validity_s,
                 "Node certificate validity in seconds (tests only; 0 = cluster spec)")
      ->group("")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cert-check-period", cert_check_period_s,
                 "Seconds between certificate renewal checks (tests only)")
      ->group("")
      ->check(CLI::PositiveNumber);
  // Hidden, for tests only: how long a rotated-out unlock key still unlocks (default 10 min).
  int64_t unlock_key_grace_s = capsule::node::kDefaultUnlockKeyGrace.count();
  app.add_option("--unlock-key-grace", unlock_key_grace_s,
                 "Seconds the previous unlock key still unlocks after a rotation (tests only)")
      ->group("")
      ->check(CLI::NonNegativeNumber);
  // Hidden, for tests only: a pause between a rotation's new current version and its pins, so
  // that a test can kill -9 the manager in that window (the pins are one etcd Txn otherwise).
  int64_t rotation_pin_delay_ms = 0;
  app.add_option("--rotation-pin-delay-ms", rotation_pin_delay_ms,
                 "Pause before a secret rotation pins the services, in ms (tests only)")
      ->group("")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--audit-max-entries", options.audit_max_entries,
                 "Secrets audit log: newest events kept (trimmed in batches of a tenth)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, capsule::audit::kMaxMaxEntries));
  app.add_option("--insecure-registry", options.registries.insecure,
                 "Registry (host:port) spoken to in plain HTTP instead of HTTPS (repeatable)");
  // Hidden, for tests only: Docker's certs.d convention in a directory of the test's own, so
  // tests never write under /etc.
  app.add_option("--registry-certs-dir", options.registries.certs_dir,
                 "Per-registry CA certificates (<dir>/<host:port>/ca.crt; tests only)")
      ->group("")
      ->capture_default_str();
  // Hidden, for tests only: no registry outside 127.0.0.0/8 is ever contacted (an image name
  // without a registry means Docker Hub).
  app.add_flag("--registries-loopback-only", options.registries.loopback_only,
               "Contact loopback registries only (tests only)")
      ->group("");
  // Hidden, for tests only: a wrapper around runc that makes an executor call hang.
  app.add_option("--runc-binary", options.runc_binary, "runc executable (tests only)")
      ->group("")
      ->capture_default_str();
  // Hidden, for tests only (hostile-client tests): the API server's limit for reading one
  // request's headers and body; a client that stalls longer is disconnected.
  int64_t http_read_timeout_ms = 30000;
  app.add_option("--http-read-timeout-ms", http_read_timeout_ms,
                 "API read timeout per request in milliseconds (tests only)")
      ->group("")
      ->check(CLI::PositiveNumber);
  // Hidden, for tests only (a crash loop's etcd size, scaled down): the etcd member's
  // compaction retention and how often it is compacted/defragmented.
  int64_t etcd_compaction_retention_ms = options.etcd_maintenance.retention.count();
  int64_t etcd_maintenance_interval_ms = options.etcd_maintenance.interval.count();
  app.add_option("--etcd-compaction-retention-ms", etcd_compaction_retention_ms,
                 "etcd history kept, in milliseconds (tests only)")
      ->group("")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--etcd-maintenance-interval-ms", etcd_maintenance_interval_ms,
                 "Milliseconds between etcd compaction/defragmentation checks (tests only)")
      ->group("")
      ->check(CLI::PositiveNumber);
  app.add_option("--etcd-defrag-min-bytes", options.etcd_maintenance.defrag_min_bytes,
                 "Smallest etcd backend file that is defragmented (tests only)")
      ->group("")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  options.etcd_maintenance.retention = std::chrono::milliseconds(etcd_compaction_retention_ms);
  options.etcd_maintenance.interval = std::chrono::milliseconds(etcd_maintenance_interval_ms);
  options.node_cert_validity = std::chrono::seconds(node_cert_validity_s);
  options.cert_check_period = std::chrono::seconds(cert_check_period_s);
  options.unlock_key_grace = std::chrono::seconds(unlock_key_grace_s);
  options.rotation_pin_delay = std::chrono::milliseconds(rotation_pin_delay_ms);

  capsule::Status s = capsule::InitLogging(log_level);
  if (!s.ok()) {
    std::fprintf(stderr, "capsuled: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const std::string prefix = "unix://";
  if (host.compare(0, prefix.size(), prefix) != 0 || host.size() == prefix.size()) {
    spdlog::error("--host must be unix://PATH, got {}", host);
    return 2;
  }
  HardenProcess();
  RaiseDescriptorLimit();
  if (!capsule::SecretBytes::LockProcessMemory()) {
    spdlog::warn("mlockall failed ({}); secret buffers are locked one by one",
                 std::strerror(errno));
  }
  // Debian's Abseil keeps mutex deadlock detection on; gRPC's mutexes then pay for a lock
  // graph on every acquisition. Capsule's own code uses std::mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  s = capsule::crypto::InitCrypto();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }

  // SIGTERM/SIGINT are taken synchronously by main; every other thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // One daemon per socket: refused before any state is touched (the server checks again, under
  // a lock, when it binds); the data root's lock is the daemon's first step.
  const std::string socket_path = host.substr(prefix.size());
  s = capsule::http::CheckNotServed(socket_path);
  if (!s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return 1;
  }
  capsule::node::Daemon daemon(options);
  s = daemon.Start();
  if (!s.ok()) {
    spdlog::error("start failed: {}", s.ToString());
    return 1;
  }

  capsule::http::Router router;
  capsule::dockerapi::RegisterAllRoutes(router, daemon);
  capsule::http::ServerOptions server_options;
  server_options.socket_path = socket_path;
  server_options.socket_mode = 0660;
  server_options.socket_gid = DockerGroupId();
  // The largest request the API takes is a 500 KB secret (≈ 683 KB as base64 in JSON).
  server_options.body_limit = 4 << 20;
  server_options.read_timeout = std::chrono::milliseconds(http_read_timeout_ms);
  server_options.common_headers = capsule::dockerapi::CommonHeaders;
  capsule::http::Server server(server_options, router);
  s = server.Start();
  if (!s.ok()) {
    spdlog::error("API server: {}", s.ToString());
    daemon.Stop();
    return 1;
  }
  spdlog::info("capsuled serving the Docker Engine API on {}", host);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  server.Stop();
  daemon.Stop();
  spdlog::info("capsuled stopped");
  return 0;
}
