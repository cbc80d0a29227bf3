"""Services on a 1-manager + 2-worker swarm: secrets go only where tasks need them.

Run: PYTHONPATH=.. python3 -m unittest -v test_services_multinode   (from tests/integration)
Addresses: 127.0.17.1 (manager "mgr"), .2 (w1), .3 (w2). Heartbeat 1 s (Down after ~3 s).
What a node holds is read from its agent's introspection endpoint GET /capsule/agent (IDs only)
on that node's own socket; what the dispatcher sends is asserted in tests/grpc.
"""

import json
import os
import tempfile
import time
import unittest

import harness
from harness import busybox_image

MGR_IP, W1_IP, W2_IP = "127.0.17.1", "127.0.17.2", "127.0.17.3"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
# The task's shell is PID 1, which ignores SIGTERM unless it traps it (as in Docker): trap it,
# so a stop takes milliseconds instead of the 10 s grace period.
SLEEP = ["sh", "-c", 'trap "exit 0" TERM; ls /run/secrets; sleep 1d & wait']


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


class ServicesMultiNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cpsm-", dir="/tmp")
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"])
        cls.addClassCleanup(cls.m.close)
        r = cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                          MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(out(r))
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w = {}
        for name, ip in (("w1", W1_IP), ("w2", W2_IP)):
            w = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
            cls.addClassCleanup(w.close)
            r = w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                          "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR])
            if r.returncode != 0:
                raise AssertionError(out(r) + w.log_tail())
            cls.w[name] = w
        cls.ids = {n: d.api("GET", "/info").json()["Swarm"]["NodeID"]
                   for n, d in (("mgr", cls.m), ("w1", cls.w["w1"]), ("w2", cls.w["w2"]))}
        for d in (cls.m, cls.w["w1"], cls.w["w2"]):
            r = d.docker(["import", cls.rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(out(r) + d.log_tail())

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.m.log_tail())
        return r.stdout.decode()

    def tasks(self, service):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running_nodes(self, service):
        return sorted(t["NodeID"] for t in self.tasks(service)
                      if t["Status"]["State"] == "running" and t["DesiredState"] == "running")

    def agent(self, d):
        r = d.api("GET", "/capsule/agent", version=None)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def tmpfs_mounts(self, d):
        with open("/proc/self/mountinfo") as f:
            return [l for l in f.read().splitlines() if d.exec_root in l and "tmpfs" in l]

    def node_state(self, name):
        return self.m.api("GET", f"/nodes/{self.ids[name]}").json()["Status"]["State"]

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout), msg() if callable(msg) else msg)

    def rm(self, service):
        """docker service rm; waits until no task of the service is listed (a filter naming a
        removed service answers 404, as Docker's)."""
        sid = self.m.api("GET", f"/services/{service}").json()["ID"]
        self.ok(self.m.docker(["service", "rm", service]))

        def left():
            r = self.m.api("GET", "/tasks")
            return [t for t in r.json() if t["ServiceID"] == sid]
        self.wait(lambda: left() == [], 60, lambda: f"tasks of {service} remain: {left()}")

    # ---- tests -----------------------------------------------------------------------------
    def test_1_secret_only_on_the_node_that_needs_it(self):
        m, w1, w2 = self.m, self.w["w1"], self.w["w2"]
        sid = m.create_secret("pinned-pw", b"only-for-w1")
        self.ok(m.docker(["service", "create", "-d", "--name", "pinned", "--constraint",
                          "node.hostname==w1", "--secret", "pinned-pw", IMAGE] + SLEEP))
        self.wait(lambda: self.running_nodes("pinned") == [self.ids["w1"]], 60,
                  lambda: json.dumps(self.tasks("pinned"), indent=1)[:2000])
        self.wait(lambda: self.agent(w1)["Secrets"] == [sid], 10, lambda: self.agent(w1))
        self.assertEqual(self.agent(w2)["Secrets"], [])
        self.assertEqual(self.agent(m)["Secrets"], [])
        self.assertEqual(len(self.tmpfs_mounts(w1)), 1, self.tmpfs_mounts(w1))
        self.assertEqual(self.tmpfs_mounts(w2), [])
        self.rm("pinned")
        self.wait(lambda: self.agent(w1)["Secrets"] == [], 30, lambda: self.agent(w1))
        self.wait(lambda: self.tmpfs_mounts(w1) == [], 30, lambda: self.tmpfs_mounts(w1))
        self.assertEqual(self.agent(w1)["Tasks"], [])

    def test_2_tasks_rescheduled_when_a_worker_stops(self):
        m, w1, w2 = self.m, self.w["w1"], self.w["w2"]
        m.create_secret("spread-pw", b"spread")
        self.ok(m.docker(["service", "create", "-d", "--name", "spread", "--replicas", "2",
                          "--constraint", "node.role==worker", "--secret", "spread-pw",
                          IMAGE] + SLEEP))
        want = sorted([self.ids["w1"], self.ids["w2"]])
        self.wait(lambda: self.running_nodes("spread") == want, 60,
                  lambda: json.dumps(self.tasks("spread"), indent=1)[:3000])
        w1.stop()
        self.wait(lambda: self.node_state("w1") == "down", 20, "w1 not Down")
        self.wait(lambda: self.running_nodes("spread") == [self.ids["w2"]] * 2, 60,
                  lambda: json.dumps(self.tasks("spread"), indent=1)[:3000])
        # w1 comes back: its old task is stopped and its secret tmpfs unmounted.
        w1.start()
        self.wait(lambda: self.node_state("w1") == "ready", 30, "w1 not Ready again")
        self.wait(lambda: self.tmpfs_mounts(w1) == [], 30, lambda: self.tmpfs_mounts(w1))
        self.wait(lambda: self.agent(w1)["Secrets"] == [], 30, lambda: self.agent(w1))
        # Drain w2: its tasks move to w1.
        self.ok(m.docker(["node", "update", "--availability", "drain", "w2"]))
        self.wait(lambda: self.running_nodes("spread") == [self.ids["w1"]] * 2, 60,
                  lambda: json.dumps(self.tasks("spread"), indent=1)[:3000])
        self.wait(lambda: self.tmpfs_mounts(w2) == [], 30, lambda: self.tmpfs_mounts(w2))
        self.ok(m.docker(["node", "update", "--availability", "active", "w2"]))
        self.rm("spread")

    def test_3_missing_image_retried_elsewhere(self):
        m, w1 = self.m, self.w["w1"]
        self.ok(w1.docker(["import", self.rootfs, "capsule/only-w1:1"]))
        self.ok(m.docker(["service", "create", "-d", "--no-resolve-image", "--name", "onlyw1",
                          "--replicas", "2", "--constraint", "node.role==worker",
                          "capsule/only-w1:1"] + SLEEP))
        self.wait(lambda: self.running_nodes("onlyw1") == [self.ids["w1"]] * 2, 90,
                  lambda: json.dumps(self.tasks("onlyw1"), indent=1)[:3000])
        errs = [t["Status"].get("Err", "") for t in self.tasks("onlyw1")
                if t["NodeID"] == self.ids["w2"]]
        self.assertIn("No such image: capsule/only-w1:1", errs)
        self.rm("onlyw1")


if __name__ == "__main__":
    unittest.main()
