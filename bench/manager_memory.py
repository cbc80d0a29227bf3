"""The manager's memory with N connected workers (issue 3's figure).

Starts a real capsuled manager on 127.0.10.9 (the test_renewal block; do not run both at
once), `swarm init`, then build/bin/swarm_load joins N workers with the worker token and
holds one Dispatcher session + heartbeats per worker. Prints capsuled's VmRSS (and its etcd
child's) before and with the N sessions, once every node is Ready.
Run: PYTHONPATH=tests CAPSULED=build/bin/capsuled SWARM_LOAD=build/bin/swarm_load \
       python3 bench/manager_memory.py [N]
"""

import os
import subprocess
import sys
import time

import harness

IP = "127.0.10.9"
ADDR = f"{IP}:{harness.SWARM_PORT}"


def rss_kib(pid):
    return harness.proc_status_kib(pid, "VmRSS") or 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    load = os.environ.get("SWARM_LOAD", "build/bin/swarm_load")
    m = harness.Daemon(IP, name="m", extra_args=["--hostname", "mgr"])
    try:
        r = m.docker(["swarm", "init", "--advertise-addr", IP, "--listen-addr", ADDR])
        assert r.returncode == 0, r.stderr
        token = m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        time.sleep(2)
        before = rss_kib(m.pid), rss_kib(m.etcd_pid())
        t0 = time.monotonic()
        p = subprocess.Popen([load, ADDR, token, str(n), "3600"], stdout=subprocess.PIPE)
        try:
            line = p.stdout.readline().decode().strip()
            joined = time.monotonic() - t0
            assert line == f"connected {n}", line

            def all_ready():
                nodes = m.api("GET", "/nodes").json()
                return sum(x["Status"]["State"] == "ready" for x in nodes) == n + 1

            assert harness.wait_until(all_ready, 60, 0.2), "not all Ready"
            time.sleep(10)  # two heartbeat periods of steady state
            after = rss_kib(m.pid), rss_kib(m.etcd_pid())
        finally:
            p.terminate()
            p.wait(timeout=30)
        print(f"FIGURE: {n} workers joined + sessions open in {joined:.1f} s")
        print(f"FIGURE: capsuled VmRSS {before[0] / 1024:.1f} MiB idle -> "
              f"{after[0] / 1024:.1f} MiB with {n} connected workers "
              f"(+{(after[0] - before[0]) / n:.0f} KiB/worker); "
              f"etcd {before[1] / 1024:.1f} -> {after[1] / 1024:.1f} MiB")
    finally:
        m.close()


if __name__ == "__main__":
    main()
