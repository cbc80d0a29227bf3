"""`docker node promote|demote`, issue 12 part 5: the role change itself. Real capsuled
processes and etcd members, real runc tasks, the docker CLIs (20.10, and 28.x when present) and
the capsule CLI.

m1 runs `swarm init`; w1 and w2 join as workers.
  - `docker node promote w1` returns at once (Docker's text, from the CLI; Spec.Role is
    manager at once); w1 then renews to a manager certificate, joins etcd and serves the API on
    its own socket; a secret written through it is read through m1 and back; /nodes shows it
    Reachable in the MANAGER STATUS column of both CLIs and `capsule node ls`;
  - a service task with a secret runs on w1; `docker node demote w1`: its etcd member is gone
    from etcd's member list, its etcd dir and KEK are gone, it is a worker again (a worker's
    certificate, the worker's API texts) and its task keeps running with the same PID, the
    same secret tmpfs and the same secret;
  - the demoted manager's old certificate does not get it back onto the peer port: etcd answers
    its removed member ID with 410 "removed member" (a stream from an ID that never was a
    member gets 404: the 410 is the removal's);
  - w1 and w2 promoted again (the capsule CLI and the other docker CLI): three managers; the
    leader is demoted: leadership moves first (a new leader elected among the other two),
    then the old leader's member is removed and it becomes a worker.

Run: PYTHONPATH=.. python3 -m unittest -v test_role_change   (from tests/integration)
Addresses: 127.0.61.1 (m1), .2 (w1), .3 (w2).
"""

import hashlib
import json
import os
import socket
import ssl
import unittest

import harness
from harness import busybox_image, ha_swarm

IP = {"m1": "127.0.61.1", "w1": "127.0.61.2", "w2": "127.0.61.3"}
IMAGE = "capsule/busybox:1"
SHOW = ('for f in /run/secrets/*; do echo "$(basename $f) $(sha256sum $f | cut -c1-64)"; done; '
        'trap "exit 0" TERM; sleep 1d & wait')
WORKER_TEXT = ("This node is not a swarm manager. Worker nodes can't be used to view or modify "
               "cluster state. Please run this command on a manager node or promote the current "
               "node to a manager.")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def etcd_members(daemon):
    """[(member ID as int, name)] as the member list of daemon's own etcd member says."""
    members = ha_swarm.etcd_member_list(daemon)
    return None if members is None else [(m["ID"], m.get("name", "")) for m in members]


def cert_ou(daemon):
    return ha_swarm.cert_ou(os.path.join(daemon.data_root, "swarm", "certificates",
                                         "swarm-node.crt"))


def raft_stream(daemon_ip, source_ip, certs, sender_id, cluster_id="0", to_id="0"):
    """GET /raft/stream/message/<sender> on the etcd peer port of daemon_ip, as etcd's peers
    open their streams. → (HTTP status, body, the member's X-Etcd-Cluster-ID header)."""
    cert, key, ca = certs
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.check_hostname = False
    ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((daemon_ip, harness.ETCD_PEER_PORT), timeout=10,
                                   source_address=(source_ip, 0))
    with ctx.wrap_socket(raw, server_hostname=daemon_ip) as tls:
        tls.sendall((f"GET /raft/stream/message/{sender_id:x} HTTP/1.1\r\nHost: {daemon_ip}\r\n"
                     f"X-Server-From: {sender_id:x}\r\nX-Server-Version: 3.4.0\r\n"
                     f"X-Min-Cluster-Version: 3.0.0\r\nX-Etcd-Cluster-ID: {cluster_id}\r\n"
                     f"X-Raft-To: {to_id}\r\nConnection: close\r\n\r\n").encode())
        data = b""
        tls.settimeout(5)
        try:
            while b"\r\n\r\n" not in data or len(data) < 4096:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    return status, body.decode(errors="replace"), headers.get("x-etcd-cluster-id", "")


