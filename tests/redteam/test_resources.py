"""Red team: a task that eats memory, forks without end or asks for more than the node has
(issue 11 part 2). Real capsuled, etcd, runc and cgroups, the docker CLIs.

Each attack has a positive control that runs the same probe where the property is absent, so a
probe that cannot fail is caught:
  - memory: 200 MiB allocated under --limit-memory 32m is OOM-killed and reported as Docker
    does ("task: non-zero exit (137)"); the same task without a limit completes.
  - fork bomb: a bomb bounded at 511 processes (a binary fork tree of depth 8, so it can never
    hurt the machine even if the limit were broken) under --limit-pids 64 stays at <= 64 pids
    while the manager keeps serving (p99 latency of GET /secrets printed); the same bomb under
    the default limit (4096) reaches far more than 64.
  - reservations: a service reserving twice the node's memory stays pending with swarmkit's
    "no suitable node (insufficient resources on 1 node)"; one reserving a little runs.
  - a worker's room (class WorkerResources: a manager and a worker): the worker reports this
    machine's CPUs and memory at session start, so a reservation larger than any node stays
    pending with "insufficient resources on 2 nodes" (before workers reported, the worker was
    not checked and ran it); control: a small reservation pinned to the worker runs there. A
    restarted worker reports again and the manager writes nothing when the figures are
    unchanged (shown to fail with a manager that always writes).
The cgroup files are found from the task's PID through /proc/<pid>/cgroup, in the v1 controller
hierarchy or in the v2 one, whichever runc used on this machine.

Run: PYTHONPATH=.. python3 -m unittest -v test_resources   (from tests/redteam)
Addresses: 127.0.31.1 (single node); 127.0.31.2 (manager) and 127.0.31.3 (worker) of
WorkerResources.
"""

import json
import os
import threading
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.31.1"
MGR_IP, WORKER_IP = "127.0.31.2", "127.0.31.3"
IMAGE = "capsule/busybox:res"
BOMB_DEPTH = 8  # at most 2^9 - 1 = 511 bomb processes, whatever the limit
# Each bomb process forks its two children, then becomes `sleep` (no more forks). A failed fork
# ends that branch. pid 1 starts the bomb and becomes `sleep` itself, so it never forks again.
BOMB = ("b() { if [ $1 -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & fi; exec sleep 300; }; "
        f"b {BOMB_DEPTH} & exec sleep 600")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def read(path):
    with open(path) as f:
        return f.read().strip()


def cgroup_mounts():
    """{"v1": {controller: mountpoint}, "v2": mountpoint or None} from /proc/self/mountinfo."""
    v1, v2 = {}, None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            fstype, options = tail[0], tail[-1]
            if fstype == "cgroup2" and v2 is None:
                v2 = fields[4]
            elif fstype == "cgroup":
                for opt in options.split(","):
                    v1.setdefault(opt, fields[4])
    return {"v1": v1, "v2": v2}


def task_cgroup_file(pid, controller, v1_name, v2_name):
    """The path of a cgroup file of the process `pid`: the v1 controller's file when the process
    sits in a v1 hierarchy with that controller, else the v2 file in its unified cgroup."""
    mounts = cgroup_mounts()
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    for _, controllers, path in lines:
        if controller in controllers.split(",") and controller in mounts["v1"]:
            p = os.path.join(mounts["v1"][controller], path.lstrip("/"), v1_name)
            if os.path.exists(p):
                return p
    for hid, controllers, path in lines:
        if hid == "0" and controllers == "" and mounts["v2"]:
            p = os.path.join(mounts["v2"], path.lstrip("/"), v2_name)
            if os.path.exists(p):
                return p
    raise AssertionError(f"no {controller} cgroup file for pid {pid}: {lines} {mounts}")


def machine_resources():
    """What a node on this machine must report: {NanoCPUs, MemoryBytes} (the CPUs this process
    may run on × 1e9, as capsuled inherits the affinity; MemTotal)."""
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"NanoCPUs": len(os.sched_getaffinity(0)) * 10 ** 9, "MemoryBytes": mem_kib * 1024}


