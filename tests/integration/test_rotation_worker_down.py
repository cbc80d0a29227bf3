"""A secret rotation while the only worker running the service is down (issue 14's proof: "a
rotation while a worker is down completes when it returns"). Real capsuled processes, etcd, runc
and the docker CLIs (20.10, and 28.x when present).

One manager and one worker `w`; service `wd` (2 replicas, constrained to workers, stop-first)
uses secret `pw`; its tasks print only the sha256 of their secret file. The worker's capsuled is
killed with SIGKILL (its tasks keep running under their shims, as after a crash), the manager
marks it Down, and `capsule secret rotate pw - --detach` makes version 2 current. While the
worker is away nothing runs version 2 and the service's update is not done. Once the worker's
capsuled starts again, the update goes on: in the end `wd` runs 2 new tasks on `w`, each on
version 2, the old tasks are shut down, `UpdateStatus.State` is `completed` (both CLIs), and the
secret's history shows version 2 in use by `wd`.

Run: PYTHONPATH=.. python3 -m unittest -v test_rotation_worker_down   (from tests/integration)
Addresses: 127.0.63.1 (manager), 127.0.63.2 (worker w).
"""

import hashlib
import json
import os
import time
import unittest

import harness
from harness import busybox_image

MGR_IP, W_IP = "127.0.63.1", "127.0.63.2"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
CANARY = 'sha256sum /run/secrets/pw; trap "exit 0" TERM; sleep 1d & wait'


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def sha(value):
    return hashlib.sha256(value).hexdigest()


class RotationWorkerDown(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"])
        cls.addClassCleanup(cls.m.close)
        r = cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                          MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"swarm init: {out(r)}\n{cls.m.log_tail()}")
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w = harness.Daemon(W_IP, name="w", extra_args=["--hostname", "w"])
        cls.addClassCleanup(cls.w.close)
        r = cls.w.docker(["swarm", "join", "--token", token, "--advertise-addr", W_IP,
                          "--listen-addr", f"{W_IP}:{harness.SWARM_PORT}", MANAGER_ADDR])
        if r.returncode != 0:
            raise AssertionError(f"join: {out(r)}\n{cls.w.log_tail()}\n{cls.m.log_tail()}")
        cls.w_id = cls.w.api("GET", "/info").json()["Swarm"]["NodeID"]
        _, rootfs = busybox_image.class_rootfs_tar(cls, "crwd-")
        r = cls.w.docker(["import", rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.w.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d=None):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + (d or self.m).log_tail())
        return r.stdout.decode()

    def tasks(self):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": ["wd"]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running(self):
        return [t for t in self.tasks()
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    def task_log(self, task_id):
        r = self.m.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        return harness.demux_stream(r.body).decode(errors="replace") if r.status == 200 else ""

    def node_state(self):
        r = self.m.api("GET", f"/nodes/{self.w_id}")
        return r.json()["Status"]["State"] if r.status == 200 else None

    def wait_all_print(self, n, digest, timeout):
        def done():
            run = self.running()
            return len(run) == n and all(digest in self.task_log(t["ID"]) for t in run)
        self.assertTrue(harness.wait_until(done, timeout, interval=0.5),
                        f"wd: not every task on {digest[:12]}: "
                        + json.dumps(self.tasks(), indent=1)[:3000] + self.m.log_tail()
                        + self.w.log_tail())

    def update_state(self, cli):
        r = self.m.docker(["service", "inspect", "wd"], cli=cli)
        self.assertEqual(r.returncode, 0, out(r))
        [s] = json.loads(r.stdout)
        return (s.get("UpdateStatus") or {}).get("State")

    # ---- the test ------------------------------------------------------------------------------
    def test_rotation_while_the_worker_is_down_completes_when_it_returns(self):
        m, w = self.m, self.w
        a = b"RWD-A-" + os.urandom(12).hex().encode()
        b = b"RWD-B-" + os.urandom(12).hex().encode()
        self.ok(m.docker(["secret", "create", "pw", "-"], input=a))
        self.ok(m.docker(["service", "create", "-d", "--name", "wd", "--replicas", "2",
                          "--constraint", "node.role==worker", "--update-order", "stop-first",
                          "--update-parallelism", "1", "--secret", "pw", IMAGE, "sh", "-c",
                          CANARY]))
        self.wait_all_print(2, sha(a), 120)
        old = {t["ID"] for t in self.running()}
        self.assertTrue(all(t["NodeID"] == self.w_id for t in self.running()))

        # The worker goes away (crash: its tasks keep running under their shims).
        w.kill9()
        self.assertTrue(harness.wait_until(lambda: self.node_state() == "down", 20, 0.2),
                        f"w not Down: {self.node_state()}\n{m.log_tail()}")
        r = m.capsule(["secret", "rotate", "--detach", "pw", "-"], input=b, timeout=60)
        self.assertIn("pw: version 2", self.ok(r))

        # While it is away nothing can run version 2 and the update is not done.
        time.sleep(5)
        for t in self.tasks():
            if t["Status"]["State"] == "running" and t["ID"] not in old:
                self.fail(f"a new task runs while the only worker is down: {t}")
        self.assertNotEqual(self.update_state(harness.DOCKER_20), "completed")

        # It returns: the update goes on and ends with every task on version 2.
        w.start()
        self.wait_all_print(2, sha(b), 180)
        new = {t["ID"] for t in self.running()}
        self.assertFalse(old & new, f"old tasks still running: {old & new}")
        self.assertTrue(all(t["NodeID"] == self.w_id for t in self.running()))
        for t in self.tasks():
            if t["ID"] in old:
                self.assertNotEqual(t["DesiredState"], "running", t)
        for cli in harness.DOCKER_CLIS:
            self.assertTrue(
                harness.wait_until(lambda: self.update_state(cli) == "completed", 60, 0.5),
                f"{harness.cli_label(cli)}: UpdateStatus {self.update_state(cli)}")
        # The old tasks' containers are gone from the worker: only the new ones print anything.
        self.assertTrue(harness.wait_until(
            lambda: all(t["Status"]["State"] not in ("running", "starting")
                        for t in self.tasks() if t["ID"] in old), 60, 0.5),
            json.dumps([t for t in self.tasks() if t["ID"] in old], indent=1)[:3000])
        hist = self.ok(m.capsule(["secret", "history", "pw"]))
        self.assertRegex(hist, r"(?m)^2 \*\s+.*\s+wd \(2 tasks\)")
        for t in self.running():
            self.assertNotIn(b.decode(), self.task_log(t["ID"]))


if __name__ == "__main__":
    unittest.main()
