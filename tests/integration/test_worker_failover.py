"""HA managers, issue 12 part 4: workers fail over. Real capsuled processes and etcd members,
real runc tasks, Debian's docker CLI (20.10).

m1 runs `swarm init`, m2 and m3 join as managers, w1 joins as a worker through m1. Three
managers, because the manager the worker is connected to is killed with its etcd member: with
two managers that would leave etcd without quorum (1 of 2) and the survivor could neither write
nor serve; three is the real setup, and the kill leaves a quorum of 2 of 3.
  - the worker learns every manager from its session and keeps the list on disk (0600);
  - a service with a secret runs on the worker (its task prints the secret's sha256, never the
    secret); kill -9 of every process of the worker's manager's node (its etcd member and
    capsuled, by PID): the worker reconnects to a survivor (the measured time is printed, not
    asserted), is Ready in the survivors' `docker node ls`, its task keeps the same PID, the
    same secret tmpfs and the same secret; a `service update --secret-add` through a survivor
    reaches the worker's (new) task;
  - the worker killed with -9 and started again while its first manager is still dead rejoins
    through the list on disk, and re-adopts its running task.

Run: PYTHONPATH=.. python3 -m unittest -v test_worker_failover   (from tests/integration)
Addresses: 127.0.54.1 (m1), .2 (m2), .3 (m3), .4 (w1).
"""

import hashlib
import json
import os
import signal
import stat
import time
import unittest

import harness
from harness import busybox_image, ha_swarm

IP = {"m1": "127.0.54.1", "m2": "127.0.54.2", "m3": "127.0.54.3", "w1": "127.0.54.4"}
IMAGE = "capsule/busybox:1"
# Prints the sha256 of each secret file given, then sleeps until stopped.
SHOW = ('for f in /run/secrets/*; do echo "$(basename $f) $(sha256sum $f | cut -c1-64)"; done; '
        'trap "exit 0" TERM; sleep 1d & wait')


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


