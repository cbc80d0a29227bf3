"""HA managers: a worker whose session manager died with it is marked Down by the leader, and a
worker's /info lists every manager it knows. Real capsuled processes and etcd members, real runc
tasks, Debian's docker CLI (20.10).

m1 runs `swarm init` (1 s heartbeat), m2 and m3 join as managers, w1 joins as a worker through
m2 (so its session is with a manager that is not the leader at first).
  - the worker's `docker info` (Manager Addresses) and GET /info Swarm.RemoteManagers list the
    three managers ({NodeID, Addr});
  - a task runs on the worker; kill -9 of the worker's whole node (its capsuled and its task's
    process, by PID) and of its session manager's node (etcd member and capsuled): on a
    survivor, `docker node ls` shows the worker Down (the leader's doing: the only manager
    entitled to judge it is dead) within a generous bound; the time is printed.

Run: PYTHONPATH=.. python3 -m unittest -v test_ha_down   (from tests/integration)
Addresses: 127.0.57.1 (m1), .2 (m2), .3 (m3), .4 (w1).
"""

import json
import os
import signal
import time
import unittest

import harness
from harness import busybox_image, ha_swarm

IP = {"m1": "127.0.57.1", "m2": "127.0.57.2", "m3": "127.0.57.3", "w1": "127.0.57.4"}
IMAGE = "capsule/busybox:1"
DOWN_BOUND_S = 30


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


class HaDown(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, ("m1", "m2", "m3"), workers=("w1",), join_workers_via="m2",
                               heartbeat="1s")
        w1 = cls.d["w1"]
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cphd-")
        r = w1.docker(["import", rootfs, IMAGE])  # tasks run on the worker only
        if r.returncode != 0:
            raise AssertionError(f"import: {out(r)}")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}
        cls.by_addr = {addr(n): n for n in ("m1", "m2", "m3")}

    # ---- helpers ---------------------------------------------------------------------------
    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.05), msg() if callable(msg) else msg)

    def agent(self):
        return ha_swarm.agent_status(self.d["w1"])

    def worker_manager(self):
        """The name of the manager the worker's session is with, None when not connected."""
        return ha_swarm.session_manager(self.d["w1"], self.by_addr)

    def remote_managers(self):
        r = self.d["w1"].api("GET", "/info")
        if r.status != 200:
            return []
        return r.json()["Swarm"]["RemoteManagers"] or []

    def running(self, d, service):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return [t for t in r.json()
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    def node_row(self, d, name):
        """`docker node ls` through d: the row of `name` ("" when the call fails)."""
        r = d.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"])
        if r.returncode != 0:
            return ""
        rows = [l for l in r.stdout.decode().splitlines() if l.split(" ")[0] == name]
        return rows[0] if rows else ""

    # ---- tests -----------------------------------------------------------------------------
    def test_01_worker_info_lists_every_manager(self):
        self.wait(lambda: self.worker_manager() is not None, 20, lambda: self.agent())
        want = sorted((self.ids[n], addr(n)) for n in ("m1", "m2", "m3"))
        self.wait(lambda: sorted((m["NodeID"], m["Addr"]) for m in self.remote_managers())
                  == want, 20, lambda: f"{self.remote_managers()}\n{self.d['w1'].log_tail()}")
        self.assertEqual(self.remote_managers()[0]["Addr"], self.agent()["Manager"])  # current
        r = self.d["w1"].docker(["info"])
        self.assertEqual(r.returncode, 0, out(r))
        text = out(r)
        self.assertIn("Is Manager: false", text)
        self.assertIn("Manager Addresses:", text)
        listed = text.split("Manager Addresses:", 1)[1].splitlines()[1:4]
        self.assertEqual(sorted(l.strip() for l in listed), sorted(addr(n) for n in IP
                                                                   if n != "w1"), text)

    def test_02_worker_and_its_manager_killed_worker_is_down_on_a_survivor(self):
        m1 = self.d["m1"]
        self.assertEqual(m1.docker(["service", "create", "-d", "--name", "hd", "--constraint",
                                    "node.role==worker", IMAGE, "sleep", "1d"]).returncode, 0)
        self.wait(lambda: len(self.running(m1, "hd")) == 1, 60,
                  lambda: self.d["w1"].log_tail())
        [t] = self.running(m1, "hd")
        self.assertEqual(t["NodeID"], self.ids["w1"])
        pid = t["Status"]["ContainerStatus"]["PID"]
        self.wait(lambda: self.worker_manager() is not None, 20, lambda: self.agent())
        gone = self.worker_manager()
        survivors = [n for n in ("m1", "m2", "m3") if n != gone]
        for n in survivors:
            self.wait(lambda: "Ready" in self.node_row(self.d[n], "w1"), 20,
                      lambda: self.node_row(self.d[n], "w1"))

        # The worker's whole node, then its session manager's node, kill -9 by PID.
        w1 = self.d["w1"]
        w1.kill9()
        os.kill(pid, signal.SIGKILL)
        etcd_pid = self.d[gone].etcd_pid()
        self.assertIsNotNone(etcd_pid, gone)
        os.kill(etcd_pid, signal.SIGKILL)
        self.d[gone].kill9()
        t0 = time.monotonic()

        via = self.d[survivors[0]]
        self.wait(lambda: "Down" in self.node_row(via, "w1"), DOWN_BOUND_S,
                  lambda: f"{self.node_row(via, 'w1')!r}\n{via.log_tail()}\n"
                          f"{self.d[survivors[1]].log_tail()}")
        s = time.monotonic() - t0
        print(f"FIGURE: worker w1 Down on {survivors[0]} {s:.1f} s after it and its session "
              f"manager {gone} were killed", flush=True)
        self.assertFalse(harness.pid_alive(pid))
        # The other survivor agrees (same store).
        self.wait(lambda: "Down" in self.node_row(self.d[survivors[1]], "w1"), 10,
                  lambda: self.node_row(self.d[survivors[1]], "w1"))


if __name__ == "__main__":
    unittest.main()
