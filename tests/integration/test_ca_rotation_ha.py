"""Root CA rotation with several managers, and the etcd peer port after it (issue 13 part 3;
docs/ca-rotation.md). Real capsuled processes and etcd members, a runc task, the docker CLIs.

m1 runs `swarm init`, m2 and m3 join as managers, w1 as a worker; a service with a secret runs
one task on w1. Every daemon checks its certificate every second (hidden --cert-check-period 1).
  - control, before the rotation: m2's manager certificate (of the root at that time) opens
    every manager's etcd peer port (GET /members answers 200 with the 3 members);
  - `docker swarm ca --rotate` (20.10) through a manager that does not lead: it converges and
    prints the new root; no node leaves Ready meanwhile, the task keeps its container (same
    task, same PID); every node's certificate chains to the new root and every node trusts
    only it;
  - every manager's etcd member is restarted (one at a time) trusting only the new root: its
    trust file is the new root, and the attack — m2's certificate of the OLD root, kept from
    before, presented to each manager's peer port from m2's address — is refused, while m2's
    current certificate (new root) is admitted (control);
  - the store stays one healthy 3-voter cluster (every peer port lists the 3 members, none a
    learner; every manager reachable) and a write through every manager works;
  - again with the other docker CLI (28.x; skipped with the reason when absent);
  - the client side of every member is a unix socket in a 0700 directory, without TLS (no
    --trusted-ca-file): no root to rotate there;
  - a promotion during a rotation: a worker w2 joins and is stopped (a Down node holds the
    rotation open), `docker swarm ca --rotate -d`, then `docker node promote w1` while the
    rotation is in progress: w1 becomes a manager (4 voters); once w2 is removed the rotation
    finishes and w1 ends a manager on the new root, its member trusting only the new root.

Run: PYTHONPATH=.. python3 -m unittest -v test_ca_rotation_ha   (from tests/integration)
Addresses: 127.0.72.1 (m1), .2 (m2), .3 (m3), .4 (w1), .5 (w2, joins for test_05).
"""

import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import busybox_image, ha_swarm
from test_ca_rotation import certs_dir, chains_to, out

IP = {"m1": "127.0.72.1", "m2": "127.0.72.2", "m3": "127.0.72.3", "w1": "127.0.72.4",
      "w2": "127.0.72.5"}
MANAGERS = ("m1", "m2", "m3")
IMAGE = "capsule/busybox:1"
FLAGS = ["--cert-check-period", "1"]


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def member_trust_file(d):
    return os.path.join(d.data_root, "etcd", "peer-trusted-ca.crt")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def peer_get(target_ip, source_ip, cert, key):
    """GET /members on target_ip's peer port from source_ip with cert/key; the member's own
    certificate is not checked (its check of OURS is under test)."""
    return harness.etcd_peer_get(target_ip, source_ip, cert, key)


def member_names(result):
    """The member names in a 200 /members answer (None otherwise)."""
    if result[0] != "ok" or " 200 " not in result[1]:
        return None
    body = result[2]
    if b"\r\n" in body and not body.lstrip().startswith(b"["):  # chunked
        body = b"".join(body.split(b"\r\n")[1::2])
    try:
        return sorted(m.get("name", "") for m in json.loads(body))
    except ValueError:
        return None