def p99(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


class Resources(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="res", extra_args=["--hostname", "res1"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpr-")
        r = cls.d.docker(["import", rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def create(self, name, flags, cmd, cli=harness.DOCKER_20):
        self.ok(self.d.docker(["service", "create", "-d", "--name", name,
                               "--restart-condition", "none"] + flags + [IMAGE, "sh", "-c", cmd],
                              cli=cli))
        self.addCleanup(self.remove, name)

    def remove(self, name):
        self.d.docker(["service", "rm", name])

    def tasks(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_task(self, service, pred, what, timeout=90):
        found = []

        def check():
            found[:] = [t for t in self.tasks(service) if pred(t)]
            return bool(found)
        self.assertTrue(harness.wait_until(check, timeout),
                        f"{service}: no task {what}:\n"
                        + json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())
        return found[0]

    def running_pid(self, service):
        t = self.wait_task(service, lambda t: t["Status"]["State"] == "running", "running")
        return t["Status"]["ContainerStatus"]["PID"]

    def node(self):
        [n] = self.d.api("GET", "/nodes").json()
        return n

    # ---- memory ----------------------------------------------------------------------------
    # tail -c keeps the last 300 MB of its input: it holds all 200 MiB of it, and is the last
    # command of the pipeline, so sh exits with its status.
    ALLOC = "head -c 209715200 /dev/zero | tail -c 300000000 >/dev/null"

    def test_memory_limit_oom_kills_and_reports_137(self):
        self.create("oom", ["--limit-memory", "32m"], self.ALLOC)
        t = self.wait_task("oom", lambda t: t["Status"]["State"] in ("failed", "complete"),
                           "finished")
        self.assertEqual(t["Status"]["State"], "failed", t)
        self.assertEqual(t["Status"]["Err"], "task: non-zero exit (137)", t)
        self.assertEqual(t["Status"]["ContainerStatus"]["ExitCode"], 137, t)
        self.assertEqual(t["Spec"]["Resources"]["Limits"], {"MemoryBytes": 32 << 20})

    def test_control_same_allocation_without_limit_completes(self):
        self.create("nooom", [], self.ALLOC)
        t = self.wait_task("nooom", lambda t: t["Status"]["State"] in ("failed", "complete"),
                           "finished")
        self.assertEqual(t["Status"]["State"], "complete", t)

    def test_limits_reach_the_tasks_cgroup(self):
        self.create("lim", ["--limit-memory", "48m", "--limit-cpu", "0.5"], "exec sleep 600")
        pid = self.running_pid("lim")
        mem = task_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
        self.assertEqual(int(read(mem)), 48 << 20, mem)
        cpu = task_cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")
        if cpu.endswith("cpu.max"):
            self.assertEqual(read(cpu), "50000 100000", cpu)
        else:
            self.assertEqual(int(read(cpu)), 50000, cpu)
            self.assertEqual(int(read(os.path.join(os.path.dirname(cpu), "cpu.cfs_period_us"))),
                             100000)
        pids = task_cgroup_file(pid, "pids", "pids.max", "pids.max")
        self.assertEqual(read(pids), "4096", pids)  # the default pids limit

    def test_control_unlimited_task_has_no_memory_limit(self):
        self.create("unl", [], "exec sleep 600")
        pid = self.running_pid("unl")
        mem = task_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
        value = read(mem)
        self.assertTrue(value == "max" or int(value) > 1 << 40, f"{mem}: {value}")

    # ---- fork bomb -------------------------------------------------------------------------
    def bomb(self, name, flags):
        """Runs the bounded bomb; returns (peak pids.current, pids.max, API latencies in s).
        GET /secrets is sampled from a second connection from before the service is created
        until it is removed, so the samples cover the bomb's burst and the time it is held at
        its limit."""
        api = self.d.new_client()
        self.addCleanup(api.close)
        latencies, failures, stop = [], [], threading.Event()

        def sample():
            while not stop.is_set():
                t0 = time.monotonic()
                r = api.request("GET", "/secrets")
                latencies.append(time.monotonic() - t0)
                if r.status != 200:
                    failures.append(r)
                time.sleep(0.02)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            self.create(name, flags, BOMB)
            pid = self.running_pid(name)
            current = task_cgroup_file(pid, "pids", "pids.current", "pids.current")
            limit = read(os.path.join(os.path.dirname(current), "pids.max"))
            peak, last_change, prev = 0, time.monotonic(), -1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                n = int(read(current))
                peak = max(peak, n)
                if n != prev:
                    prev, last_change = n, time.monotonic()
                elif time.monotonic() - last_change > 5:
                    break  # the bomb has settled
                time.sleep(0.05)
            self.remove(name)  # kill the bomb now, not at cleanup
        finally:
            stop.set()
            sampler.join(30)
        self.assertEqual(failures, [], "the API failed during the bomb")
        return peak, limit, latencies

    def test_fork_bomb_is_contained_and_manager_keeps_serving(self):
        peak, limit, latencies = self.bomb("bomb", ["--limit-pids", "64"])
        print(f"\nfork bomb under --limit-pids 64: peak pids {peak} (pids.max {limit}); "
              f"GET /secrets during the bomb: {len(latencies)} calls, "
              f"p50 {sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms, "
              f"p99 {p99(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
        self.assertEqual(limit, "64")
        self.assertLessEqual(peak, 64)
        self.assertGreaterEqual(peak, 32, "the bomb never got going: the probe proves nothing")
        self.assertLess(p99(latencies), 2.0)

    def test_control_bomb_under_default_limit_exceeds_64(self):
        peak, limit, latencies = self.bomb("bomb0", [])
        print(f"\ncontrol: same bomb under the default limit: peak pids {peak} "
              f"(pids.max {limit}); p99 GET /secrets {p99(latencies) * 1000:.1f} ms")
        self.assertEqual(limit, "4096")
        self.assertGreater(peak, 64)
        self.assertLessEqual(peak, 2 ** (BOMB_DEPTH + 1) + 1)

    # ---- reservations ----------------------------------------------------------------------
    def test_node_reports_this_machines_resources(self):
        res = self.node()["Description"]["Resources"]
        self.assertEqual(res, machine_resources())

    def test_reservation_beyond_the_node_stays_pending(self):
        mem = self.node()["Description"]["Resources"]["MemoryBytes"]
        self.create("big", ["--reserve-memory", str(2 * mem)], "exec sleep 600")
        t = self.wait_task("big", lambda t: t["Status"].get("Err"), "with an error")
        self.assertEqual(t["Status"]["State"], "pending", t)
        self.assertEqual(t["Status"]["Err"],
                         "no suitable node (insufficient resources on 1 node)", t)
        time.sleep(2)
        self.assertEqual([x["Status"]["State"] for x in self.tasks("big")], ["pending"])
        ps = self.ok(self.d.docker(["service", "ps", "--no-trunc", "big"]))
        self.assertIn("insufficient resources on 1 node", ps)

    def test_control_small_reservation_runs(self):
        self.create("small", ["--reserve-memory", "16m", "--reserve-cpu", "0.1"],
                    "exec sleep 600")
        self.running_pid("small")

    # ---- the CLIs ----------------------------------------------------------------------------
    def test_both_clis_round_trip_the_flags(self):
        for i, cli in enumerate(harness.DOCKER_CLIS):
            name = f"rt{i}"
            flags = ["--limit-memory", "64m", "--limit-cpu", "1.5", "--reserve-memory", "8m",
                     "--reserve-cpu", "0.25"]
            want_limits = {"NanoCPUs": 1500000000, "MemoryBytes": 64 << 20}
            if cli != harness.DOCKER_20:  # 20.10 has no --limit-pids
                flags += ["--limit-pids", "77"]
                want_limits["Pids"] = 77
            self.create(name, flags, "exec sleep 600", cli=cli)
            spec = json.loads(self.ok(self.d.docker(["service", "inspect", name], cli=cli)))
            res = spec[0]["Spec"]["TaskTemplate"]["Resources"]
            self.assertEqual(res["Limits"], want_limits, cli)
            self.assertEqual(res["Reservations"],
                             {"NanoCPUs": 250000000, "MemoryBytes": 8 << 20}, cli)
            pretty = self.ok(self.d.docker(["service", "inspect", "--pretty", name], cli=cli))
            self.assertIn("64MiB", pretty)
            self.ok(self.d.docker(["service", "update", "-d", "--limit-memory", "128m", name],
                                  cli=cli))
            spec = json.loads(self.ok(self.d.docker(["service", "inspect", name], cli=cli)))
            self.assertEqual(spec[0]["Spec"]["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"],
                             128 << 20)
        # capsule's own CLI
        self.ok(self.d.capsule(["service", "create", "-d", "--name", "rtc", "--limit-pids", "55",
                                "--limit-memory", "64m", IMAGE, "sleep", "600"]))
        self.addCleanup(self.remove, "rtc")
        spec = self.d.api("GET", "/services/rtc").json()
        self.assertEqual(spec["Spec"]["TaskTemplate"]["Resources"]["Limits"],
                         {"MemoryBytes": 64 << 20, "Pids": 55})
        pid = self.running_pid("rtc")
        self.assertEqual(read(task_cgroup_file(pid, "pids", "pids.max", "pids.max")), "55")

    def test_docker_validation_messages(self):
        r = self.d.docker(["service", "create", "-d", "--limit-memory", "1m", IMAGE, "true"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid memory value 1048576: Must be at least 4MiB", out(r))
        r = self.d.docker(["service", "create", "-d", "--reserve-cpu", "0.0001", IMAGE, "true"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid cpu value 0.0001: Must be at least 0.001", out(r))
        body = {"Name": "neg", "TaskTemplate": {"ContainerSpec": {"Image": IMAGE},
                                                "Resources": {"Limits": {"Pids": -1}}}}
        r = self.d.api("POST", "/services/create", body)
        self.assertEqual(r.status, 400, r)


class WorkerResources(unittest.TestCase):
    """A manager and a worker on this machine: the worker's room is checked too."""

    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="resm", extra_args=["--hostname", "res-m"])
        cls.addClassCleanup(cls.m.close)
        cls.m.swarm_init()
        cls.w = harness.Daemon(WORKER_IP, name="resw", extra_args=["--hostname", "res-w"])
        cls.addClassCleanup(cls.w.close)
        r = cls.m.docker(["swarm", "join-token", "-q", "worker"])
        if r.returncode != 0:
            raise AssertionError(out(r))
        token = r.stdout.decode().strip()
        r = cls.w.docker(["swarm", "join", "--token", token, "--advertise-addr", WORKER_IP,
                          "--listen-addr", f"{WORKER_IP}:{harness.SWARM_PORT}",
                          f"{MGR_IP}:{harness.SWARM_PORT}"])
        if r.returncode != 0:
            raise AssertionError(f"join: {out(r)}\n{cls.w.log_tail()}\n{cls.m.log_tail()}")
        cls.worker_id = cls.w.api("GET", "/info").json()["Swarm"]["NodeID"]
        if not harness.wait_until(lambda: cls.node_json(cls.worker_id)["Status"]["State"]
                                  == "ready", 30):
            raise AssertionError(f"worker not ready\n{cls.m.log_tail()}")
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpr-")
        for d in (cls.m, cls.w):  # images are node-local
            r = d.docker(["import", rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"docker import on {d.name}: {out(r)}\n{d.log_tail()}")

    @classmethod
    def node_json(cls, ref):
        r = cls.m.api("GET", f"/nodes/{ref}")
        if r.status != 200:
            raise AssertionError(f"GET /nodes/{ref}: {r!r}")
        return r.json()

    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.m.log_tail())
        return r.stdout.decode()

    def create(self, name, flags):
        self.ok(self.m.docker(["service", "create", "-d", "--name", name,
                               "--restart-condition", "none"] + flags
                              + [IMAGE, "sleep", "600"]))
        self.addCleanup(self.m.docker, ["service", "rm", name])

    def tasks(self, service):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_worker_reports_this_machines_resources(self):
        [n] = json.loads(self.ok(self.m.docker(["node", "inspect", "res-w"])))
        self.assertEqual(n["ID"], self.worker_id)
        self.assertEqual(n["Description"]["Resources"], machine_resources())
        [m] = json.loads(self.ok(self.m.docker(["node", "inspect", "res-m"])))
        self.assertEqual(m["Description"]["Resources"], machine_resources())

    def test_reservation_beyond_every_node_is_refused_on_both(self):
        mem = machine_resources()["MemoryBytes"]
        self.create("big2", ["--reserve-memory", str(2 * mem)])
        found = []

        def check():
            found[:] = [t for t in self.tasks("big2") if t["Status"].get("Err")]
            return bool(found)
        self.assertTrue(harness.wait_until(check, 60),
                        json.dumps(self.tasks("big2"), indent=1)[:3000] + self.m.log_tail())
        t = found[0]
        self.assertEqual(t["Status"]["State"], "pending", t)
        self.assertEqual(t["Status"]["Err"],
                         "no suitable node (insufficient resources on 2 nodes)", t)
        time.sleep(2)
        self.assertEqual([x["Status"]["State"] for x in self.tasks("big2")], ["pending"])
        self.assertNotIn("NodeID", self.tasks("big2")[0])

    def test_control_small_reservation_pinned_to_the_worker_runs_there(self):
        self.create("small2", ["--reserve-memory", "16m", "--reserve-cpu", "0.1",
                               "--constraint", "node.role==worker"])
        running = []

        def check():
            running[:] = [t for t in self.tasks("small2") if t["Status"]["State"] == "running"]
            return bool(running)
        self.assertTrue(harness.wait_until(check, 90),
                        json.dumps(self.tasks("small2"), indent=1)[:3000] + self.m.log_tail()
                        + self.w.log_tail())
        self.assertEqual(running[0]["NodeID"], self.worker_id)

    def test_worker_restart_reports_again_and_writes_nothing_unchanged(self):
        def count(text):
            return self.m.log_bytes().decode(errors="replace").count(text)
        opened = f"session opened by node {self.worker_id}"
        written = f"node {self.worker_id} reports NanoCPUs="
        self.assertEqual(count(written), 1, self.m.log_tail())  # at join: 0 → this machine
        sessions = count(opened)
        self.w.restart()
        self.assertTrue(harness.wait_until(lambda: count(opened) > sessions, 30),
                        self.m.log_tail() + self.w.log_tail())
        self.assertEqual(self.node_json(self.worker_id)["Description"]["Resources"],
                         machine_resources())
        time.sleep(1)  # the manager records a session's report just after it opens
        self.assertEqual(count(written), 1, "the same figures were written again:\n"
                         + self.m.log_tail())


if __name__ == "__main__":
    unittest.main()
