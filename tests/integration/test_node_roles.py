"""Node management with several managers, issue 12 parts 5 and 8: ManagerStatus with a real
Reachability, /info's Managers and RemoteManagers, and Docker's guards on demote, node rm and
swarm leave with Docker's texts and codes. Real capsuled processes and etcd members, the docker
CLIs (20.10, and 28.x when present) and the capsule CLI.

Swarm A: m1 runs `swarm init`, m2 and m3 join as managers, worker w joins. Swarm B: a lone
manager s1 (the last-manager texts), then s2 joins it as a second manager (the two-manager
warning of `docker info`).

Reachability rule (manager/membership/presence.h): a manager is reachable while its presence key,
on a lease it renews every 0.5 s, exists in etcd; a killed manager's key ends with its lease.

Run: PYTHONPATH=.. python3 -m unittest -v test_node_roles   (from tests/integration)
Addresses: 127.0.55.1 (m1), .2 (m2), .3 (m3), .4 (worker w), .11 (s1), .12 (s2).
"""

import os
import signal
import tempfile
import unittest

import harness

IP = {"m1": "127.0.55.1", "m2": "127.0.55.2", "m3": "127.0.55.3", "w": "127.0.55.4",
      "s1": "127.0.55.11", "s2": "127.0.55.12"}
DAEMON_ERR = "Error response from daemon: "
LEAVE_FIRST = ("You are attempting to leave the swarm on a node that is participating as a "
               "manager. ")
LEAVE_LAST = ("The only way to restore a swarm that has lost consensus is to reinitialize it "
              "with `--force-new-cluster`. Use `--force` to suppress this message.")
LAST_MANAGER_LEAVE = ("Removing the last manager erases all current state of the swarm. Use "
                      "`--force` to ignore this message. ")
QUORUM = ("rpc error: code = FailedPrecondition desc = can't remove member from the raft: this "
          "would result in a loss of quorum")
LAST_DEMOTE = ("rpc error: code = FailedPrecondition desc = attempting to demote the last "
               "manager of the swarm")
TWO_MANAGERS = ("WARNING: Running Swarm in a two-manager configuration. This configuration "
                "provides\n         no fault tolerance, and poses a high risk to lose control "
                "over the cluster.\n         Refer to https://docs.docker.com/engine/swarm/"
                "admin_guide/ to configure the\n         Swarm for fault-tolerance.")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def join(daemon, token, via, cli=harness.DOCKER_20):
    r = daemon.docker(["swarm", "join", "--token", token, "--advertise-addr", daemon.ip,
                       "--listen-addr", f"{daemon.ip}:{harness.SWARM_PORT}", addr(via)], cli=cli)
    if r.returncode != 0:
        raise AssertionError(f"join {daemon.name}: {out(r)}\n{daemon.log_tail()}")


def init(daemon):
    r = daemon.docker(["swarm", "init", "--advertise-addr", daemon.ip, "--listen-addr",
                       f"{daemon.ip}:{harness.SWARM_PORT}", "--dispatcher-heartbeat", "1s"])
    if r.returncode != 0:
        raise AssertionError(f"swarm init: {out(r)}\n{daemon.log_tail()}")


def token(daemon, role):
    return daemon.docker(["swarm", "join-token", "-q", role]).stdout.decode().strip()