class CaRotationHa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = {}
        for name in MANAGERS + ("w1",):
            cls.d[name] = harness.Daemon(IP[name], name=name,
                                         extra_args=["--hostname", name] + FLAGS)
            cls.addClassCleanup(cls.d[name].close)
        m1 = cls.d["m1"]
        r = m1.docker(["swarm", "init", "--advertise-addr", IP["m1"], "--listen-addr", addr("m1"),
                       "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"init: {out(r)}")
        for role, names in (("manager", ("m2", "m3")), ("worker", ("w1",))):
            token = m1.docker(["swarm", "join-token", "-q", role]).stdout.decode().strip()
            for name in names:
                r = cls.d[name].docker(["swarm", "join", "--token", token, "--advertise-addr",
                                        IP[name], "--listen-addr", addr(name), addr("m1")])
                if r.returncode != 0:
                    raise AssertionError(f"join {name}: {out(r)}\n{cls.d[name].log_tail()}")
        cls.ids = {n: d.api("GET", "/info").json()["Swarm"]["NodeID"] for n, d in cls.d.items()}
        cls.names = {v: k for k, v in cls.ids.items()}
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpcah-")
        for d in cls.d.values():
            r = d.docker(["import", rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"import: {out(r)}")
        m1.create_secret("cah-pw", b"CAHA" + os.urandom(8).hex().encode())
        r = m1.docker(["service", "create", "-d", "--name", "cah-w1", "--secret", "cah-pw",
                       "--constraint", "node.hostname==w1", IMAGE, "sh", "-c",
                       'trap "exit 0" TERM; sleep 1d & wait'])
        if r.returncode != 0:
            raise AssertionError(f"service create: {out(r)}")
        ok = harness.wait_until(lambda: len(cls.running_tasks(m1)) == 1, 90, 0.1)
        if not ok:
            raise AssertionError(f"tasks: {cls.running_tasks(m1)}\n{m1.log_tail()}")
        cls.tasks = cls.task_pids(m1)
        cls.keep = tempfile.mkdtemp(prefix="cpcah-old-")
        cls.addClassCleanup(shutil.rmtree, cls.keep, True)
        # m2's manager certificate of the first root, for the attack after the rotation.
        cls.old_cert, cls.old_key = cls.keep_certs("m2", "first")
        cls.roots = []  # (old, new) per rotation

    @classmethod
    def keep_certs(cls, name, tag):
        src = certs_dir(cls.d[name])
        for f in ("swarm-node.crt", "swarm-node.key"):
            shutil.copy(os.path.join(src, f), os.path.join(cls.keep, f"{tag}-{f}"))
        return (os.path.join(cls.keep, f"{tag}-swarm-node.crt"),
                os.path.join(cls.keep, f"{tag}-swarm-node.key"))

    @staticmethod
    def running_tasks(d):
        r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": ["cah-w1"]})})
        if r.status != 200:
            return []
        return [t for t in r.json()
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    @classmethod
    def task_pids(cls, d):
        return {t["ID"]: (t["NodeID"], t["Status"]["ContainerStatus"]["PID"])
                for t in cls.running_tasks(d)}

    # ---- helpers ---------------------------------------------------------------------------
    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.2), msg() if callable(msg) else msg)

    def swarm(self, d=None):
        return (d or self.d["m1"]).api("GET", "/swarm").json()

    def leader(self):
        """The name of the manager m1 shows as Leader (None when not exactly one)."""
        return ha_swarm.leader_seen_by(self.d["m1"], self.names)

    def follower(self):
        self.wait(lambda: self.leader() is not None, 30, "no leader")
        return next(n for n in MANAGERS if n != self.leader())

    def current_certs(self, name):
        c = certs_dir(self.d[name])
        return os.path.join(c, "swarm-node.crt"), os.path.join(c, "swarm-node.key")

    def members_seen(self, target, cert, key, source="m2"):
        return member_names(peer_get(IP[target], IP[source], cert, key))

    def rotate_through_follower(self, cli):
        via = self.d[self.follower()]
        old_root = self.swarm()["TLSInfo"]["TrustRoot"]
        etcd_pids = {n: self.d[n].etcd_pid() for n in MANAGERS}
        downs, stop = [], threading.Event()

        def watch():
            while not stop.is_set():
                for d in (self.d[n] for n in MANAGERS):
                    try:
                        r = d.api("GET", "/nodes")
                    except Exception:  # noqa: BLE001 — a member restarting: ask another
                        continue
                    if r.status == 200:
                        downs.extend(n["Description"]["Hostname"] for n in r.json()
                                     if n["Status"]["State"] != "ready")
                        break
                stop.wait(0.2)

        t = threading.Thread(target=watch)
        t.start()
        try:
            r = via.docker(["swarm", "ca", "--rotate"], cli=cli, timeout=240)
        finally:
            stop.set()
            t.join()
        self.assertEqual(r.returncode, 0, out(r) + "\n" + via.log_tail())
        self.assertEqual(downs, [], "a node left Ready during the rotation")
        s = self.swarm(via)
        self.assertFalse(s["RootRotationInProgress"])
        new_root = s["TLSInfo"]["TrustRoot"]
        self.assertNotEqual(new_root, old_root)
        self.assertTrue(r.stdout.decode().rstrip().endswith(new_root.strip()), out(r))
        self.roots.append((old_root, new_root))
        return old_root, new_root, etcd_pids

    def check_nodes_on(self, old_root, new_root):
        for name, d in self.d.items():
            crt = os.path.join(certs_dir(d), "swarm-node.crt")
            self.assertTrue(chains_to(crt, new_root), f"{name}'s certificate")
            self.assertFalse(chains_to(crt, old_root), f"{name}'s certificate is still old")
            self.wait(lambda: read(os.path.join(certs_dir(d), "swarm-root-ca.crt")) == new_root,
                      10, f"{name} does not trust the new root")
        self.assertEqual(self.task_pids(self.d["m1"]), self.tasks, "the task was restarted")
        for _, pid in self.tasks.values():
            self.assertTrue(harness.pid_alive(pid))
        states = {n["Description"]["Hostname"]: n["Status"]["State"]
                  for n in self.d["m1"].api("GET", "/nodes").json()}
        self.assertEqual(states, {n: "ready" for n in self.d}, states)

    def check_members_trust_only(self, old_root, new_root, etcd_pids, old_cert, old_key):
        """Each member restarted trusting new_root only: old_cert (a manager certificate of
        old_root) is refused at every peer port, the current one admitted."""
        for n in MANAGERS:
            self.wait(lambda: read(member_trust_file(self.d[n])) == new_root, 90,
                      lambda: f"{n}'s member trust file is not the new root\n"
                              f"{self.d[n].log_tail()}")
        for n in MANAGERS:
            self.wait(lambda: self.d[n].etcd_pid() not in (None, etcd_pids[n]), 30,
                      f"{n}'s etcd member was not restarted")
        cur_cert, cur_key = self.current_certs("m2")
        for n in MANAGERS:
            # Positive control first (it also shows the restarted member serves): m2's
            # certificate of the new root is admitted.
            self.wait(lambda: self.members_seen(n, cur_cert, cur_key) is not None, 60,
                      lambda: f"{n}: {peer_get(IP[n], IP['m2'], cur_cert, cur_key)}")
            # The attack: the same request with m2's manager certificate of the old root.
            result = peer_get(IP[n], IP["m2"], old_cert, old_key)
            self.assertEqual(result[0], "refused",
                             f"{n}'s peer port admits a certificate of the old root: {result}")
            self.assertNotIn("connect:", result[1])  # refused by TLS, not a closed port

    def check_store_healthy(self, tag):
        cur_cert, cur_key = self.current_certs("m2")
        ids = sorted(self.ids[n] for n in MANAGERS)
        for n in MANAGERS:
            self.wait(lambda: self.members_seen(n, cur_cert, cur_key) == ids, 30,
                      lambda: f"{n} lists {self.members_seen(n, cur_cert, cur_key)}")
            result = peer_get(IP[n], IP["m2"], cur_cert, cur_key)
            self.assertNotIn(b'"isLearner":true', result[2].replace(b" ", b""))

        def all_reachable():
            r = self.d["m1"].api("GET", "/nodes")
            if r.status != 200:
                return False
            ms = [n["ManagerStatus"] for n in r.json() if n.get("ManagerStatus")]
            return len(ms) == 3 and all(m["Reachability"] == "reachable" for m in ms)

        self.wait(all_reachable, 30, lambda: self.d["m1"].api("GET", "/nodes").body)
        # A write through every manager, read back through every other one.
        for n in MANAGERS:
            name = f"cah-{tag}-{n}"
            deadline = time.monotonic() + 30
            while True:
                r = self.d[n].docker(["secret", "create", name, "-"], input=b"v-" + name.encode())
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d[n].log_tail())
            for other in MANAGERS:
                r = self.d[other].docker(["secret", "inspect", name])
                self.assertEqual(r.returncode, 0, out(r))

    # ---- tests -----------------------------------------------------------------------------
    def test_01_control_old_root_manager_certificate_admitted_before(self):
        ids = sorted(self.ids[n] for n in MANAGERS)
        for n in MANAGERS:
            self.wait(lambda: self.members_seen(n, self.old_cert, self.old_key) == ids, 30,
                      lambda: f"{n}: {peer_get(IP[n], IP['m2'], self.old_cert, self.old_key)}")
            self.assertEqual(read(member_trust_file(self.d[n])),
                             read(os.path.join(certs_dir(self.d[n]), "swarm-root-ca.crt")))

    def test_02_docker_20_rotation_through_a_follower(self):
        old_root, new_root, etcd_pids = self.rotate_through_follower(harness.DOCKER_20)
        self.check_nodes_on(old_root, new_root)
        self.check_members_trust_only(old_root, new_root, etcd_pids, self.old_cert,
                                      self.old_key)
        self.check_store_healthy("r1")
        self.assertEqual(self.task_pids(self.d["m1"]), self.tasks, "the task was restarted")

    def test_03_docker_28_rotation_through_a_follower(self):
        if harness.DOCKER_2 is None:
            self.skipTest(harness.NO_SECOND_CLI)
        if not self.roots:
            self.skipTest("the first rotation did not run")
        old_cert, old_key = self.keep_certs("m3", "second")
        ids = sorted(self.ids[n] for n in MANAGERS)
        for n in MANAGERS:  # control: admitted before this rotation
            self.assertEqual(self.members_seen(n, old_cert, old_key), ids)
        old_root, new_root, etcd_pids = self.rotate_through_follower(harness.DOCKER_2)
        self.check_nodes_on(old_root, new_root)
        self.check_members_trust_only(old_root, new_root, etcd_pids, old_cert, old_key)
        self.check_store_healthy("r2")

    def test_04_client_side_is_a_private_unix_socket_without_tls(self):
        for n in MANAGERS:
            d = self.d[n]
            pid = d.etcd_pid()
            self.assertIsNotNone(pid)
            args = [a.decode() for a in harness.proc_cmdline(pid)]
            url = args[args.index("--listen-client-urls") + 1]
            self.assertTrue(url.startswith("unix://"), url)
            self.assertNotIn("--trusted-ca-file", args)
            self.assertNotIn("--client-cert-auth", args)
            trust = args[args.index("--peer-trusted-ca-file") + 1]
            self.assertTrue(trust.endswith("/etcd/peer-trusted-ca.crt"), trust)
            mode = stat.S_IMODE(os.stat(os.path.join(d.data_root, "etcd")).st_mode)
            self.assertEqual(mode, 0o700)

    def test_05_promotion_during_a_rotation(self):
        m1, w1 = self.d["m1"], self.d["w1"]
        w2 = harness.Daemon(IP["w2"], name="w2", extra_args=["--hostname", "w2"] + FLAGS)
        self.addCleanup(w2.close)
        token = m1.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        r = w2.docker(["swarm", "join", "--token", token, "--advertise-addr", IP["w2"],
                       "--listen-addr", addr("w2"), addr("m1")])
        self.assertEqual(r.returncode, 0, out(r) + "\n" + w2.log_tail())
        w2_id = w2.api("GET", "/info").json()["Swarm"]["NodeID"]

        def state_of(node_id):
            r = m1.api("GET", f"/nodes/{node_id}")
            return r.json()["Status"]["State"] if r.status == 200 else None

        self.wait(lambda: state_of(w2_id) == "ready", 30, "w2 not ready")
        w2.stop()
        self.wait(lambda: state_of(w2_id) == "down", 60, "w2 not down")
        old_cert, old_key = self.keep_certs("m2", "third")
        old_root = self.swarm()["TLSInfo"]["TrustRoot"]
        etcd_pids = {n: self.d[n].etcd_pid() for n in MANAGERS}
        r = m1.docker(["swarm", "ca", "--rotate", "-d"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertTrue(self.swarm()["RootRotationInProgress"])
        r = m1.docker(["node", "promote", "w1"])
        self.assertEqual(r.returncode, 0, out(r))
        def control_available():
            try:
                info = w1.api("GET", "/info").json()
            except Exception:  # noqa: BLE001 — restarting into a manager
                return False
            return (info.get("Swarm") or {}).get("ControlAvailable") is True

        self.wait(control_available, 90, lambda: w1.log_tail())
        cur_cert, cur_key = self.current_certs("m2")
        voters = sorted(self.ids[n] for n in MANAGERS + ("w1",))
        self.wait(lambda: self.members_seen("m1", cur_cert, cur_key) == voters, 60,
                  lambda: self.members_seen("m1", cur_cert, cur_key))
        # The rotation is still held open by w2 (Down): the promotion happened during it.
        self.assertTrue(self.swarm()["RootRotationInProgress"])
        w1_pid = w1.etcd_pid()
        r = m1.docker(["node", "rm", "w2"])
        self.assertEqual(r.returncode, 0, out(r))
        self.wait(lambda: not self.swarm()["RootRotationInProgress"], 90,
                  lambda: f"{self.swarm()}\n{m1.log_tail()}")
        new_root = self.swarm()["TLSInfo"]["TrustRoot"]
        self.assertNotEqual(new_root, old_root)
        crt = os.path.join(certs_dir(w1), "swarm-node.crt")
        self.assertTrue(chains_to(crt, new_root))
        t = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", crt],
                           capture_output=True, text=True)
        self.assertIn("swarm-manager", t.stdout)
        self.wait(lambda: read(os.path.join(certs_dir(w1), "swarm-root-ca.crt")) == new_root, 30,
                  "w1 does not trust the new root")
        etcd_pids["w1"] = w1_pid
        managers = MANAGERS + ("w1",)
        for n in managers:
            self.wait(lambda: read(member_trust_file(self.d[n])) == new_root, 90,
                      lambda: f"{n}'s member trust file\n{self.d[n].log_tail()}")
            self.wait(lambda: self.d[n].etcd_pid() not in (None, etcd_pids[n]), 30,
                      f"{n}'s etcd member was not restarted")
        cur_cert, cur_key = self.current_certs("m2")
        for n in managers:
            self.wait(lambda: self.members_seen(n, cur_cert, cur_key) == voters, 60,
                      lambda: f"{n}: {peer_get(IP[n], IP['m2'], cur_cert, cur_key)}")
            result = peer_get(IP[n], IP["m2"], old_cert, old_key)
            self.assertEqual(result[0], "refused", f"{n} admits an old-root certificate")
        deadline = time.monotonic() + 30
        while True:
            r = w1.docker(["secret", "create", "cah-promoted", "-"], input=b"on w1")
            if r.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(r.returncode, 0, out(r) + "\n" + w1.log_tail())


if __name__ == "__main__":
    unittest.main()
