"""A multi-node swarm: one manager and two workers, real capsuled processes, the docker CLIs (20.10, and 28.x when present).

Run: PYTHONPATH=.. python3 -m unittest -v test_multinode   (from tests/integration)
Addresses: 127.0.7.1 (manager), 127.0.7.2 / .3 (workers w1, w2), 127.0.7.4 (w3, joins and
leaves), 127.0.7.5 (w4, joins with the capsule CLI). The swarm runs with a 1 s heartbeat period, so a silent node is Down after ~3 s.
Prints `FIGURE:` lines (join time, time until Ready) for the lead's note.
"""

import json
import time
import unittest

import harness

MGR_IP = "127.0.7.1"
W1_IP, W2_IP, W3_IP, W4_IP = "127.0.7.2", "127.0.7.3", "127.0.7.4", "127.0.7.5"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
WORKER_NOT_MANAGER = (
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster "
    "state. Please run this command on a manager node or promote the current node to a manager.")
BAD_TOKEN = "A valid join token is necessary to join this cluster"
DOWN_TIMEOUT = 15  # 3 × 1 s heartbeat + the expiry timer + store write, with slack


def out(r):
    return r.stdout.decode() + r.stderr.decode()


class MultiNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"])
        cls.addClassCleanup(cls.m.close)
        r = cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                          MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"swarm init: {out(r)}\n{cls.m.log_tail()}")
        cls.manager_id = cls.m.api("GET", "/info").json()["Swarm"]["NodeID"]
        cls.w1 = harness.Daemon(W1_IP, name="w1", extra_args=["--hostname", "w1"])
        cls.addClassCleanup(cls.w1.close)
        cls.w2 = harness.Daemon(W2_IP, name="w2", extra_args=["--hostname", "w2"])
        cls.addClassCleanup(cls.w2.close)
        token = cls.worker_token()
        cls.w1_id = cls.join(cls.w1, W1_IP, token, harness.OTHER_CLI)
        cls.w2_id = cls.join(cls.w2, W2_IP, token, harness.DOCKER_20)

    # ---- helpers -------------------------------------------------------------------------
    @classmethod
    def worker_token(cls, cli=harness.OTHER_CLI):
        r = cls.m.docker(["swarm", "join-token", "-q", "worker"], cli=cli)
        if r.returncode != 0:
            raise AssertionError(out(r))
        return r.stdout.decode().strip()

    @classmethod
    def join(cls, w, ip, token, cli):
        """Joins w with the docker CLI; returns its node ID once the manager shows it Ready."""
        t0 = time.monotonic()
        r = w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                      "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR], cli=cli)
        joined = time.monotonic() - t0
        if r.returncode != 0:
            raise AssertionError(f"join {w.name}: {out(r)}\n{w.log_tail()}\n{cls.m.log_tail()}")
        if "This node joined a swarm as a worker." not in out(r):
            raise AssertionError(out(r))
        node_id = w.api("GET", "/info").json()["Swarm"]["NodeID"]
        ready = harness.wait_until(lambda: cls.node_state(node_id) == "ready", 20, 0.02)
        if not ready:
            raise AssertionError(f"{w.name} not Ready: {cls.node_state(node_id)}")
        print(f"FIGURE: {w.name} ({cli}) swarm join returned in {joined * 1000:.0f} ms; "
              f"Ready after {(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
        return node_id

    @classmethod
    def node_state(cls, node_id):
        r = cls.m.api("GET", f"/nodes/{node_id}")
        return r.json()["Status"]["State"] if r.status == 200 else None

    def node(self, ref):
        r = self.m.api("GET", f"/nodes/{ref}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    # ---- tests ---------------------------------------------------------------------------
    def test_01_node_ls_shows_three_ready_nodes(self):
        for cli in harness.DOCKER_CLIS:
            r = self.m.docker(["node", "ls"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
            lines = r.stdout.decode().splitlines()
            self.assertIn("MANAGER STATUS", lines[0])
            rows = {}
            for line in lines[1:]:
                f = line.replace("*", " ").split()
                rows[f[1]] = f[2:]
            self.assertEqual(rows["mgr"][:3], ["Ready", "Active", "Leader"], out(r))
            self.assertEqual(rows["w1"][:2], ["Ready", "Active"], out(r))
            self.assertNotIn("Leader", rows["w1"])
            self.assertEqual(rows["w2"][:2], ["Ready", "Active"], out(r))
        nodes = self.m.api("GET", "/nodes").json()
        self.assertEqual(len(nodes), 3)
        r = self.m.api("GET", "/nodes", query={"filters": json.dumps({"role": ["worker"]})})
        self.assertEqual(sorted(n["Description"]["Hostname"] for n in r.json()), ["w1", "w2"])
        r = self.m.api("GET", "/nodes", query={"filters": json.dumps({"name": ["w1"]})})
        self.assertEqual([n["ID"] for n in r.json()], [self.w1_id])
        r = self.m.api("GET", "/nodes", query={"filters": json.dumps({"bogus": ["x"]})})
        self.assertEqual((r.status, r.message()), (400, "Invalid filter 'bogus'"))

    def test_02_worker_view(self):
        r = self.w1.docker(["info"])
        self.assertIn("Swarm: active", out(r))
        self.assertIn("Is Manager: false", out(r))
        info = self.w1.api("GET", "/info").json()["Swarm"]
        self.assertEqual((info["LocalNodeState"], info["ControlAvailable"]), ("active", False))
        self.assertEqual((info["NodeID"], info["NodeAddr"]), (self.w1_id, W1_IP))
        self.assertEqual(info["RemoteManagers"], [{"NodeID": self.manager_id,
                                                   "Addr": MANAGER_ADDR}])
        self.assertEqual(self.w1.api("GET", "/_ping", version=None).headers["Swarm"],
                         "active/worker")
        for cli in harness.DOCKER_CLIS:
            r = self.w1.docker(["secret", "ls"], cli=cli)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(WORKER_NOT_MANAGER, out(r))
        for method, path in (("GET", "/nodes"), ("GET", "/swarm"), ("GET", "/secrets"),
                             ("POST", "/secrets/create")):
            r = self.w1.api(method, path, body={} if method == "POST" else None)
            self.assertEqual((r.status, r.message()), (503, WORKER_NOT_MANAGER), path)
        r = self.w1.api("POST", "/swarm/init", {"ListenAddr": f"{W1_IP}:2377"})
        self.assertEqual((r.status, r.message()), (503, harness.ALREADY_IN_SWARM))

    def test_03_inspect_drain_label(self):
        n = self.node("w1")
        self.assertEqual(n["ID"], self.w1_id)
        self.assertEqual(n["Description"]["Hostname"], "w1")
        self.assertEqual(n["Status"], {"State": "ready", "Addr": W1_IP})
        self.assertEqual(n["Spec"]["Role"], "worker")
        self.assertNotIn("ManagerStatus", n)
        self.assertEqual(self.node(self.w1_id[:6])["ID"], self.w1_id)
        r = self.m.docker(["node", "inspect", "--format", "{{.Description.Hostname}}", "w2"])
        self.assertEqual(r.stdout.decode().strip(), "w2", out(r))
        r = self.m.docker(["node", "update", "--availability", "drain", "w1"])
        self.assertEqual(r.returncode, 0, out(r))
        r = self.m.docker(["node", "update", "--label-add", "zone=a", "w1"],
                          cli=harness.DOCKER_20)
        self.assertEqual(r.returncode, 0, out(r))
        n = self.node("w1")
        self.assertEqual(n["Spec"]["Availability"], "drain")
        self.assertEqual(n["Spec"]["Labels"], {"zone": "a"})
        r = self.m.docker(["node", "ls", "--filter", "node.label=zone=a", "--format",
                           "{{.Hostname}} {{.Availability}}"])
        self.assertEqual(r.stdout.decode().split("\n")[0], "w1 Drain", out(r))
        # (A promotion is carried out now: test_role_change. An unknown role writes nothing.)
        r = self.m.api("POST", f"/nodes/{self.w1_id}/update", dict(n["Spec"], Role="boss"),
                       query={"version": n["Version"]["Index"]})
        self.assertEqual((r.status, r.message()), (400, 'invalid Role: "boss"'))
        stale = n["Version"]["Index"] - 1
        r = self.m.api("POST", f"/nodes/{self.w1_id}/update", n["Spec"],
                       query={"version": stale})
        self.assertEqual((r.status, r.message()),
                         (500, "rpc error: code = Unknown desc = update out of sequence"))
        r = self.m.docker(["node", "update", "--availability", "active", "w1"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(self.node("w1")["Spec"]["Availability"], "active")

    def test_04_remove_refused_while_ready_or_manager(self):
        r = self.m.docker(["node", "rm", "w1"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"rpc error: code = FailedPrecondition desc = node {self.w1_id} is not "
                      "down and can't be removed", out(r))
        r = self.m.api("DELETE", f"/nodes/{self.manager_id}", query={"force": "1"})
        self.assertEqual(r.status, 400, r)
        self.assertIn("is a cluster manager", r.message())
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)

    def test_05_token_rotation_join_leave_rm(self):
        old = self.worker_token(cli=harness.DOCKER_20)
        r = self.m.docker(["swarm", "join-token", "worker"])
        self.assertIn(f"docker swarm join --token {old} {MANAGER_ADDR}", out(r))
        for cli in harness.DOCKER_CLIS:
            r = self.m.docker(["swarm", "join-token", "--rotate", "worker"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
            self.assertIn("Successfully rotated worker join token.", out(r), cli)
        new = self.worker_token()
        self.assertNotEqual(old, new)
        self.assertEqual(self.m.api("GET", "/swarm").json()["JoinTokens"]["Worker"], new)

        w3 = harness.Daemon(W3_IP, name="w3", extra_args=["--hostname", "w3"])
        self.addCleanup(w3.close)
        # A token naming another root CA: the joining node refuses the manager's CA.
        other_root = "SWMTKN-1-" + "1" * 50 + "-" + new.rsplit("-", 1)[1]
        r = w3.api("POST", "/swarm/join", {"RemoteAddrs": [MANAGER_ADDR],
                                           "JoinToken": other_root, "AdvertiseAddr": W3_IP})
        self.assertEqual(r.status, 400, r)
        self.assertTrue(r.message().startswith("remote CA does not match fingerprint."), r)
        r = w3.api("POST", "/swarm/join", {"RemoteAddrs": [MANAGER_ADDR],
                                           "JoinToken": "SWMTKN-1-bogus", "AdvertiseAddr": W3_IP})
        self.assertEqual((r.status, r.message()),
                         (400, "rpc error: code = InvalidArgument desc = invalid join token"))
        r = w3.docker(["swarm", "join", "--token", old, "--advertise-addr", W3_IP, MANAGER_ADDR])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"rpc error: code = InvalidArgument desc = {BAD_TOKEN}", out(r))
        r = w3.api("POST", "/swarm/join", {"RemoteAddrs": [MANAGER_ADDR], "JoinToken": old,
                                           "AdvertiseAddr": W3_IP})
        self.assertEqual(r.status, 400)
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)
        self.assertEqual(w3.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "inactive")
        # (Joining with the manager token makes a manager: tests/integration/test_ha_join.py.)

        w3_id = self.join(w3, W3_IP, new, harness.OTHER_CLI)
        r = w3.docker(["swarm", "leave"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(w3.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "inactive")
        self.assertTrue(harness.wait_until(lambda: self.node_state(w3_id) == "down",
                                           DOWN_TIMEOUT), self.node_state(w3_id))
        r = self.m.docker(["node", "rm", "w3"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(self.m.api("GET", f"/nodes/{w3_id}").status, 404)
        # It may join again, as a new node.
        again = self.join(w3, W3_IP, new, harness.DOCKER_20)
        self.assertNotEqual(again, w3_id)
        # Force-removed while connected: its session ends and its certificate is refused from
        # then on (the agent's reconnects are turned away by the Authorizer).
        r = self.m.api("DELETE", f"/nodes/{again}")
        self.assertEqual(r.status, 400, r)
        r = self.m.api("DELETE", f"/nodes/{again}", query={"force": "1"})
        self.assertEqual(r.status, 200, r)
        refused = f"node {again} was removed from the swarm"
        self.assertTrue(harness.wait_until(lambda: refused in w3.log_tail(200), 10),
                        w3.log_tail())
        self.assertEqual(self.m.api("GET", f"/nodes/{again}").status, 404)
        r = w3.api("POST", "/swarm/leave")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)

    def test_06_worker_down_and_back_without_token(self):
        self.w2.stop()
        t0 = time.monotonic()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w2_id) == "down",
                                           DOWN_TIMEOUT), self.node_state(self.w2_id))
        print(f"FIGURE: stopped worker shown Down after {time.monotonic() - t0:.1f} s "
              "(heartbeat period 1 s)", flush=True)
        r = self.m.docker(["node", "ls", "--format", "{{.Hostname}} {{.Status}}"])
        self.assertIn("w2 Down", out(r))
        t0 = time.monotonic()
        self.w2.start()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w2_id) == "ready", 20,
                                           0.02), self.node_state(self.w2_id))
        print(f"FIGURE: restarted worker Ready again after {time.monotonic() - t0:.2f} s "
              "(no token)", flush=True)
        info = self.w2.api("GET", "/info").json()["Swarm"]
        self.assertEqual((info["NodeID"], info["LocalNodeState"]), (self.w2_id, "active"))

    def test_07_kill9_worker_reconnects(self):
        self.w1.kill9()
        self.w1.start()
        self.assertTrue(harness.wait_until(
            lambda: self.node_state(self.w1_id) == "ready" and self.w1.api(
                "GET", "/info").json()["Swarm"]["NodeID"] == self.w1_id, 20))
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)

    def test_08_manager_restart_workers_reconnect(self):
        # w2 goes away while the manager is down: after its restart the manager must find
        # w2 Down (no session within the window) and w1 Ready (it reconnected by itself).
        self.m.stop()
        self.w2.stop()
        self.m.start()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w2_id) == "down",
                                           DOWN_TIMEOUT), self.node_state(self.w2_id))
        time.sleep(1)  # the reconciliation and one more heartbeat window have passed
        self.assertEqual(self.node_state(self.w1_id), "ready")
        self.assertEqual(self.node_state(self.manager_id), "ready")
        self.w2.start()
        self.assertTrue(harness.wait_until(lambda: self.node_state(self.w2_id) == "ready", 20))
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)
        # The cluster state is intact: secrets still work on the manager.
        self.m.create_secret("after-restart", b"x")
        self.assertEqual(self.m.api("GET", "/secrets/after-restart").status, 200)

    def test_09_capsule_cli(self):
        r = self.m.capsule(["swarm", "join-token", "-q", "worker"])
        self.assertEqual(r.returncode, 0, out(r))
        token = r.stdout.decode().strip()
        self.assertEqual(token, self.m.api("GET", "/swarm").json()["JoinTokens"]["Worker"])
        r = self.m.capsule(["swarm", "join-token", "worker"])
        self.assertIn(f"capsule swarm join --token {token} {MANAGER_ADDR}", out(r))
        w4 = harness.Daemon(W4_IP, name="w4", extra_args=["--hostname", "w4"])
        self.addCleanup(w4.close)
        r = w4.capsule(["swarm", "join", "--token", token, "--advertise-addr", W4_IP,
                        "--listen-addr", f"{W4_IP}:2377", MANAGER_ADDR])
        self.assertEqual(r.stdout.decode(), "This node joined a swarm as a worker.\n", out(r))
        w4_id = w4.api("GET", "/info").json()["Swarm"]["NodeID"]
        self.assertTrue(harness.wait_until(lambda: self.node_state(w4_id) == "ready", 20))
        r = self.m.capsule(["node", "ls", "--format", "{{.Hostname}} {{.Status}} "
                            "{{.Availability}} {{.ManagerStatus}}"])
        self.assertEqual(sorted(r.stdout.decode().splitlines()),
                         ["mgr Ready Active Leader", "w1 Ready Active ", "w2 Ready Active ",
                          "w4 Ready Active "], out(r))
        r = self.m.capsule(["node", "ls"])
        self.assertIn(f"{self.manager_id} *", out(r))
        self.assertIn("MANAGER STATUS", out(r))
        r = self.m.capsule(["node", "update", "--availability", "pause", "--label-add", "k=v",
                            "w4"])
        self.assertEqual(r.stdout.decode(), "w4\n", out(r))
        n = json.loads(self.m.capsule(["node", "inspect", "w4"]).stdout)[0]
        self.assertEqual((n["ID"], n["Spec"]["Availability"], n["Spec"]["Labels"]),
                         (w4_id, "pause", {"k": "v"}))
        r = self.m.capsule(["node", "rm", "w4"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not down and can't be removed", out(r))
        r = w4.capsule(["secret", "ls"])
        self.assertIn(WORKER_NOT_MANAGER, out(r))
        r = w4.capsule(["swarm", "leave"])
        self.assertEqual(r.stdout.decode(), "Node left the swarm.\n", out(r))
        self.assertTrue(harness.wait_until(lambda: self.node_state(w4_id) == "down",
                                           DOWN_TIMEOUT))
        r = self.m.capsule(["node", "rm", "w4"])
        self.assertEqual(r.stdout.decode(), "w4\n", out(r))
        self.assertEqual(len(self.m.api("GET", "/nodes").json()), 3)


if __name__ == "__main__":
    unittest.main()
