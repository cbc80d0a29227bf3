"""HA managers, issue 12 parts 1 and 2: managers join an existing swarm and every manager serves
the whole API. Real capsuled processes and etcd members, the docker CLIs (20.10, and 28.x when
present).

m1 runs `swarm init`; m2 joins through m1 and m3 through m2, both with the manager token; a worker
w joins through m1. Then: node ls on every manager; the etcd cluster has three voters; a secret
created through m2 is read through m3 and m1 at once; a service created through m3 runs its task
on the worker with the secret mounted; a join with a wrong token changes nothing; a join that
fails after its etcd member was added (its peer port is taken) leaves no member and no node behind,
and the same node then joins once the port is free.

Run: PYTHONPATH=.. python3 -m unittest -v test_ha_join   (from tests/integration)
Addresses: 127.0.43.1 (m1), .2 (m2), .3 (m3), .4 (worker w), .5 (wrong token), .6 (failed join),
.7 (join right after a token rotation on another manager), .8 (m4, joins while m3 is down).
"""

import hashlib
import json
import os
import socket
import tempfile
import time
import unittest

import harness
from harness import busybox_image

IP = {"m1": "127.0.43.1", "m2": "127.0.43.2", "m3": "127.0.43.3", "w": "127.0.43.4",
      "bad": "127.0.43.5", "late": "127.0.43.6", "rot": "127.0.43.7", "m4": "127.0.43.8"}
IMAGE = "capsule/busybox:1"
BAD_TOKEN = "A valid join token is necessary to join this cluster"
JOINED_MANAGER = "This node joined a swarm as a manager."
SLEEP = ["sh", "-c", 'trap "exit 0" TERM; sleep 1d & wait']


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def certs_of(daemon):
    d = os.path.join(daemon.data_root, "swarm", "certificates")
    return (os.path.join(d, "swarm-node.crt"), os.path.join(d, "swarm-node.key"),
            os.path.join(d, "swarm-root-ca.crt"))


def etcd_members(daemon):
    """The etcd member list, from the member's peer API (GET /members over mutual TLS with the
    manager's own certificate, dialled from its address): [{name, isLearner, peerURLs}]."""
    cert, key, ca = certs_of(daemon)
    result = harness.etcd_peer_get(daemon.ip, daemon.ip, cert, key, ca)
    assert result[0] == "ok" and " 200 " in result[1], result
    return json.loads(result[2])


