"""HA managers, issue 12 part 6 (second half) and part 8: `docker swarm init
--force-new-cluster` brings a swarm that lost its quorum back on a survivor, with every secret,
service, task, config and node, the same cluster ID, CA and join tokens; managers can then be
added again. Real capsuled processes and etcd members, real runc tasks, both docker CLIs and
the capsule CLI.

m1 runs `swarm init`, m2 and m3 join as managers, w1 as a worker (tasks run there only).
  1. Secrets, a config and a service whose task on w1 prints its secret's sha256 (never the
     secret). m2 and m3 are killed (capsuled and etcd member, by PID, kill -9): m1 answers
     Docker's no-leader text. `docker swarm init --force-new-cluster --advertise-addr <m1>` on
     m1 (docker 20.10) → `Swarm initialized: current node (<m1>) …`; m1 serves at once: the same
     cluster ID, CA and tokens, every secret, the config, the service and its task (the same
     PID on w1: it never stopped), every node (m2 and m3 stay manager nodes, Down, without
     ManagerStatus and not counted in /info Managers, as Docker); a secret create works. A new manager m4 joins; a service update through m4 adds the new secret and
     the task started for it on w1 prints both secrets' digests (the bytes written before the
     loss, read back through the keyring after it).
  2. m2 restarted on its old data (its store member was removed) does not come back as a
     manager of the swarm and says why (log, /info); m1 and m4 go on. `swarm leave --force`
     clears m2's stale state and it joins again as a new manager; its old node object is
     removed with `docker node rm`.
  3. A second round with the other docker CLI (docker 28.x when present): m5 joins, m4 and m5
     are killed, `swarm init --force-new-cluster` on m1 again; the secrets are still there.
  4. `capsule swarm init --force-new-cluster` on m1 when the swarm is healthy (m6 joined): m1
     goes on alone, m6's store member is removed and m6 stops serving (its store member stops
     itself), as Docker's manager removed from Raft does.

Run: PYTHONPATH=.. python3 -m unittest -v test_force_new_cluster   (from tests/integration)
Addresses: 127.0.62.1 (m1), .2 (m2), .3 (m3), .4 (w1), .5 (m4), .6 (m5), .7 (m6).
"""

import hashlib
import json
import os
import signal
import time
import unittest

import harness
from harness import busybox_image, ha_swarm

IP = {"m1": "127.0.62.1", "m2": "127.0.62.2", "m3": "127.0.62.3", "w1": "127.0.62.4",
      "m4": "127.0.62.5", "m5": "127.0.62.6", "m6": "127.0.62.7"}
IMAGE = "capsule/busybox:1"
# Prints the sha256 of each secret file given, then sleeps until stopped.
SHOW = ('for f in /run/secrets/*; do echo "$(basename $f) $(sha256sum $f | cut -c1-64)"; done; '
        'trap "exit 0" TERM; sleep 1d & wait')
NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible "
             "that too few managers are online. Make sure more than half of the managers are "
             "online.")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


class ForceNewCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, ("m1", "m2", "m3"), workers=("w1",), heartbeat="1s")
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpfn-")
        r = cls.d["w1"].docker(["import", rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"import: {out(r)}")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}
        cls.values = {}

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.05), msg() if callable(msg) else msg)

    def kill_node(self, d):
        """kill -9 of the manager node: its etcd member, then capsuled (by PID)."""
        etcd_pid = d.etcd_pid()
        self.assertIsNotNone(etcd_pid, d.name)
        os.kill(etcd_pid, signal.SIGKILL)
        d.kill9()

    def add_manager(self, name, via="m1"):
        d = harness.Daemon(IP[name], name=name, extra_args=["--hostname", name])
        self.addClassCleanup(d.close)
        self.d[name] = d
        m = self.d[via]
        token = self.ok(m.docker(["swarm", "join-token", "-q", "manager"]), m).strip()
        r = d.docker(["swarm", "join", "--token", token, "--advertise-addr", IP[name],
                      "--listen-addr", addr(name), addr(via)])
        self.assertEqual(out(r).strip(), "This node joined a swarm as a manager.", d.log_tail())
        self.ids[name] = d.api("GET", "/info").json()["Swarm"]["NodeID"]
        return d

    def secret(self, d, name):
        value = f"FNC-{name}-".encode() + os.urandom(12).hex().encode()
        self.values[name] = value
        return d.create_secret(name, value)

    def digest(self, name):
        return hashlib.sha256(self.values[name]).hexdigest()

    def tasks(self, d, service):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    def running(self, d, service):
        return [t for t in self.tasks(d, service)
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    def task_log(self, d, task_id):
        r = d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        return harness.demux_stream(r.body).decode(errors="replace") if r.status == 200 else ""

    def wait_log(self, d, task_id, needle, timeout=30):
        self.wait(lambda: needle in self.task_log(d, task_id), timeout,
                  lambda: f"task {task_id} log lacks {needle!r}: {self.task_log(d, task_id)!r}")

    def wait_no_leader(self, d):
        self.wait(lambda: d.api("GET", "/secrets").status == 500, 30, d.log_tail)
        r = d.api("GET", "/secrets")
        self.assertEqual(r.json()["message"], NO_LEADER)

    def force(self, d, cli=None, capsule=False):
        """`swarm init --force-new-cluster` on d; → (the CLI's result, seconds it took)."""
        args = ["swarm", "init", "--force-new-cluster", "--advertise-addr", d.ip]
        t0 = time.monotonic()
        r = d.capsule(args) if capsule else d.docker(args, cli=cli or harness.DOCKER_20)
        return r, time.monotonic() - t0

    def cluster_identity(self, d):
        s = d.api("GET", "/swarm").json()
        return s["ID"], s["JoinTokens"], s["TLSInfo"]["TrustRoot"]

    def node(self, d, name):
        r = d.api("GET", f"/nodes/{self.ids[name]}")
        return r.json() if r.status == 200 else {}

    # ---- tests -----------------------------------------------------------------------------
    def test_01_survivor_recovers_the_swarm_with_every_secret(self):
        m1, m2, m3, w1 = (self.d[n] for n in ("m1", "m2", "m3", "w1"))
        secret_ids = {"fnc-pw": self.secret(m2, "fnc-pw"), "fnc-a": self.secret(m1, "fnc-a"),
                      "fnc-b": self.secret(m3, "fnc-b")}
        self.ok(m1.docker(["config", "create", "fnc-conf", "-"], input=b"conf-data"), m1)
        self.ok(m2.docker(["service", "create", "-d", "--name", "fnc", "--secret", "fnc-pw",
                           "--constraint", "node.role==worker", IMAGE, "sh", "-c", SHOW]), m2)
        self.wait(lambda: len(self.running(m1, "fnc")) == 1, 60,
                  lambda: json.dumps(self.tasks(m1, "fnc"))[:2000] + w1.log_tail())
        [task] = self.running(m1, "fnc")
        self.assertEqual(task["NodeID"], self.ids["w1"])
        pid = task["Status"]["ContainerStatus"]["PID"]
        before = self.cluster_identity(m1)
        nodes_before = sorted(n["ID"] for n in m1.api("GET", "/nodes").json())

        self.kill_node(m2)
        self.kill_node(m3)
        self.wait_no_leader(m1)

        r, took = self.force(m1)
        self.assertEqual(r.returncode, 0, out(r) + m1.log_tail())
        self.assertIn(f"Swarm initialized: current node ({self.ids['m1']}) is now a manager.",
                      out(r))
        print(f"FIGURE: force-new-cluster (docker 20.10 swarm init) took {took * 1000:.0f} ms",
              flush=True)
        t0 = time.monotonic()
        r = m1.docker(["secret", "create", "fnc-after", "-"], input=b"x")
        self.assertEqual(r.returncode, 0, out(r) + m1.log_tail())
        print(f"FIGURE: first secret create after force-new-cluster: "
              f"{(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
        self.values["fnc-after"] = b"x"

        # The same swarm: cluster ID, tokens, CA; every object.
        self.assertEqual(self.cluster_identity(m1), before)
        for name, sid in secret_ids.items():
            r = m1.api("GET", f"/secrets/{name}")
            self.assertEqual(r.status, 200, name)
            self.assertEqual(r.json()["ID"], sid)
        self.assertEqual(m1.api("GET", "/configs/fnc-conf").status, 200)
        self.assertEqual(m1.api("GET", "/services/fnc").status, 200)
        self.assertEqual(sorted(n["ID"] for n in m1.api("GET", "/nodes").json()), nodes_before)
        # The dead managers stay manager nodes (as swarmkit keeps their node objects), Down
        # once their sessions' grace is over. Their store members are gone, so — as Docker,
        # which fills ManagerStatus from the Raft member list only — they have no ManagerStatus
        # (no MANAGER STATUS in `node ls`) and /info counts one manager.
        for name in ("m2", "m3"):
            self.wait(lambda: self.node(m1, name).get("Status", {}).get("State") == "down", 30,
                      lambda: json.dumps(self.node(m1, name)))
            n = self.node(m1, name)
            self.assertEqual(n["Spec"]["Role"], "manager")
            self.assertNotIn("ManagerStatus", n, json.dumps(n))
            inspected = json.loads(self.ok(m1.docker(["node", "inspect", self.ids[name]]), m1))
            self.assertNotIn("ManagerStatus", inspected[0])
        self.assertIs(self.node(m1, "m1")["ManagerStatus"]["Leader"], True)
        listing = self.ok(m1.docker(["node", "ls", "--format", "{{.ID}} {{.ManagerStatus}}"]), m1)
        status = dict((line.split(" ", 1) + [""])[:2] for line in listing.splitlines())
        self.assertEqual(status[self.ids["m1"]].strip(), "Leader", listing)
        for name in ("m2", "m3"):
            self.assertEqual(status[self.ids[name]].strip(), "", listing)
        swarm = m1.api("GET", "/info").json()["Swarm"]
        self.assertEqual(swarm["Managers"], 1, json.dumps(swarm))
        self.assertEqual([r["NodeID"] for r in swarm["RemoteManagers"]], [self.ids["m1"]])
        self.assertEqual(self.ok(m1.docker(["info", "--format", "{{.Swarm.Managers}}"]),
                             m1).strip(), "1")
        print(self.ok(m1.docker(["node", "ls"]), m1), flush=True)

        # The task on w1 never stopped; w1's session is with m1 now.
        self.assertTrue(harness.pid_alive(pid), "the task died")
        self.wait(lambda: [t["ID"] for t in self.running(m1, "fnc")] == [task["ID"]], 30,
                  lambda: json.dumps(self.tasks(m1, "fnc"))[:2000])
        self.assertEqual(self.running(m1, "fnc")[0]["Status"]["ContainerStatus"]["PID"], pid)
        self.wait(lambda: "Ready" in self.ok(m1.docker(
            ["node", "ls", "--filter", "role=worker", "--format", "{{.Status}}"]), m1), 30,
            w1.log_tail)
        self.wait_log(m1, task["ID"], f"fnc-pw {self.digest('fnc-pw')}")

        # Managers can be added again; writes through the new one reach the worker, and the
        # secret written before the loss is read back through a new task.
        m4 = self.add_manager("m4")
        r = m4.api("GET", "/secrets/fnc-pw")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["ID"], secret_ids["fnc-pw"])
        self.assertEqual(self.node(m1, "m4")["ManagerStatus"]["Reachability"], "reachable")
        # Counted again as a manager the moment it is a store member (two managers: Docker's
        # warning).
        swarm = m1.api("GET", "/info").json()["Swarm"]
        self.assertEqual(swarm["Managers"], 2, json.dumps(swarm))
        self.ok(m4.docker(["service", "update", "-d", "--secret-add", "fnc-a", "fnc"]), m4)
        self.wait(lambda: [t["ID"] for t in self.running(m1, "fnc")] not in ([], [task["ID"]]),
                  60, lambda: json.dumps(self.tasks(m1, "fnc"))[:2000])
        [t2] = self.running(m1, "fnc")
        self.wait_log(m1, t2["ID"], f"fnc-a {self.digest('fnc-a')}")
        self.assertIn(f"fnc-pw {self.digest('fnc-pw')}", self.task_log(m1, t2["ID"]))
        for d in (m1, m4):
            self.assertNotIn(self.values["fnc-pw"], d.log_bytes())

    def test_02_removed_manager_restarted_on_old_data_does_not_split_the_swarm(self):
        m1, m2 = self.d["m1"], self.d["m2"]
        if m1.api("GET", "/secrets/fnc-pw").status != 200:
            self.skipTest("test_01 did not recover the swarm")
        try:
            m2.start(timeout=60)
            started = True
        except harness.DaemonError:
            started = False
        log = m2.log_bytes().decode(errors="replace")
        self.assertIn("was removed from the cluster", log, log[-4000:])
        if started:
            # Its capsuled may answer, but never as a manager of the swarm.
            self.wait(lambda: m2.api("GET", "/secrets").status != 200, 30, m2.log_tail)
        # Its store member stopped itself and was not started again.
        self.wait(lambda: not m2.leftover_etcd(), 30, lambda: f"{m2.leftover_etcd()}")
        # m1 and m4 go on: writes through either, read through the other.
        self.ok(m1.docker(["secret", "create", "fnc-split", "-"], input=b"y"), m1)
        self.wait(lambda: self.d["m4"].api("GET", "/secrets/fnc-split").status == 200, 15,
                  self.d["m4"].log_tail)
        self.assertEqual(self.node(m1, "m2")["Status"]["State"], "down")
        if not started:
            return
        # `swarm leave --force` clears the stale state; m2 joins again as a new manager, and its
        # old node object (a manager no longer in the store's cluster) can be removed.
        r = m2.api("GET", "/info").json()["Swarm"]
        self.assertIn("store member was removed", r["Error"])
        self.ok(m2.docker(["swarm", "leave", "--force"]), m2)
        old_id = self.ids["m2"]
        token = self.ok(m1.docker(["swarm", "join-token", "-q", "manager"]), m1).strip()
        r = m2.docker(["swarm", "join", "--token", token, "--advertise-addr", IP["m2"],
                       "--listen-addr", addr("m2"), addr("m1")])
        self.assertEqual(out(r).strip(), "This node joined a swarm as a manager.", m2.log_tail())
        self.assertEqual(m2.api("GET", "/secrets/fnc-split").status, 200)
        self.assertNotEqual(m2.api("GET", "/info").json()["Swarm"]["NodeID"], old_id)
        self.ok(m1.docker(["node", "rm", old_id]), m1)
        self.assertEqual(m1.api("GET", f"/nodes/{old_id}").status, 404)
        # m2 keeps running: etcd adds a member only while every voting member is connected.

    def test_03_second_round_with_the_other_cli(self):
        m1 = self.d["m1"]
        if "m4" not in self.d:
            self.skipTest("test_01 did not add m4")
        m5 = self.add_manager("m5")
        self.secret(m5, "fnc-c")
        self.kill_node(self.d["m4"])
        self.kill_node(m5)
        self.wait_no_leader(m1)
        cli = harness.OTHER_CLI
        r, took = self.force(m1, cli=cli)
        self.assertEqual(r.returncode, 0, out(r) + m1.log_tail())
        print(f"FIGURE: force-new-cluster ({harness.cli_label(cli)} swarm init) took "
              f"{took * 1000:.0f} ms", flush=True)
        for name in ("fnc-pw", "fnc-a", "fnc-b", "fnc-after", "fnc-c"):
            self.assertEqual(m1.api("GET", f"/secrets/{name}").status, 200, name)
        self.ok(m1.docker(["secret", "create", "fnc-round2", "-"], input=b"z", cli=cli), m1)

    def test_04_capsule_cli_on_a_healthy_swarm_removes_the_other_managers(self):
        m1 = self.d["m1"]
        m6 = self.add_manager("m6")
        self.wait(lambda: m6.api("GET", "/secrets/fnc-pw").status == 200, 15, m6.log_tail)
        r, took = self.force(m1, capsule=True)
        self.assertEqual(r.returncode, 0, out(r) + m1.log_tail())
        self.assertIn(f"Swarm initialized: current node ({self.ids['m1']}) is now a manager.",
                      out(r))
        print(f"FIGURE: force-new-cluster (capsule swarm init, healthy swarm) took "
              f"{took * 1000:.0f} ms", flush=True)
        self.ok(m1.docker(["secret", "create", "fnc-healthy", "-"], input=b"h"), m1)
        # m6's member was removed: it hears so from m1 and stops; m6 no longer serves.
        self.wait(lambda: b"was removed from the cluster" in m6.log_bytes(), 30, m6.log_tail)
        self.wait(lambda: m6.api("GET", "/secrets").status != 200, 30, m6.log_tail)
        self.assertEqual(m6.api("GET", "/secrets/fnc-healthy").status != 200, True)

    def test_05_worker_and_locked_texts(self):
        w1 = self.d["w1"]
        r = w1.api("POST", "/swarm/init", {"ForceNewCluster": True, "ListenAddr": addr("w1"),
                                           "AdvertiseAddr": IP["w1"]})
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["message"],
                         "This node is not a swarm manager. Worker nodes can't be used to view "
                         "or modify cluster state. Please run this command on a manager node or "
                         "promote the current node to a manager.")
        r = self.d["m1"].api("POST", "/swarm/init", {"ListenAddr": addr("m1"),
                                                     "AdvertiseAddr": IP["m1"]})
        self.assertEqual(r.status, 503)
        self.assertIn("This node is already part of a swarm.", r.json()["message"])


if __name__ == "__main__":
    unittest.main()