class NodeRoles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cpnr-", dir="/tmp")
        cls.d = {}
        for name in ("m1", "m2", "m3", "w", "s1", "s2"):
            cls.d[name] = harness.Daemon(IP[name], name=name, extra_args=["--hostname", name])
            cls.addClassCleanup(cls.d[name].close)
        m1 = cls.d["m1"]
        init(m1)
        join(cls.d["m2"], token(m1, "manager"), "m1")
        join(cls.d["m3"], token(m1, "manager"), "m2", cli=harness.OTHER_CLI)
        join(cls.d["w"], token(m1, "worker"), "m1")
        init(cls.d["s1"])
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout), msg() if callable(msg) else msg)

    def rows(self, d, cli):
        """{hostname: MANAGER STATUS} as `docker node ls` prints it."""
        r = d.docker(["node", "ls", "--format", "{{.Hostname}}={{.ManagerStatus}}"], cli=cli)
        self.assertEqual(r.returncode, 0, out(r) + d.log_tail())
        return dict(line.split("=", 1) for line in r.stdout.decode().split("\n") if line)

    def capsule_rows(self, d):
        """{hostname: MANAGER STATUS} from `capsule node ls` (column by its header's offset)."""
        r = d.capsule(["node", "ls"])
        self.assertEqual(r.returncode, 0, out(r))
        lines = r.stdout.decode().split("\n")
        start = lines[0].index("MANAGER STATUS")
        end = lines[0].index("ENGINE VERSION")
        host = lines[0].index("HOSTNAME")
        status = lines[0].index("STATUS", host + len("HOSTNAME"))
        return {line[host:status].strip(): line[start:end].strip() for line in lines[1:] if line}

    def leader(self):
        nodes = self.d["m1"].api("GET", "/nodes").json()
        names = [n["Description"]["Hostname"] for n in nodes
                 if (n.get("ManagerStatus") or {}).get("Leader")]
        return names[0] if len(names) == 1 else None

    def fails_with(self, r, text):
        # (The CLIs print the message without its trailing space.)
        self.assertNotEqual(r.returncode, 0, out(r))
        self.assertIn(DAEMON_ERR + text.rstrip() + "\n", out(r))

    # ---- tests -----------------------------------------------------------------------------
    def test_01_manager_status_leader_reachable_reachable_on_every_manager(self):
        self.wait(lambda: self.leader() is not None, 20, "no single leader")
        lead = self.leader()
        want = {m: "Leader" if m == lead else "Reachable" for m in ("m1", "m2", "m3")}
        want["w"] = ""
        for name in ("m1", "m2", "m3"):
            for cli in harness.DOCKER_CLIS:
                self.wait(lambda: self.rows(self.d[name], cli) == want, 20,
                          lambda: f"{name} {cli}: {self.rows(self.d[name], cli)}")
            self.assertEqual(self.capsule_rows(self.d[name]), want)
        n = self.d["m2"].api("GET", f"/nodes/{self.ids['m3']}").json()
        self.assertEqual(n["ManagerStatus"]["Reachability"], "reachable")
        self.assertEqual(n["ManagerStatus"]["Addr"], addr("m3"))
        self.assertNotIn("ManagerStatus", self.d["m2"].api("GET", f"/nodes/{self.ids['w']}").json())

    def test_02_info_counts_managers_and_lists_them_as_remote_managers(self):
        want = sorted((self.ids[m], addr(m)) for m in ("m1", "m2", "m3"))
        for name in ("m1", "m2", "m3"):
            swarm = self.d[name].api("GET", "/info").json()["Swarm"]
            self.assertEqual((swarm["Managers"], swarm["Nodes"]), (3, 4))
            self.assertEqual(sorted((p["NodeID"], p["Addr"]) for p in swarm["RemoteManagers"]),
                             want)
            for cli in harness.DOCKER_CLIS:
                r = self.d[name].docker(["info"], cli=cli)
                self.assertIn("Managers: 3", out(r))
                self.assertNotIn("two-manager", out(r))

    def test_03_node_rm_of_a_manager_is_refused_even_forced(self):
        msg = (f"rpc error: code = FailedPrecondition desc = node {self.ids['m3']} is a cluster "
               "manager and is a member of the raft cluster. It must be demoted to worker before "
               "removal")
        for cli in harness.DOCKER_CLIS:
            self.fails_with(self.d["m1"].docker(["node", "rm", "m3"], cli=cli), msg)
            self.fails_with(self.d["m1"].docker(["node", "rm", "--force", "m3"], cli=cli), msg)
        r = self.d["m1"].api("DELETE", f"/nodes/{self.ids['m3']}", query={"force": "1"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["message"], msg)

    def test_04_leave_on_a_manager_of_three_warns(self):
        for cli in harness.DOCKER_CLIS:
            self.fails_with(self.d["m2"].docker(["swarm", "leave"], cli=cli),
                            LEAVE_FIRST + LEAVE_LAST)
        r = self.d["m2"].api("POST", "/swarm/leave")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["message"], LEAVE_FIRST + LEAVE_LAST)
        self.assertEqual(self.d["m2"].api("GET", "/info").json()["Swarm"]["LocalNodeState"],
                         "active")

    def test_05_a_killed_manager_is_unreachable_on_the_others_and_guards_count_it(self):
        m3 = self.d["m3"]
        if self.leader() == "m3":
            # Keep m3 a follower, so the test's own leadership change is not what it measures.
            m3.restart()
            self.wait(lambda: self.leader() not in (None, "m3"), 20, "leadership did not move")
        etcd_pid = m3.etcd_pid()
        self.assertIsNotNone(etcd_pid)
        os.kill(etcd_pid, signal.SIGKILL)
        m3.kill9()
        try:
            for name in ("m1", "m2"):
                for cli in harness.DOCKER_CLIS:
                    self.wait(lambda: self.rows(self.d[name], cli).get("m3") == "Unreachable", 20,
                              lambda: f"{name} {cli}: {self.rows(self.d[name], cli)}")
                self.assertEqual(self.capsule_rows(self.d[name])["m3"], "Unreachable")
            n = self.d["m1"].api("GET", f"/nodes/{self.ids['m3']}").json()
            self.assertEqual(n["ManagerStatus"]["Reachability"], "unreachable")
            # Demoting m2 would leave m1 alone reachable of three members: refused.
            for cli in harness.DOCKER_CLIS:
                self.fails_with(self.d["m1"].docker(["node", "demote", "m2"], cli=cli), QUORUM)
            self.fails_with(self.d["m1"].capsule(["node", "demote", "m2"]), QUORUM)
            v = self.d["m1"].api("GET", f"/nodes/{self.ids['m2']}").json()["Version"]["Index"]
            r = self.d["m1"].api("POST", f"/nodes/{self.ids['m2']}/update",
                                 body={"Role": "worker", "Availability": "active"},
                                 query={"version": str(v)})
            self.assertEqual((r.status, r.json()["message"]), (400, QUORUM))
            # Leaving m2 would leave 1 of 3.
            self.fails_with(self.d["m2"].docker(["swarm", "leave"]),
                            LEAVE_FIRST + "Removing this node leaves 1 managers out of 3. Without "
                            "a Raft quorum your swarm will be inaccessible. " + LEAVE_LAST)
            self.assertEqual(self.d["m1"].api("GET", "/info").json()["Swarm"]["Managers"], 3)
        finally:
            m3.start()
        for name in ("m1", "m2"):
            self.wait(lambda: self.rows(self.d[name], harness.DOCKER_20).get("m3") in
                      ("Reachable", "Leader"), 30,
                      lambda: f"{name}: {self.rows(self.d[name], harness.DOCKER_20)}")

    def test_06_the_last_manager_cannot_be_demoted_or_leave(self):
        s1 = self.d["s1"]
        for cli in harness.DOCKER_CLIS:
            self.fails_with(s1.docker(["node", "demote", "s1"], cli=cli), LAST_DEMOTE)
            self.fails_with(s1.docker(["swarm", "leave"], cli=cli),
                            LEAVE_FIRST + LAST_MANAGER_LEAVE)
        self.fails_with(s1.capsule(["node", "demote", "s1"]), LAST_DEMOTE)
        r = s1.api("POST", "/swarm/leave")
        self.assertEqual((r.status, r.json()["message"]), (503, LEAVE_FIRST + LAST_MANAGER_LEAVE))
        self.assertEqual(s1.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "active")
        r = s1.capsule(["node", "promote", "s1"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, f"Node {self.ids['s1']} is already a manager.\n"), out(r))
        r = self.d["m1"].docker(["node", "promote", "m2"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, f"Node {self.ids['m2']} is already a manager.\n"), out(r))

    def test_07_two_managers_get_dockers_warning_in_docker_info(self):
        s1, s2 = self.d["s1"], self.d["s2"]
        join(s2, token(s1, "manager"), "s1")
        for d in (s1, s2):
            swarm = d.api("GET", "/info").json()["Swarm"]
            self.assertEqual(swarm["Managers"], 2)
            self.assertEqual(swarm["Warnings"], [TWO_MANAGERS])
            for cli in harness.DOCKER_CLIS:
                r = d.docker(["info"], cli=cli)
                self.assertIn(TWO_MANAGERS, out(r))
        # Two managers, both reachable: leaving loses the quorum.
        self.fails_with(s2.docker(["swarm", "leave"]),
                        LEAVE_FIRST + "Removing this node leaves 1 managers out of 2. Without "
                        "a Raft quorum your swarm will be inaccessible. " + LEAVE_LAST)

    def test_08_a_manager_that_leaves_with_force_stays_a_member_unreachable_as_in_docker(self):
        m3 = self.d["m3"]
        self.wait(lambda: self.leader() not in (None, "m3"), 20, "m3 leads")
        for cli in harness.DOCKER_CLIS:
            self.wait(lambda: self.rows(self.d["m1"], cli).get("m3") == "Reachable", 30,
                      lambda: self.rows(self.d["m1"], cli))
        r = m3.docker(["swarm", "leave", "--force"])
        self.assertEqual((r.returncode, r.stdout.decode()), (0, "Node left the swarm.\n"), out(r))
        self.assertEqual(m3.api("GET", "/info").json()["Swarm"]["LocalNodeState"], "inactive")
        # Its lease was revoked on the way out: Unreachable at once (well within one read).
        for name in ("m1", "m2"):
            self.wait(lambda: self.rows(self.d[name], harness.DOCKER_20).get("m3") ==
                      "Unreachable", 5, lambda: self.rows(self.d[name], harness.DOCKER_20))
        # Still a manager of the swarm (Docker keeps its raft member until demote and rm).
        swarm = self.d["m1"].api("GET", "/info").json()["Swarm"]
        self.assertEqual(swarm["Managers"], 3)
        self.assertIn(self.ids["m3"], [p["NodeID"] for p in swarm["RemoteManagers"]])
        # The other two keep the quorum: writes go on.
        self.d["m2"].create_secret("after-m3-left", b"x")
        self.wait(lambda: self.d["m1"].api("GET", "/secrets/after-m3-left").status == 200, 5,
                  "secret not on m1")


if __name__ == "__main__":
    unittest.main()
