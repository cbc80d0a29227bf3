"""A swarm of several managers (and workers) on loopback, for the HA test modules.

start(test_cls, ips, managers, workers=(), ...) starts one Daemon per name (each its own
capsuled, etcd and data root on ips[name], `--hostname <name>`), runs `swarm init` on the first
manager, joins the other managers with the manager token and the workers with the worker token,
and registers every daemon's close as a class cleanup (so a failure half-way still stops what
was started). Any step that fails raises AssertionError with the CLI's output and the daemon's
log tail. Python 3 stdlib only.

Also what the role-change modules read of a node: its etcd member list (etcdctl on the member's
own client socket) and the role (OU) in a certificate.
"""

import json
import os
import subprocess

from .daemon import SWARM_PORT, Daemon


def output(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def swarm_addr(ips, name):
    return f"{ips[name]}:{SWARM_PORT}"


def _ok(r, what, daemon):
    if r.returncode != 0:
        raise AssertionError(f"{what}: {output(r)}\n{daemon.log_tail()}")


class Cleanups:
    """Stands in for a test class outside unittest (fault suites, benchmarks): start() registers
    every daemon's close here; run() calls them in reverse order, going on past errors."""

    def __init__(self):
        self.fns = []

    def addClassCleanup(self, fn, *args, **kwargs):  # noqa: N802 — unittest's name
        self.fns.append((fn, args, kwargs))

    def run(self):
        for fn, args, kwargs in reversed(self.fns):
            try:
                fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 — cleanup goes on
                print(f"cleanup: {type(e).__name__}: {e}", flush=True)


def start(test_cls, ips, managers, workers=(), join_workers_via=None, heartbeat=None):
    """→ {name: Daemon} for every name in managers + workers, the swarm formed.

    managers[0] runs `swarm init` (with `--dispatcher-heartbeat <heartbeat>` when given); the
    other managers join through it; workers join through `join_workers_via` (default: the
    first manager)."""
    daemons = {}
    for name in list(managers) + list(workers):
        daemons[name] = Daemon(ips[name], name=name, extra_args=["--hostname", name])
        test_cls.addClassCleanup(daemons[name].close)
    first = daemons[managers[0]]
    init = ["swarm", "init", "--advertise-addr", ips[managers[0]], "--listen-addr",
            swarm_addr(ips, managers[0])]
    if heartbeat:
        init += ["--dispatcher-heartbeat", heartbeat]
    _ok(first.docker(init), "swarm init", first)
    for role, names in (("manager", managers[1:]), ("worker", workers)):
        if not names:
            continue
        token = first.docker(["swarm", "join-token", "-q", role]).stdout.decode().strip()
        via = managers[0] if role == "manager" else (join_workers_via or managers[0])
        for name in names:
            r = daemons[name].docker(["swarm", "join", "--token", token, "--advertise-addr",
                                      ips[name], "--listen-addr", swarm_addr(ips, name),
                                      swarm_addr(ips, via)])
            _ok(r, f"join {name}", daemons[name])
    return daemons


def agent_status(daemon):
    """The node's GET /capsule/agent ({} while it does not answer)."""
    try:
        r = daemon.api("GET", "/capsule/agent", version=None, retry=False)
    except OSError:
        return {}
    return r.json() if r.status == 200 else {}


def session_manager(daemon, by_addr):
    """by_addr[the swarm address of the manager the node's session is with]; None when the
    node is not connected (or the address is not in by_addr)."""
    a = agent_status(daemon)
    return by_addr.get(a.get("Manager")) if a.get("Connected") else None


# ---- who leads -------------------------------------------------------------------------------
def run_log(daemon):
    """The log of the daemon's current run (the harness marks each start)."""
    log = daemon.log_bytes().decode(errors="replace")
    return log[log.rfind("===== harness: start #"):]


def log_says_leader(daemon):
    """Whether the daemon's latest election line says it leads (the elector's own word)."""
    log = run_log(daemon)
    won = log.rfind("election: this manager")
    return won >= 0 and "is the leader" in log[won:log.find("\n", won)]


def leader_seen_by(daemon, names):
    """names[the node ID `daemon` shows with ManagerStatus.Leader], or None (no single leader
    shown, or the daemon does not answer)."""
    try:
        r = daemon.api("GET", "/nodes")
    except Exception:  # noqa: BLE001 — a manager restarting answers nothing for a moment
        return None
    if r.status != 200:  # e.g. 500 while the swarm has no quorum
        return None
    nodes = r.json()
    leaders = [n["ID"] for n in nodes if (n.get("ManagerStatus") or {}).get("Leader")]
    return names.get(leaders[0]) if len(leaders) == 1 else None


def current_leader(among, up, names):
    """The one daemon of `among` whose log says it leads and whom every daemon of `up` shows as
    Leader (names: node ID → daemon name); None until they agree."""
    claim = [d for d in among if log_says_leader(d)]
    if len(claim) != 1:
        return None
    name = claim[0].name
    if all(leader_seen_by(d, names) == name for d in up):
        return claim[0]
    return None


def etcd_member_list(daemon):
    """The members (etcdctl's JSON objects: ID, name, peerURLs, isLearner) that daemon's own
    etcd member lists; None when it cannot say (no member running, no quorum)."""
    sock = os.path.join(daemon.data_root, "etcd", "client.sock:2379")
    r = subprocess.run(["etcdctl", "--endpoints", f"unix://{sock}", "member", "list", "-w",
                        "json"], capture_output=True, env={**os.environ, "ETCDCTL_API": "3"},
                       timeout=20)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout).get("members", [])


def cert_ou(path):
    """The OU (the swarm role: swarm-manager / swarm-worker) of the PEM certificate at path."""
    r = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", path],
                       capture_output=True, timeout=20)
    for part in r.stdout.decode().replace("subject=", "").split(","):
        k, _, v = part.strip().partition("=")
        if k.strip() == "OU":
            return v.strip()
    return None