class WorkerFailover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, ("m1", "m2", "m3"), workers=("w1",), heartbeat="1s")
        w1 = cls.d["w1"]
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpwf-")
        r = w1.docker(["import", rootfs, IMAGE])  # tasks run on the worker only
        if r.returncode != 0:
            raise AssertionError(f"import: {out(r)}")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}
        cls.by_addr = {addr(n): n for n in ("m1", "m2", "m3")}

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.02), msg() if callable(msg) else msg)

    def managers_up(self):
        return [self.d[n] for n in ("m1", "m2", "m3") if self.d[n].running()]

    def agent(self):
        return ha_swarm.agent_status(self.d["w1"])

    def worker_manager(self):
        """The name of the manager the worker's session is with, None when not connected."""
        return ha_swarm.session_manager(self.d["w1"], self.by_addr)

    def list_file(self):
        return os.path.join(self.d["w1"].data_root, "swarm", "managers.json")

    def tasks(self, d, service):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running(self, d, service):
        return [t for t in self.tasks(d, service)
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    def wait_running(self, d, service, n, timeout=60):
        self.wait(lambda: len(self.running(d, service)) == n, timeout,
                  lambda: json.dumps(self.tasks(d, service), indent=1)[:3000]
                  + self.d["w1"].log_tail())
        return self.running(d, service)

    def task_log(self, d, task_id):
        r = d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        return harness.demux_stream(r.body).decode(errors="replace") if r.status == 200 else ""

    def wait_log(self, d, task_id, needle, timeout=30):
        self.wait(lambda: needle in self.task_log(d, task_id), timeout,
                  lambda: f"task {task_id} log lacks {needle!r}: {self.task_log(d, task_id)!r}")

    def secret_mounts_of(self, task_id):
        return [l for l in host_mounts().splitlines()
                if self.d["w1"].exec_root in l and task_id in l and "tmpfs" in l]

    def node_row(self, d, name):
        """`docker node ls` through d: the row of `name` ("" when the call fails)."""
        r = d.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"])
        if r.returncode != 0:
            return ""
        rows = [l for l in r.stdout.decode().splitlines() if l.split(" ")[0] == name]
        return rows[0] if rows else ""

    def retried(self, d, args, input=None, timeout=30):
        """docker `args` through d, again until it succeeds or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            r = d.docker(args, input=input)
            if r.returncode == 0 or time.monotonic() > deadline:
                return r
            time.sleep(0.2)

    def kill_node(self, name):
        """kill -9 of every process of the node: its etcd member first, then capsuled."""
        d = self.d[name]
        etcd_pid = d.etcd_pid()
        self.assertIsNotNone(etcd_pid, name)
        os.kill(etcd_pid, signal.SIGKILL)
        d.kill9()

    # ---- tests -----------------------------------------------------------------------------
    def test_01_worker_learns_every_manager_and_keeps_the_list(self):
        self.wait(lambda: self.worker_manager() is not None, 20, lambda: self.agent())
        want = sorted(addr(n) for n in ("m1", "m2", "m3"))

        def saved():
            try:
                with open(self.list_file()) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return {}
        self.wait(lambda: sorted(m["Addr"] for m in saved().get("Managers", [])) == want, 20,
                  lambda: f"{saved()}\n{self.d['w1'].log_tail()}")
        j = saved()
        self.assertEqual(stat.S_IMODE(os.stat(self.list_file()).st_mode), 0o600)
        self.assertEqual(j["Managers"][0]["Addr"], self.agent()["Manager"])  # current first
        self.assertEqual({m["NodeID"] for m in j["Managers"]},
                         {self.ids[n] for n in ("m1", "m2", "m3")})
        self.assertEqual(j["ClusterID"],
                         self.d["m1"].api("GET", "/swarm").json()["ID"])

    def test_02_manager_killed_worker_fails_over_keeping_its_task_and_secret(self):
        m = self.d["m2"]
        value = b"FAILOVER" + os.urandom(12).hex().encode()
        digest = hashlib.sha256(value).hexdigest()
        m.create_secret("fo-pw", value)
        self.ok(m.docker(["service", "create", "-d", "--name", "fo", "--secret", "fo-pw",
                          "--constraint", "node.role==worker", IMAGE, "sh", "-c", SHOW]), m)
        [t] = self.wait_running(m, "fo", 1)
        self.assertEqual(t["NodeID"], self.ids["w1"])
        self.wait(lambda: self.worker_manager() is not None, 20, lambda: self.agent())
        gone = self.worker_manager()
        # A task's logs come through the manager its node's session is with (that manager's
        # log broker reaches the node).
        self.wait_log(self.d[gone], t["ID"], f"fo-pw {digest}")
        pid = t["Status"]["ContainerStatus"]["PID"]
        mounts = self.secret_mounts_of(t["ID"])
        self.assertEqual(len(mounts), 1, host_mounts())

        survivors = [d for d in self.managers_up() if d.name != gone]
        print(f"FIGURE: the worker's manager is {gone}; killing its node", flush=True)
        t0 = time.monotonic()
        self.kill_node(gone)
        type(self).killed = gone
        self.wait(lambda: self.worker_manager() not in (None, gone), 20,
                  lambda: f"{self.agent()}\n{self.d['w1'].log_tail()}")
        ms = (time.monotonic() - t0) * 1000
        now = self.worker_manager()
        print(f"FIGURE: worker reconnected to {now} {ms:.0f} ms after {gone} was killed",
              flush=True)
        self.assertEqual(self.d["w1"].api("GET", "/info").json()["Swarm"]["RemoteManagers"][0]
                         ["Addr"], addr(now))

        # The task never stopped: same process, same secret tmpfs, same secret.
        self.assertTrue(harness.pid_alive(pid), "the task died in the failover")
        for d in survivors:
            self.wait(lambda: "Ready" in self.node_row(d, "w1"), 20,
                      lambda: self.node_row(d, "w1"))
            # The leader may be new: let its view settle, then the task is the same one.
            self.wait(lambda: [x["ID"] for x in self.running(d, "fo")] == [t["ID"]], 30,
                      lambda: json.dumps(self.tasks(d, "fo"), indent=1)[:3000])
            self.assertEqual(self.running(d, "fo")[0]["Status"]["ContainerStatus"]["PID"], pid)
        self.assertEqual(self.secret_mounts_of(t["ID"]), mounts)
        self.wait(lambda: self.agent().get("Tasks") == [t["ID"]], 20, lambda: self.agent())
        self.assertEqual(self.agent()["Secrets"], [m.api("GET", "/secrets/fo-pw").json()["ID"]])
        via = self.d[now]
        self.wait_log(via, t["ID"], f"fo-pw {digest}")  # through the new manager now
        self.assertNotIn(value, self.d["w1"].log_bytes())

        # New work after the failover reaches the worker through the survivor.
        value2 = b"SECOND" + os.urandom(12).hex().encode()
        digest2 = hashlib.sha256(value2).hexdigest()
        # etcd may still be electing a Raft leader after the kill: each write is retried as the
        # CLI user would (the store's own bounded wait ends in 503 meanwhile).
        self.ok(self.retried(via, ["secret", "create", "fo-pw2", "-"], value2), via)
        self.ok(self.retried(via, ["service", "update", "-d", "--secret-add", "fo-pw2", "fo"]),
                via)
        self.wait(lambda: [x["ID"] for x in self.running(via, "fo")] not in ([], [t["ID"]]), 60,
                  lambda: json.dumps(self.tasks(via, "fo"), indent=1)[:3000])
        [t2] = self.running(via, "fo")
        self.assertEqual(t2["NodeID"], self.ids["w1"])
        self.wait_log(via, t2["ID"], f"fo-pw2 {digest2}")
        self.assertIn(f"fo-pw {digest}", self.task_log(via, t2["ID"]))

    def test_03_restarted_worker_rejoins_through_the_list_on_disk(self):
        # m1, the manager w1 joined through (its state.json's RemoteManager), is dead by now. If
        # test_02 killed another one, that one comes back first (two dead managers of three
        # would leave etcd without quorum), then m1 is killed.
        if self.d["m1"].running():
            back = self.d[getattr(self, "killed", "m1")]
            if not back.running():
                back.start()
                self.wait(lambda: back.api("GET", "/services/fo").status == 200, 30,
                          back.log_tail)
            self.kill_node("m1")
        [t] = self.wait_running(self.managers_up()[0], "fo", 1)
        pid = t["Status"]["ContainerStatus"]["PID"]
        w1 = self.d["w1"]
        with open(os.path.join(w1.data_root, "swarm", "state.json")) as f:
            self.assertEqual(json.load(f)["RemoteManager"], addr("m1"))
        w1.kill9()
        t0 = time.monotonic()
        w1.start()
        self.wait(lambda: self.worker_manager() in ("m2", "m3"), 30,
                  lambda: f"{self.agent()}\n{w1.log_tail()}")
        print(f"FIGURE: restarted worker connected to {self.worker_manager()} "
              f"{(time.monotonic() - t0) * 1000:.0f} ms after its start (m1 dead)", flush=True)
        self.assertTrue(harness.pid_alive(pid), "the task died with the worker's capsuled")
        for d in self.managers_up():
            self.wait(lambda: "Ready" in self.node_row(d, "w1"), 20,
                      lambda: self.node_row(d, "w1"))
        # The agent holds it again (beside the task it replaced, kept until the reaper
        # deletes it), and it is still the one running task of the service.
        self.wait(lambda: t["ID"] in self.agent().get("Tasks", []), 30, lambda: self.agent())
        self.assertEqual([x["ID"] for x in self.running(self.managers_up()[0], "fo")], [t["ID"]])
        self.assertEqual(self.running(self.managers_up()[0], "fo")[0]["Status"]["ContainerStatus"]
                         ["PID"], pid)


if __name__ == "__main__":
    unittest.main()
