"""Worker kill rounds: 1 manager + 2 workers, a 2-replica service on the workers using a secret.

Each round kills one worker with kill -9: odd rounds only its capsuled (its tasks and shims keep
running), even rounds the whole "machine" (capsuled, then its shims and task processes by PID,
so only the stale secret tmpfs mounts and state files remain). Then: the manager marks the node
Down and the task moves to the surviving worker (whose task reads the secret again: hash); the
dead worker restarts and must stop/remove its old task, unmount its secret tmpfs, hold no secret
in its agent, and keep no file containing the value under its data or exec root.
Addresses: 127.0.22.1 (manager), .2 (w1), .3 (w2).
"""

import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import time

import harness
import verify
from harness import busybox_image

MGR_IP, W_IPS = "127.0.22.1", {"w1": "127.0.22.2", "w2": "127.0.22.3"}
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
TERMINAL = {"complete", "shutdown", "failed", "rejected", "orphaned", "remove"}
COMMAND = 'sha256sum /run/secrets/s; trap "exit 0" TERM; sleep 1d & wait'


def pct(values):
    """{"p50", "max"} of a list of milliseconds (None for both when empty)."""
    if not values:
        return {"p50": None, "max": None}
    return {"p50": round(statistics.median(values)), "max": round(max(values))}


