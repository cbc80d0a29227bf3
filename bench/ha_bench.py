#!/usr/bin/env python3
"""Three managers, Capsule beside Docker (issue 12's benchmark; issue 17 part 5).

For each side, a 3-manager swarm on loopback:
  - Capsule: three capsuled (tests/harness, each its own etcd member) on 127.0.65.1-3;
  - Docker: three Debian dockerd 20.10 started by the oracle's own start.sh (its registry
    guards unchanged; own sockets, data and exec roots per instance) on 127.0.65.11-13.
Figures, all through a follower (a manager that is not the leader):
  - create p50/p90/p99 of N sequential secret creates on one keep-alive connection;
  - 16-client create throughput (creates/s) and its latencies;
  - memory per manager (VmRSS: capsuled + its etcd; dockerd + its containerd);
  - failover over R rounds: `kill -9` of the leader's whole node (Capsule: etcd member,
    capsuled, task shims; Docker: dockerd and its containerd) → the first secret create that
    succeeds through a survivor; median and max; the killed node is restarted between rounds.
Nothing is asserted about time. Only unix sockets and 127.0.65.x; no image is pulled.

  PYTHONPATH=tests CAPSULED=build/bin/capsuled CAPSULE_CLI=build/bin/capsule \
    python3 bench/ha_bench.py [--side both|capsule|docker] [--rounds 5] [--seq 300] \
    [--conc 2000] [--json out.json]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import harness
from harness import ha_swarm
from secrets_bench import Bench, Client

CAPSULE_IPS = {"m1": "127.0.65.1", "m2": "127.0.65.2", "m3": "127.0.65.3"}
DOCKER_IPS = ["127.0.65.11", "127.0.65.12", "127.0.65.13"]
HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.environ.get("ORACLE_DIR", os.path.join(HERE, "..", "..", "shared", "oracle",
                                                   "docker-swarm"))
DOCKER = "/usr/bin/docker"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_mib(pid):
    return round((harness.proc_status_kib(pid, "VmRSS") or 0) / 1024, 1) if pid else None


def children(pid):
    """Direct children of pid (from /proc/<pid>/task/*/children)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def first_create_ms(sock, prefix, t0, timeout=120):
    """Milliseconds from t0 until a secret create through sock answers 201."""
    n = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n += 1
        c = harness.ApiClient(sock, timeout=5)
        try:
            r = c.request("POST", "/secrets/create",
                          {"Name": f"{prefix}{n}", "Data": harness.b64(b"x")}, retry=False)
            if r.status == 201:
                return (time.monotonic() - t0) * 1000
        except OSError:
            pass
        finally:
            c.close()
        time.sleep(0.05)
    raise AssertionError(f"no create succeeded through {sock} within {timeout} s")


def throughput(sock, prefix, seq, conc):
    b = Bench(sock, prefix)
    out = {"create_seq": b.create_seq(seq), "create_conc16": b.create_conc(conc, 16)}
    return out


def summarize_failover(ms):
    return {"rounds_ms": [round(x) for x in ms], "median_ms": round(statistics.median(ms)),
            "max_ms": round(max(ms))}


# ---- Capsule -----------------------------------------------------------------------------------
def capsule_side(args):
    cleanups = ha_swarm.Cleanups()
    try:
        d = ha_swarm.start(cleanups, CAPSULE_IPS, ("m1", "m2", "m3"), heartbeat="1s")
        names = {x.api("GET", "/info").json()["Swarm"]["NodeID"]: n for n, x in d.items()}

        def up():
            return [x for x in d.values() if x.running()]

        def leader(among=None, timeout=60):
            got = []
            ok = harness.wait_until(
                lambda: got.append(ha_swarm.current_leader(among or up(), up(), names))
                or got[-1] is not None, timeout, 0.05)
            if not ok:
                raise AssertionError("capsule: no agreed leader")
            return got[-1]

        lead = leader()
        follower = [x for x in up() if x is not lead][0]
        log(f"capsule: leader {lead.name}, benchmarking through {follower.name}")
        res = throughput(follower.sock, "habench-", args.seq, args.conc)
        res["memory_mib"] = {x.name: {"capsuled": rss_mib(x.pid), "etcd": rss_mib(x.etcd_pid())}
                             for x in d.values()}
        ms = []
        for rnd in range(args.rounds):
            lead = leader()
            survivor = [x for x in up() if x is not lead][rnd % 2]
            etcd = lead.etcd_pid()
            t0 = time.monotonic()
            if etcd:
                os.kill(etcd, signal.SIGKILL)
            lead.kill9()
            lead.remove_tasks()
            ms.append(first_create_ms(survivor.sock, f"hafail{rnd}-", t0))
            log(f"capsule: round {rnd + 1}: {lead.name} killed, create through "
                f"{survivor.name} after {ms[-1]:.0f} ms")
            lead.start(timeout=60)
            leader(timeout=60)
        res["failover"] = summarize_failover(ms)
        return res
    finally:
        cleanups.run()


# ---- Docker ------------------------------------------------------------------------------------
class Dockerd:
    def __init__(self, i, ip):
        self.i, self.ip = i, ip
        self.sock = f"/run/docker-ha{i}.sock"
        self.env = dict(os.environ, ANCHOR_SOCK=self.sock, ANCHOR_PIDFILE=f"/run/docker-ha{i}.pid",
                        ANCHOR_DATA=f"/var/lib/docker-ha{i}", ANCHOR_EXEC=f"/run/docker-ha{i}-x",
                        ANCHOR_LOG=f"/tmp/docker-ha{i}.log")
        self.pid = None

    def start(self):
        # start.sh records its PID in /tmp/docker-anchor.started-pid (for the single oracle's
        # stop.sh): keep whatever the single oracle recorded there.
        marker = "/tmp/docker-anchor.started-pid"
        saved = open(marker).read() if os.path.exists(marker) else None
        try:
            r = subprocess.run([os.path.join(ORACLE, "start.sh")], env=self.env,
                               capture_output=True, timeout=120)
        finally:
            if saved is None:
                if os.path.exists(marker):
                    os.remove(marker)
            else:
                with open(marker, "w") as f:
                    f.write(saved)
        if r.returncode != 0:
            raise AssertionError(f"dockerd {self.i}: {r.stdout!r} {r.stderr!r}")
        with open(self.env["ANCHOR_PIDFILE"]) as f:
            self.pid = int(f.read().strip())

    def docker(self, args):
        r = subprocess.run([DOCKER, "-H", f"unix://{self.sock}"] + args, capture_output=True,
                           timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"docker {args} on {self.i}: {r.stderr.decode()}")
        return r.stdout.decode().strip()

    def api(self, method, path):
        c = Client(self.sock)
        try:
            st, body = c.call(method, path)
            return st, json.loads(body) if body else None
        finally:
            c.close()

    def alive(self):
        return self.pid is not None and harness.pid_alive(self.pid)

    def kill9(self):
        kids = children(self.pid)
        os.kill(self.pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        if not self.alive():
            return
        kids = children(self.pid)
        os.kill(self.pid, signal.SIGTERM)
        harness.wait_until(lambda: not harness.pid_alive(self.pid), 30, 0.2)
        for p in [self.pid] + kids:
            if harness.pid_alive(p):
                os.kill(p, signal.SIGKILL)

    def wipe(self):
        for key in ("ANCHOR_DATA", "ANCHOR_EXEC"):
            subprocess.run(["umount", "-R", "-l", self.env[key]], capture_output=True)
            shutil.rmtree(self.env[key], ignore_errors=True)
        for key in ("ANCHOR_SOCK", "ANCHOR_PIDFILE"):
            try:
                os.remove(self.env[key])
            except FileNotFoundError:
                pass


def docker_side(args):
    ds = [Dockerd(i + 1, ip) for i, ip in enumerate(DOCKER_IPS)]
    try:
        for x in ds:
            x.wipe()
            x.start()
        a = ds[0]
        a.docker(["swarm", "init", "--advertise-addr", a.ip, "--listen-addr", f"{a.ip}:2377",
                  "--data-path-addr", a.ip])
        token = a.docker(["swarm", "join-token", "-q", "manager"])
        for x in ds[1:]:
            x.docker(["swarm", "join", "--token", token, "--advertise-addr", x.ip,
                      "--listen-addr", f"{x.ip}:2377", "--data-path-addr", x.ip, f"{a.ip}:2377"])
        by_ip = {x.ip: x for x in ds}

        def leader(timeout=120):
            got = []

            def agreed():
                for x in ds:
                    if not x.alive():
                        continue
                    try:
                        st, nodes = x.api("GET", "/nodes")
                    except OSError:
                        return False
                    if st != 200:
                        return False
                    ms = [n.get("ManagerStatus") or {} for n in nodes]
                    if sum(1 for m in ms if m.get("Reachability") == "reachable") != sum(
                            1 for y in ds if y.alive()):
                        return False
                    lead = [m["Addr"].split(":")[0] for m in ms if m.get("Leader")]
                    if len(lead) != 1:
                        return False
                    got.append(by_ip[lead[0]])
                return True
            if not harness.wait_until(agreed, timeout, 0.2):
                raise AssertionError("docker: no agreed leader")
            return got[-1]

        lead = leader()
        follower = [x for x in ds if x is not lead][0]
        log(f"docker: leader {lead.i}, benchmarking through {follower.i}")
        res = throughput(follower.sock, "habench-", args.seq, args.conc)
        res["memory_mib"] = {f"d{x.i}": {"dockerd": rss_mib(x.pid),
                                         "containerd": rss_mib((children(x.pid) or [None])[0])}
                             for x in ds}
        ms = []
        for rnd in range(args.rounds):
            lead = leader()
            survivor = [x for x in ds if x is not lead][rnd % 2]
            t0 = time.monotonic()
            lead.kill9()
            ms.append(first_create_ms(survivor.sock, f"hafail{rnd}-", t0, timeout=180))
            log(f"docker: round {rnd + 1}: d{lead.i} killed, create through d{survivor.i} "
                f"after {ms[-1]:.0f} ms")
            lead.start()
            leader(timeout=180)
        res["failover"] = summarize_failover(ms)
        return res
    finally:
        for x in ds:
            try:
                x.stop()
            finally:
                x.wipe()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--side", choices=("both", "capsule", "docker"), default="both")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seq", type=int, default=300)
    p.add_argument("--conc", type=int, default=2000)
    p.add_argument("--json")
    args = p.parse_args()
    out = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "nproc": os.cpu_count(),
           "loadavg_start": os.getloadavg()}
    if args.side in ("both", "docker"):
        if not os.path.exists(os.path.join(ORACLE, "start.sh")):
            out["docker"] = {"skipped": f"no oracle at {ORACLE}"}
        else:
            out["docker"] = docker_side(args)
    if args.side in ("both", "capsule"):
        out["capsule"] = capsule_side(args)
    out["loadavg_end"] = os.getloadavg()
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