class HaJoin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cpha-", dir="/tmp")
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.d = {}
        for name in ("m1", "m2", "m3", "w"):
            cls.d[name] = harness.Daemon(IP[name], name=name, extra_args=["--hostname", name])
            cls.addClassCleanup(cls.d[name].close)
        m1 = cls.d["m1"]
        r = m1.docker(["swarm", "init", "--advertise-addr", IP["m1"], "--listen-addr",
                       addr("m1"), "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"swarm init: {out(r)}\n{m1.log_tail()}")
        cls.manager_token = m1.docker(["swarm", "join-token", "-q", "manager"]).stdout.decode().strip()
        worker_token = m1.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.join_out = {}
        cls.join_secs = {}
        # m2 through m1 (20.10 CLI), m3 through m2 (the other CLI): any manager admits managers.
        for name, via, cli, token in (("m2", "m1", harness.DOCKER_20, cls.manager_token),
                                      ("m3", "m2", harness.OTHER_CLI, cls.manager_token),
                                      ("w", "m1", harness.DOCKER_20, worker_token)):
            t0 = time.monotonic()
            r = cls.d[name].docker(["swarm", "join", "--token", token, "--advertise-addr",
                                    IP[name], "--listen-addr", addr(name), addr(via)], cli=cli)
            cls.join_secs[name] = time.monotonic() - t0
            if r.returncode != 0:
                raise AssertionError(f"join {name}: {out(r)}\n{cls.d[name].log_tail()}\n"
                                     f"{cls.d[via].log_tail()}")
            cls.join_out[name] = out(r)
            print(f"FIGURE: {name} swarm join returned in {cls.join_secs[name] * 1000:.0f} ms",
                  flush=True)
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}
        for name in ("m1", "w"):
            r = cls.d[name].docker(["import", cls.rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(out(r))

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d=None):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + (d or self.d["m1"]).log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout), msg() if callable(msg) else msg)

    def managers(self):
        return [self.d[n] for n in ("m1", "m2", "m3")]

    def node_rows(self, d, cli):
        r = d.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"],
                     cli=cli)
        self.ok(r, d)
        return sorted(r.stdout.decode().split("\n")[:-1])

    # ---- tests -----------------------------------------------------------------------------
    def test_01_managers_join_with_docker_message(self):
        for name in ("m2", "m3"):
            self.assertIn(JOINED_MANAGER, self.join_out[name])
            info = self.d[name].api("GET", "/info").json()["Swarm"]
            self.assertEqual((info["LocalNodeState"], info["ControlAvailable"]), ("active", True))
            self.assertEqual(self.d[name].api("GET", "/_ping", version=None).headers["Swarm"],
                             "active/manager")
            self.assertEqual((info["Managers"], info["Nodes"]), (3, 4))
            r = self.d[name].docker(["info"])
            self.assertIn("Is Manager: true", out(r))
        self.assertIn("This node joined a swarm as a worker.", self.join_out["w"])
        # The certificate a manager token yields: OU swarm-manager, its advertised IP as a SAN.
        import subprocess
        t = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName",
                            "-in", certs_of(self.d["m2"])[0]], capture_output=True, text=True)
        self.assertIn("OU = swarm-manager", t.stdout)
        self.assertIn(f"IP Address:{IP['m2']}", t.stdout)

    def test_02_node_ls_on_every_manager(self):
        # The leader is elected (test_ha_election): m1, which campaigned first, unless its lease
        # lapsed meanwhile (a starved machine) and another manager took over.
        def leader():
            nodes = self.d["m1"].api("GET", "/nodes").json()
            names = [n["Description"]["Hostname"] for n in nodes
                     if (n.get("ManagerStatus") or {}).get("Leader")]
            return names[0] if len(names) == 1 else None
        self.wait(lambda: leader() is not None, 20, "no single leader")
        lead = leader()
        want = [f"{m} Ready {'Leader' if m == lead else 'Reachable'}" for m in ("m1", "m2", "m3")]
        want.append("w Ready ")
        for d in self.managers():
            for cli in harness.DOCKER_CLIS:
                self.wait(lambda: self.node_rows(d, cli) == want, 20,
                          lambda: f"{d.name} {cli}: {self.node_rows(d, cli)}")
        n = self.d["m3"].api("GET", f"/nodes/{self.ids['m2']}").json()
        self.assertEqual(n["Spec"]["Role"], "manager")
        self.assertEqual(n["ManagerStatus"]["Addr"], addr("m2"))
        self.assertEqual(n["ManagerStatus"]["Reachability"], "reachable")
        self.assertEqual(n["ManagerStatus"].get("Leader", False), lead == "m2")
        self.assertTrue(self.d["m2"].api("GET", f"/nodes/{self.ids[lead]}").json()
                        ["ManagerStatus"]["Leader"])

    def test_03_three_voting_etcd_members(self):
        members = etcd_members(self.d["m3"])
        self.assertEqual(sorted(m["name"] for m in members),
                         sorted(self.ids[n] for n in ("m1", "m2", "m3")), members)
        self.assertFalse(any(m.get("isLearner") for m in members), members)

    def test_04_secret_written_through_m2_read_through_m3_and_m1_at_once(self):
        m1, m2, m3 = self.managers()
        r = m2.docker(["secret", "create", "ha-pw", "-"], input=b"s3cr3t")
        sid = self.ok(r, m2).strip()
        t0 = time.monotonic()
        for d in (m3, m1):
            for cli in harness.DOCKER_CLIS:
                r = d.docker(["secret", "inspect", "--format", "{{.ID}} {{.Spec.Name}}", "ha-pw"],
                             cli=cli)
                self.assertEqual(self.ok(r, d).strip(), f"{sid} ha-pw")
        print(f"FIGURE: secret created on m2 inspected on m3 and m1 "
              f"({len(harness.DOCKER_CLIS) * 2} CLI runs) in {(time.monotonic() - t0) * 1000:.0f} ms",
              flush=True)
        listings = set()
        for d in self.managers():
            r = d.docker(["secret", "ls", "--format", "{{.ID}} {{.Name}}"])
            listings.add(self.ok(r, d))
        self.assertEqual(len(listings), 1, listings)
        self.assertIn(f"{sid} ha-pw", listings.pop())
        # A write through m3 is read back through m2 and m1 too, and a delete through m1 is seen
        # by all.
        sid2 = m3.create_secret("ha-other", b"x")
        for d in (m2, m1):
            self.wait(lambda: d.api("GET", "/secrets/ha-other").status == 200, 2,
                      f"ha-other not on {d.name}")
            self.assertEqual(d.api("GET", "/secrets/ha-other").json()["ID"], sid2)
        self.ok(m1.docker(["secret", "rm", "ha-other"]))
        for d in (m2, m3):
            self.wait(lambda: d.api("GET", "/secrets/ha-other").status == 404, 5,
                      f"ha-other still on {d.name}")

    def test_05_service_created_on_m3_runs_on_the_worker_with_its_secret(self):
        m3, w = self.d["m3"], self.d["w"]
        sid = m3.create_secret("svc-pw", b"task-secret-bytes")
        self.ok(m3.docker(["service", "create", "-d", "--name", "ha-svc", "--constraint",
                           "node.role==worker", "--secret", "svc-pw", IMAGE] + SLEEP), m3)

        def running():
            r = m3.api("GET", "/tasks", query={"filters": json.dumps({"service": ["ha-svc"]})})
            return [t["NodeID"] for t in r.json()
                    if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]
        self.wait(lambda: running() == [self.ids["w"]], 60,
                  lambda: f"{running()}\n{self.d['m1'].log_tail()}")
        agent = w.api("GET", "/capsule/agent", version=None).json()
        self.assertEqual(agent["Secrets"], [sid])
        # The secret's file on the task's tmpfs holds its bytes (compared by hash).
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f.read().splitlines()
                      if w.exec_root in l and "tmpfs" in l]
        self.assertEqual(len(mounts), 1, mounts)
        with open(os.path.join(mounts[0], sid), "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(got, hashlib.sha256(b"task-secret-bytes").hexdigest())
        self.ok(m3.docker(["service", "rm", "ha-svc"]), m3)

    def test_06_wrong_token_changes_nothing(self):
        bad = harness.Daemon(IP["bad"], name="bad", extra_args=["--hostname", "bad"])
        self.addCleanup(bad.close)
        before = (len(self.d["m1"].api("GET", "/nodes").json()), etcd_members(self.d["m1"]))
        token = self.manager_token[:-5] + ("aaaaa" if not self.manager_token.endswith("aaaaa")
                                           else "bbbbb")
        for cli in harness.DOCKER_CLIS:
            r = bad.docker(["swarm", "join", "--token", token, "--advertise-addr", IP["bad"],
                            "--listen-addr", addr("bad"), addr("m1")], cli=cli)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(BAD_TOKEN, out(r))
        self.assertEqual(bad.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "inactive")
        after = (len(self.d["m1"].api("GET", "/nodes").json()), etcd_members(self.d["m1"]))
        self.assertEqual(before, after)
        self.assertFalse(os.path.exists(os.path.join(bad.data_root, "etcd")))

    def test_07_join_failing_after_the_member_add_leaves_no_member(self):
        m1 = self.d["m1"]
        late = harness.Daemon(IP["late"], name="late", extra_args=["--hostname", "late"])
        self.addCleanup(late.close)
        nodes_before = len(m1.api("GET", "/nodes").json())
        # The joining node's etcd peer port is taken: its member is added as a learner, then
        # its etcd cannot start, and the join must roll the member back.
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((IP["late"], harness.ETCD_PEER_PORT))
        blocker.listen()
        try:
            r = late.docker(["swarm", "join", "--token", self.manager_token, "--advertise-addr",
                             IP["late"], "--listen-addr", addr("late"), addr("m1")])
        finally:
            blocker.close()
        self.assertNotEqual(r.returncode, 0, out(r))
        log = m1.log_bytes().decode(errors="replace")
        self.assertIn(f"added as store learner", log)
        self.assertIn("removed (its join did not finish)", log)
        members = etcd_members(m1)
        self.assertEqual(len(members), 3, members)
        self.assertFalse(any(m.get("isLearner") for m in members), members)
        self.assertEqual(len(m1.api("GET", "/nodes").json()), nodes_before)
        info = late.api("GET", "/info").json()["Swarm"]
        self.assertEqual(info["LocalNodeState"], "inactive")
        for sub in ("etcd", "swarm/kek", "swarm/certificates", "swarm/state.json"):
            self.assertFalse(os.path.exists(os.path.join(late.data_root, sub)), sub)
        # With the port free the same node joins, and the cluster has four voters.
        sid = m1.create_secret("before-late", b"x")
        r = late.docker(["swarm", "join", "--token", self.manager_token, "--advertise-addr",
                         IP["late"], "--listen-addr", addr("late"), addr("m1")])
        self.assertEqual(r.returncode, 0, f"{out(r)}\n{late.log_tail()}\n{m1.log_tail(80)}")
        self.assertIn(JOINED_MANAGER, out(r))
        members = etcd_members(m1)
        self.assertEqual(len(members), 4, members)
        self.assertFalse(any(m.get("isLearner") for m in members), members)
        self.assertEqual(late.api("GET", "/secrets/before-late").json()["ID"], sid)

    def test_08_joined_manager_restarts_as_a_manager_without_leader_work(self):
        m1, m2 = self.d["m1"], self.d["m2"]
        # Leader work runs on the elected leader only (part 3: test_ha_election).
        started = [d.name for d in self.managers() if b"leader work started" in d.log_bytes()]
        self.assertGreaterEqual(len(started), 1)
        m2.restart()
        self.wait(lambda: m2.api("GET", "/secrets/ha-pw").status == 200, 20, m2.log_tail)
        sid = m2.create_secret("after-restart", b"y")
        # (Reads through another manager follow its etcd watch: milliseconds, not linearizable.)
        self.wait(lambda: m1.api("GET", "/secrets/after-restart").status == 200, 2,
                  "after-restart not on m1")
        self.assertEqual(m1.api("GET", "/secrets/after-restart").json()["ID"], sid)
        # Back as a manager: Reachable, or Leader if it won an election since (it resigned on
        # the restart; a later campaign may go its way).
        self.wait(lambda: {"m2 Ready Reachable", "m2 Ready Leader"} & set(
            self.node_rows(m1, harness.DOCKER_20)), 20,
                  lambda: self.node_rows(m1, harness.DOCKER_20))
        self.assertEqual(len(etcd_members(m1)), len(etcd_members(m2)))

    def test_09_a_token_rotated_on_one_manager_stops_working_on_every_manager_at_once(self):
        # Issue 13 part 4: each manager checks a join against the tokens in etcd itself (a
        # linearizable read per join), not against its read model, so the join through m3
        # right after the rotation through m2 already sees the new token.
        m2, m3 = self.d["m2"], self.d["m3"]
        old = m2.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        rot = m2.docker(["swarm", "join-token", "-q", "--rotate", "worker"])
        new = self.ok(rot, m2).strip()
        self.assertNotEqual(new, old)
        rot2 = harness.Daemon(IP["rot"], name="rot", extra_args=["--hostname", "rot"])
        self.addCleanup(rot2.close)
        for via in ("m3", "m1"):
            r = rot2.docker(["swarm", "join", "--token", old, "--advertise-addr", IP["rot"],
                             "--listen-addr", addr("rot"), addr(via)])
            self.assertNotEqual(r.returncode, 0, out(r))
            self.assertIn(BAD_TOKEN, out(r))
        self.assertEqual(rot2.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "inactive")
        r = rot2.docker(["swarm", "join", "--token", new, "--advertise-addr", IP["rot"],
                         "--listen-addr", addr("rot"), addr("m3")])
        self.assertEqual(r.returncode, 0, f"{out(r)}\n{rot2.log_tail()}\n{m3.log_tail()}")
        self.assertIn("This node joined a swarm as a worker.", out(r))

    def test_10_a_manager_joins_while_another_manager_is_down(self):
        # As swarmkit's raft: a join needs a quorum, not every manager. (etcd's strict reconfig
        # check refused any member add while one voter was unreachable: "unhealthy cluster".)
        m1, m3 = self.d["m1"], self.d["m3"]
        # test_07 left a fourth voter, "late", which is down since its test ended: with m3
        # down too, 2 of 4 would be no quorum. Demote it first (its member is removed: 3 of
        # the remaining 3 are reachable).
        if len(etcd_members(m1)) == 4:
            self.ok(m1.docker(["node", "demote", "late"]))
            self.wait(lambda: len(etcd_members(m1)) == 3, 30, lambda: etcd_members(m1))
        self.assertEqual(len(etcd_members(m1)), 3)
        m3.stop()
        self.addCleanup(lambda: m3.running() or m3.start())
        self.wait(lambda: any(row.startswith("m3 ") and row.endswith(" Unreachable")
                              for row in self.node_rows(m1, harness.DOCKER_20)),
                  30, lambda: self.node_rows(m1, harness.DOCKER_20))
        m4 = harness.Daemon(IP["m4"], name="m4", extra_args=["--hostname", "m4"])
        self.addCleanup(m4.close)
        r = m4.docker(["swarm", "join", "--token", self.manager_token, "--advertise-addr",
                       IP["m4"], "--listen-addr", addr("m4"), addr("m1")])
        self.assertEqual(r.returncode, 0, f"{out(r)}\n{m4.log_tail()}\n{m1.log_tail()}")
        self.assertIn(JOINED_MANAGER, out(r))
        self.wait(lambda: "m4 Ready Reachable" in self.node_rows(m1, harness.DOCKER_20), 30,
                  lambda: self.node_rows(m1, harness.DOCKER_20))
        members = etcd_members(m1)
        self.assertEqual(len(members), 4, members)
        self.assertFalse(any(m.get("isLearner") for m in members), members)
        # The new manager serves: a write through it is read through m1.
        sid = m4.create_secret("joined-while-down", b"z")
        self.wait(lambda: m1.api("GET", "/secrets/joined-while-down").status == 200, 5,
                  "joined-while-down not on m1")
        self.assertEqual(m1.api("GET", "/secrets/joined-while-down").json()["ID"], sid)
        # m3 comes back as a manager beside the new one.
        m3.start()
        self.wait(lambda: {"m3 Ready Reachable", "m3 Ready Leader"} & set(
            self.node_rows(m1, harness.DOCKER_20)), 60,
                  lambda: self.node_rows(m1, harness.DOCKER_20))


if __name__ == "__main__":
    unittest.main()
