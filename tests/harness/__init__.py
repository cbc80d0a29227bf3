"""Capsule's Python test harness: real capsuled processes on temp roots and unix sockets, a
Docker API client, /proc helpers, the docker CLIs, a busybox image and leak scanners — shared by
tests/integration, tests/fault and bench/. Python 3 standard library only.

Import it as `import harness` (and `from harness import busybox_image, leakscan`) with tests/
on the module path: CTest sets PYTHONPATH=<checkout>/tests; by hand, from the checkout,
  PYTHONPATH=tests python3 bench/scale_bench.py --short
  cd tests/integration && PYTHONPATH=.. python3 -m unittest -v test_edge_cases

Modules: daemon (Daemon, binaries, ports), api (ApiClient, Docker formats and messages), procs
(/proc, wait_until), docker_cli (20.10 and the optional second CLI), etcd_peer (a GET on a
member's peer port over TLS), busybox_image, leakscan. The names below are
re-exported so that `harness.Daemon`, `harness.b64`, ... work.

Loopback address allocation (so test modules can run in parallel without clashing on the swarm
port 2377 / etcd peer port 2380). Each module owns one 127.0.M.0/24 block; each daemon inside a
module uses its own last octet:
  127.0.1.x  test_edge_cases
  127.0.2.x  test_docker_cli
  127.0.3.x  test_restart
  127.0.4.x  test_two_daemons
  127.0.5.x  test_canary
  127.0.6.x  test_modes
  127.0.7.x  test_multinode
  127.0.9.x  bench/ (compare_oracle.sh)
  127.0.10.x test_renewal
  127.0.11.x test_services_api
  127.0.15.x test_images
  127.0.16.x test_services
  127.0.17.x test_services_multinode
  127.0.18.x tests/fault/crash_safety.py (capsuled / etcd kill rounds)
  127.0.19.x test_hostile_input
  127.0.20.x test_leaks
  127.0.21.x bench/scale_bench.py (prove.scale)
  127.0.22.x tests/fault/crash_safety.py (worker kill rounds)
  127.0.23.x test_peer_port
  127.0.24.x test_lifecycle
  127.0.25.x test_edges
  127.0.30.x tests/redteam/test_confinement (seccomp, masked paths, ulimits)
  127.0.31.x tests/redteam/test_resources (limits, reservations, fork bomb, OOM)
  127.0.32.x tests/redteam/test_hostile_images
  127.0.33.x tests/redteam/test_swarm_port
  127.0.34.x tests/redteam/test_large_secret_sets
  127.0.35.x tests/redteam/test_api_socket
  127.0.36.x tests/redteam/test_earlier_attacks
  127.0.42.x test_networks
  127.0.43.x test_ha_join
  127.0.44.x test_pull (its own docker-registry on .1, a throttling relay on .2)
  127.0.48.x test_service_pull (its own docker-registry on .1; a manager and two workers)
  127.0.49.x test_resolve_image (its own docker-registry on .1, nothing on .2: a registry down)
  127.0.50.x test_ha_election
  127.0.51.x test_autolock
  127.0.52.x test_secret_versions
  127.0.53.x test_secret_audit
  127.0.54.x test_worker_failover
  127.0.55.x test_node_roles
  127.0.56.x test_quorum_loss
  127.0.57.x test_ha_down
  127.0.58.x bench/rotation_bench.py
  127.0.59.x test_secret_refresh
  127.0.60.x test_data_key_rotation
  127.0.61.x test_role_change
  127.0.62.x test_force_new_cluster
  127.0.63.x test_rotation_worker_down
  127.0.64.x tests/fault/ha_faults
  127.0.65.x bench/ha_bench.py (.1-.3 capsuled, .11-.13 the Docker oracle's dockerd)
  127.0.66.x test_ca_rotation
  127.0.67.x test_autolock_ha
  127.0.68.x test_ha_logs
  127.0.69.x test_demoted_manager
  127.0.70.x test_secret_rotation_safety
  127.0.71.x bench/profile_create.py
  127.0.72.x test_ca_rotation_ha
  127.0.73.x test_autolock_demoted
127.0.0.1 is left to the Docker oracle (bench/compare_oracle.sh).
"""

from .api import (ALREADY_IN_SWARM, API_VERSION, NOT_IN_SWARM, NOT_MANAGER, ApiClient, Response,
                  UnixHTTPConnection, b64, demux_stream)
from .daemon import (CAPSULE_CLI, CAPSULED, ETCD, ETCD_PEER_PORT, EXTERNAL, RUNC, SWARM_PORT,
                     Daemon, DaemonError, ExternalDaemon)
from .docker_cli import (DOCKER_2, DOCKER_20, DOCKER_CLIS, NO_SECOND_CLI, OTHER_CLI, cli_label,
                         report_second_cli, require_docker_cli)
from .etcd_peer import etcd_peer_get
from .procs import (child_pids, die_with_parent, mounts_below, pid_alive, pids_with_arg,
                    proc_cmdline, proc_status_kib, wait_until)

__all__ = [
    "ALREADY_IN_SWARM", "API_VERSION", "ApiClient", "CAPSULED", "CAPSULE_CLI", "DOCKER_2",
    "DOCKER_20", "DOCKER_CLIS", "Daemon", "DaemonError", "ETCD", "ETCD_PEER_PORT", "EXTERNAL",
    "ExternalDaemon", "NOT_IN_SWARM", "NOT_MANAGER", "NO_SECOND_CLI", "OTHER_CLI", "RUNC",
    "Response", "SWARM_PORT", "UnixHTTPConnection", "b64", "child_pids", "cli_label",
    "demux_stream", "die_with_parent", "etcd_peer_get", "mounts_below", "pid_alive",
    "pids_with_arg", "proc_cmdline", "proc_status_kib", "report_second_cli",
    "require_docker_cli", "wait_until",
]

report_second_cli()  # once per test process: says plainly when only 20.10 ran