def _out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class WorkerRounds:
    def __init__(self, rounds, seed, tmp, log):
        self.rounds, self.log = rounds, log
        self.rng = random.Random(seed + 1)
        self.problems = []
        self.reschedule_ms = []
        self.cleanup_ms = []    # restart of the dead worker → mounts, agent, containers clean
        self.stale_mounts = 0
        self.secret_files = 0
        self.verified = 0
        self.variants = []
        self.m = None
        self.w = {}
        if rounds:
            self._setup(tmp)

    # ---- setup / teardown --------------------------------------------------------------------
    def _setup(self, tmp):
        rootfs = busybox_image.build_rootfs_tar(os.path.join(tmp, "wk-rootfs.tar"))
        self.m = harness.Daemon(MGR_IP, name="wkm", extra_args=["--hostname", "wkm"])
        r = self.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                           MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(_out(r))
        token = self.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        for name, ip in W_IPS.items():
            w = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
            self.w[name] = w
            r = w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                          "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR])
            if r.returncode != 0:
                raise AssertionError(_out(r) + w.log_tail())
            r = w.docker(["import", rootfs, verify.IMAGE])
            if r.returncode != 0:
                raise AssertionError(_out(r) + w.log_tail())
        self.ids = {n: w.api("GET", "/info").json()["Swarm"]["NodeID"] for n, w in self.w.items()}

    def close(self):
        for d in list(self.w.values()) + [self.m]:
            if d is not None:
                d.close()

    # ---- observations ------------------------------------------------------------------------
    def tasks(self, sid):
        return verify.tasks_of(self.m, sid)

    def running_on(self, sid):
        return sorted(t["NodeID"] for t in self.tasks(sid)
                      if t["Status"]["State"] == "running" and t["DesiredState"] == "running")

    def node_state(self, name):
        return self.m.api("GET", f"/nodes/{self.ids[name]}").json()["Status"]["State"]

    def agent(self, w):
        r = w.api("GET", "/capsule/agent", version=None)
        return r.json() if r.status == 200 else {"error": r.status}

    def agent_settled(self, w, svc):
        a = self.agent(w)
        if a.get("Secrets") != []:
            return False
        over = {t["ID"] for t in self.tasks(svc) if t["DesiredState"] == "shutdown"
                and t["Status"]["State"] in TERMINAL}
        return set(a.get("Tasks", [])) <= over

    @staticmethod
    def secret_mounts(w):
        with open("/proc/self/mountinfo") as f:
            return [line for line in f.read().splitlines()
                    if w.exec_root in line and " - tmpfs " in line]

    @staticmethod
    def runc_containers(w):
        """{container id: pid} under the node's runc root."""
        root = os.path.join(w.exec_root, "runc")
        if not os.path.isdir(root):
            return {}
        r = subprocess.run([harness.RUNC, "--root", root, "list", "-f", "json"],
                           capture_output=True)
        items = json.loads(r.stdout or b"null") or []
        return {c["id"]: c["pid"] for c in items}

    @classmethod
    def files_with(cls, w, value):
        """Files under the node's data and exec roots holding the value (any leakscan form), not
        counting the secret tmpfs mounts of tasks running now (memory, not disk)."""
        needles = verify.needles(value)  # raw, fragments, base64, hex, UTF-16, JSON
        live = [line.split()[4] + "/" for line in cls.secret_mounts(w)]
        hits = []
        for root in (w.data_root, w.exec_root):
            for p in verify.files_under(root):
                if any(p.startswith(m) for m in live):
                    continue
                blob = verify.read_bytes(p)
                if any(n in blob for n in needles):
                    hits.append(p)
        return hits

    def node_log(self, node_id, task_id):
        """The task's log from the node's own disk (the manager serves only its own tasks' logs;
        the log holds the hash the task printed, never the value)."""
        w = next(w for n, w in self.w.items() if self.ids[n] == node_id)
        return verify.read_bytes(os.path.join(w.data_root, "tasks", task_id, "log"))

    def hashes_read(self, sid, node_id, sha):
        """Running tasks of the service on the node whose log shows the secret's hash."""
        return sum(1 for t in self.tasks(sid)
                   if t["NodeID"] == node_id and t["Status"]["State"] == "running"
                   and sha.encode() in self.node_log(node_id, t["ID"]))

    def hash_in_task_log(self, sid, node_id, sha, want=1):
        return harness.wait_until(lambda: self.hashes_read(sid, node_id, sha) >= want, 30, 0.2)

    def fail(self, rnd, msg):
        self.problems.append(f"worker round {rnd}: {msg}")

    # ---- a round -----------------------------------------------------------------------------
    def round(self, rnd):
        victim = "w1" if rnd % 2 else "w2"
        survivor = "w2" if victim == "w1" else "w1"
        variant = "machine" if rnd % 2 else "capsuled"
        self.variants.append(variant)
        vw, sw = self.w[victim], self.w[survivor]
        value = b"WORKERKILL" + os.urandom(48).hex().encode()  # >= 96 B, random tail
        sha = hashlib.sha256(value).hexdigest()
        sec = self.m.create_secret(f"wk-{rnd}", value)
        spec = verify.service_spec(f"wk{rnd}", [], command=COMMAND, replicas=2,
                                   constraints=["node.role==worker"], restart="any")
        spec["TaskTemplate"]["ContainerSpec"]["Secrets"] = [
            {"SecretID": sec, "SecretName": f"wk-{rnd}",
             "File": {"Name": "s", "UID": "0", "GID": "0", "Mode": 0o444}}]
        r = self.m.api("POST", "/services/create", spec)
        if r.status != 201:
            raise AssertionError(f"service create: {r!r}")
        svc = r.json()["ID"]
        both = sorted(self.ids.values())
        if not harness.wait_until(lambda: self.running_on(svc) == both, 90, 0.2):
            raise AssertionError(f"tasks not on both workers: {self.tasks(svc)!r}"[:3000])
        for n in ("w1", "w2"):
            if self.hash_in_task_log(svc, self.ids[n], sha):
                self.verified += 1
            else:
                self.fail(rnd, f"task on {n} did not print the secret's hash")
        old = self.runc_containers(vw)
        shims = [p for p in harness.pids_with_arg(vw.root + "/") if p != vw.pid]

        # ---- the kill
        t_kill = time.monotonic()
        vw.kill9()
        if variant == "machine":
            for pid in shims:
                _kill(pid)
            for pid in old.values():
                _kill(pid)
        if not harness.wait_until(lambda: self.node_state(victim) == "down", 30, 0.1):
            self.fail(rnd, f"{victim} not marked down within 30 s")
        moved = harness.wait_until(
            lambda: self.running_on(svc) == [self.ids[survivor]] * 2, 90, 0.1)
        if not moved:
            self.fail(rnd, f"task not rescheduled to {survivor}: {self.tasks(svc)!r}"[:2000])
        else:
            self.reschedule_ms.append((time.monotonic() - t_kill) * 1000.0)
            if self.hash_in_task_log(svc, self.ids[survivor], sha, want=2):
                self.verified += 1  # the rescheduled task (the survivor's own was counted)
            else:
                self.fail(rnd, "rescheduled task did not print the secret's hash")
        mounts_while_dead = len(self.secret_mounts(vw))

        # ---- the dead worker comes back
        t_restart = time.monotonic()
        vw.start(timeout=60)
        if not harness.wait_until(lambda: self.node_state(victim) == "ready", 30, 0.1):
            self.fail(rnd, f"{victim} not Ready after restart")
        harness.wait_until(lambda: self.secret_mounts(vw) == [], 30, 0.2)
        stale = self.secret_mounts(vw)
        self.stale_mounts += len(stale)
        if stale:
            self.fail(rnd, f"{len(stale)} secret tmpfs mount(s) left on {victim}: {stale[:2]}")
        # The agent holds no secret and runs nothing: a task it still lists must be one the
        # manager records as over (the old task stays in the node's assignment set, orphaned,
        # until the manager reaps it).
        if not harness.wait_until(lambda: self.agent_settled(vw, svc), 30, 0.2):
            a = self.agent(vw)
            why = [(t["ID"], t["Status"]["State"], t["DesiredState"])
                   for t in self.tasks(svc) if t["ID"] in a.get("Tasks", [])]
            self.fail(rnd, f"{victim}'s agent after restart: {a}; manager: {why}")
        harness.wait_until(lambda: self.runc_containers(vw) == {}, 30, 0.2)
        self.cleanup_ms.append((time.monotonic() - t_restart) * 1000.0)
        left = self.runc_containers(vw)
        if left:
            self.fail(rnd, f"old containers still on {victim}: {left}")
        alive = [p for p in old.values() if harness.pid_alive(p)]
        if alive:
            self.fail(rnd, f"old task processes still alive on {victim}: {alive}")
        other = harness.mounts_below(vw.exec_root)
        if other:
            self.fail(rnd, f"mounts left under {victim}'s exec root: {other[:3]}")
        files = self.files_with(vw, value) + self.files_with(sw, value)
        self.secret_files += len(files)
        if files:
            self.fail(rnd, f"files containing the secret: {files[:3]}")
        if verify.leaks_in(vw.log_bytes() + sw.log_bytes() + self.m.log_bytes(), [value]):
            self.fail(rnd, "the secret's value is in a daemon log")
        if rnd == 1:
            self.control(vw, value)
        self.log(f"worker round {rnd} ({variant} of {victim}): rescheduled after "
                 f"{self.reschedule_ms[-1] if moved else float('nan'):.0f} ms; "
                 f"{len(old)} task(s) and {mounts_while_dead} secret mount(s) on the dead "
                 f"node; after restart {len(stale)} stale mounts, {len(files)} files "
                 f"(clean {self.cleanup_ms[-1]:.0f} ms after the restart)")
        verify.remove_service(self.m, svc)
        self.m.api("DELETE", f"/secrets/{sec}")

    def control(self, w, value):
        """The disk scan can fail: a planted base64 copy of the value is found."""
        planted = os.path.join(w.data_root, "planted-by-fault-test")
        with open(planted, "wb") as f:
            f.write(b"xx" + harness.b64(b"Q" + value).encode() + b"yy")
        try:
            if planted not in self.files_with(w, value):
                self.problems.append("control: planted value not found by the disk scan")
        finally:
            os.unlink(planted)

    def run(self):
        for rnd in range(1, self.rounds + 1):
            self.round(rnd)

    def figures(self):
        return {"worker_reschedule_ms": pct(self.reschedule_ms),
                "worker_cleanup_after_restart_ms": pct(self.cleanup_ms),
                "stale_mounts_after_restart": self.stale_mounts,
                "secret_files_on_disk": self.secret_files,
                "worker_verified_through_task": self.verified,
                "worker_kill_variants": self.variants}


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