class RoleChange(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, ("m1",), workers=("w1", "w2"), heartbeat="1s")
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cprc-")
        for d in cls.d.values():
            r = d.docker(["import", rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"import: {out(r)}")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in cls.d}

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.05), msg() if callable(msg) else msg)

    def swarm_info(self, d):
        return d.api("GET", "/info").json()["Swarm"]

    def is_manager(self, d):
        """d serves the manager API (its own socket)."""
        return (self.swarm_info(d).get("ControlAvailable") is True
                and d.api("GET", "/nodes").status == 200)

    def rows(self, d, cli=harness.DOCKER_20):
        r = d.docker(["node", "ls", "--format", "{{.Hostname}}={{.ManagerStatus}}"], cli=cli)
        if r.returncode != 0:
            return {}
        return dict(l.split("=", 1) for l in r.stdout.decode().split("\n") if l)

    def capsule_rows(self, d):
        r = d.capsule(["node", "ls"])
        if r.returncode != 0:
            return {}
        lines = r.stdout.decode().split("\n")
        start, end = lines[0].index("MANAGER STATUS"), lines[0].index("ENGINE VERSION")
        host = lines[0].index("HOSTNAME")
        status = lines[0].index("STATUS", host + len("HOSTNAME"))
        return {l[host:status].strip(): l[start:end].strip() for l in lines[1:] if l}

    def leader(self, d):
        r = d.api("GET", "/nodes")
        if r.status != 200:
            return None
        names = [n["Description"]["Hostname"] for n in r.json()
                 if (n.get("ManagerStatus") or {}).get("Leader")]
        return names[0] if len(names) == 1 else None

    def node(self, d, name):
        return d.api("GET", f"/nodes/{self.ids[name]}").json()

    def running(self, d, service):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return [t for t in r.json()
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    def secret_mounts_of(self, d, task_id):
        return [l for l in host_mounts().splitlines()
                if d.exec_root in l and task_id in l and "tmpfs" in l]

    def promote(self, via, name, cli=harness.DOCKER_20):
        r = via.docker(["node", "promote", name], cli=cli)
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, f"Node {name} promoted to a manager in the swarm.\n"), out(r))
        # Asynchronous (Docker's behaviour): the desired role is there at once.
        self.assertEqual(self.node(via, name)["Spec"]["Role"], "manager")

    def wait_manager(self, name, others, timeout=60):
        d = self.d[name]
        self.wait(lambda: self.is_manager(d), timeout,
                  lambda: f"{name} is not a manager: {self.swarm_info(d)}\n{d.log_tail()}")
        for o in others:
            self.wait(lambda: self.rows(self.d[o]).get(name) in ("Reachable", "Leader"), 20,
                      lambda: f"{o}: {self.rows(self.d[o])}")

    def wait_worker(self, name, timeout=60):
        d = self.d[name]
        self.wait(lambda: self.swarm_info(d).get("ControlAvailable") is False
                  and cert_ou(d) == "swarm-worker", timeout,
                  lambda: f"{name}: {self.swarm_info(d)} {cert_ou(d)}\n{d.log_tail()}")

    # ---- tests -----------------------------------------------------------------------------
    def test_01_promote_a_worker(self):
        m1, w1 = self.d["m1"], self.d["w1"]
        self.assertEqual(cert_ou(w1), "swarm-worker")
        self.promote(m1, "w1")
        self.wait_manager("w1", ["m1"])
        self.assertEqual(cert_ou(w1), "swarm-manager")
        self.assertEqual(sorted(n for _, n in etcd_members(m1)),
                         sorted([self.ids["m1"], self.ids["w1"]]))
        # Writes and reads through either manager.
        w1.create_secret("made-on-w1", b"one")
        self.wait(lambda: m1.api("GET", "/secrets/made-on-w1").status == 200, 5, "not on m1")
        m1.create_secret("made-on-m1", b"two")
        self.wait(lambda: w1.api("GET", "/secrets/made-on-m1").status == 200, 5, "not on w1")
        n = self.node(m1, "w1")
        self.assertEqual(n["ManagerStatus"]["Addr"], addr("w1"))
        self.assertEqual(n["ManagerStatus"]["Reachability"], "reachable")
        want = {"m1": "Leader", "w1": "Reachable", "w2": ""}
        for d in (m1, w1):
            for cli in harness.DOCKER_CLIS:
                self.wait(lambda: self.rows(d, cli) == want, 20, lambda: self.rows(d, cli))
            self.wait(lambda: self.capsule_rows(d) == want, 20, lambda: self.capsule_rows(d))
        self.assertEqual(self.swarm_info(m1)["Managers"], 2)
        r = m1.docker(["node", "promote", "w1"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, f"Node {self.ids['w1']} is already a manager.\n"), out(r))

    def test_02_demote_keeps_the_task_and_its_secret(self):
        m1, w1 = self.d["m1"], self.d["w1"]
        if not self.is_manager(w1):
            self.skipTest("w1 is not a manager (test_01 failed)")
        value = b"ROLE" + os.urandom(12).hex().encode()
        digest = hashlib.sha256(value).hexdigest()
        m1.create_secret("rc-pw", value)
        self.ok(m1.docker(["service", "create", "-d", "--name", "rc", "--secret", "rc-pw",
                           "--constraint", "node.hostname==w1", IMAGE, "sh", "-c", SHOW]), m1)
        self.wait(lambda: len(self.running(m1, "rc")) == 1, 60, lambda: self.running(m1, "rc"))
        [t] = self.running(m1, "rc")
        pid = t["Status"]["ContainerStatus"]["PID"]
        mounts = self.secret_mounts_of(w1, t["ID"])
        self.assertEqual(len(mounts), 1, host_mounts())
        type(self).old_member = [i for i, n in etcd_members(m1) if n == self.ids["w1"]][0]

        r = m1.docker(["node", "demote", "w1"], cli=harness.OTHER_CLI)
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, "Manager w1 demoted in the swarm.\n"), out(r))
        self.assertEqual(self.node(m1, "w1")["Spec"]["Role"], "worker")
        self.wait(lambda: [n for _, n in etcd_members(m1)] == [self.ids["m1"]], 30,
                  lambda: f"{etcd_members(m1)}\n{m1.log_tail()}")
        self.wait_worker("w1")
        self.assertFalse(os.path.exists(os.path.join(w1.data_root, "etcd")))
        self.assertFalse(os.path.exists(os.path.join(w1.data_root, "swarm", "kek")))
        self.assertIsNone(w1.etcd_pid())
        r = w1.docker(["node", "ls"])
        self.assertIn(WORKER_TEXT, out(r))
        self.wait(lambda: self.rows(m1) == {"m1": "Leader", "w1": "", "w2": ""}, 20,
                  lambda: self.rows(m1))
        self.assertNotIn("ManagerStatus", self.node(m1, "w1"))
        self.assertEqual(self.swarm_info(m1)["Managers"], 1)
        # Its session is with m1 now; the task never stopped.
        self.wait(lambda: ha_swarm.session_manager(w1, {addr("m1"): "m1"}) == "m1", 20,
                  lambda: ha_swarm.agent_status(w1))
        self.assertTrue(harness.pid_alive(pid), "the task died in the demotion")
        self.assertEqual([x["ID"] for x in self.running(m1, "rc")], [t["ID"]])
        self.assertEqual(self.running(m1, "rc")[0]["Status"]["ContainerStatus"]["PID"], pid)
        self.assertEqual(self.secret_mounts_of(w1, t["ID"]), mounts)
        self.assertEqual(ha_swarm.agent_status(w1)["Secrets"],
                         [m1.api("GET", "/secrets/rc-pw").json()["ID"]])
        # Writes go on on the one manager left.
        m1.create_secret("after-demotion", b"x")
        r = m1.docker(["node", "demote", "w1"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, f"Node {self.ids['w1']} is already a worker.\n"), out(r))

    def test_03_the_removed_member_id_is_refused_on_the_peer_port(self):
        old = getattr(self, "old_member", None)
        if old is None:
            self.skipTest("no demoted member (test_02 failed)")
        w1 = self.d["w1"]
        # The demoted node's old manager certificate, kept aside by an attacker before its
        # renewal, is simulated by a manager certificate of a node that is a member: m1's own.
        d = os.path.join(self.d["m1"].data_root, "swarm", "certificates")
        certs = (os.path.join(d, "swarm-node.crt"), os.path.join(d, "swarm-node.key"),
                 os.path.join(d, "swarm-root-ca.crt"))
        status, body, cid = raft_stream(IP["m1"], IP["w1"], certs, old)
        self.assertEqual(status, 412, body)  # the cluster ID is asked for first
        self.assertTrue(cid)
        status, body, _ = raft_stream(IP["m1"], IP["w1"], certs, old, cluster_id=cid)
        self.assertEqual((status, body.strip()), (410, "removed member"))
        status, body, _ = raft_stream(IP["m1"], IP["w1"], certs, old + 1, cluster_id=cid)
        self.assertEqual(status, 404, body)  # never a member: not found, not "removed"
        self.assertEqual(cert_ou(w1), "swarm-worker")

    def test_04_demote_the_leader_of_three(self):
        m1, w1, w2 = self.d["m1"], self.d["w1"], self.d["w2"]
        self.promote(m1, "w1", cli=harness.OTHER_CLI)
        r = m1.capsule(["node", "promote", "w2"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, "Node w2 promoted to a manager in the swarm.\n"), out(r))
        self.wait_manager("w1", ["m1"])
        self.wait_manager("w2", ["m1", "w1"])
        self.wait(lambda: self.leader(m1) == "m1", 20, lambda: self.leader(m1))
        r = w2.docker(["node", "demote", "m1"])
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, "Manager m1 demoted in the swarm.\n"), out(r))
        self.wait(lambda: self.leader(w1) in ("w1", "w2"), 20,
                  lambda: f"{self.leader(w1)}\n{m1.log_tail()}")
        self.wait(lambda: sorted(n for _, n in etcd_members(w1) or []) ==
                  sorted([self.ids["w1"], self.ids["w2"]]), 30,
                  lambda: f"{etcd_members(w1)}\n{w1.log_tail()}")
        self.wait_worker("m1")
        for d in (w1, w2):
            self.wait(lambda: self.rows(d).get("m1") == "" and
                      sorted(self.rows(d).values()) == ["", "Leader", "Reachable"], 20,
                      lambda: self.rows(d))
        # The service's task still runs (it never was on m1).
        self.assertEqual(len(self.running(w2, "rc")), 1)
        w1.create_secret("after-leader-demotion", b"x")
        self.wait(lambda: w2.api("GET", "/secrets/after-leader-demotion").status == 200, 5,
                  "not on w2")


if __name__ == "__main__":
    unittest.main()
