"""Root CA rotation, issue 13 part 3 (docs/ca-rotation.md). Real capsuled processes, real runc
tasks, the docker CLIs (20.10, and 28.x when present) and the capsule CLI.

m1 runs `swarm init`; w1 and w2 join as workers; a service with a secret runs one task on each
worker. Every daemon checks its certificate every second (hidden --cert-check-period 1).
  - `docker swarm ca --rotate` (20.10): the CLI's progress converges and it prints the new root;
    no node ever shows Down while it runs, both tasks keep their PID, every node's certificate
    (read from its data root) chains to the new root and every node trusts only it;
  - a certificate of the old root, kept from before, is refused on the swarm port; the same dial
    with the node's current certificate is accepted (positive control);
  - the worker join token from before the rotation is refused, the new one admits a node;
  - again with the other docker CLI (28.x; skipped with the reason when absent) and with
    `capsule swarm ca --rotate`;
  - POST /swarm/update with a SigningCACert and another root's key: 400 "certificate key
    mismatch"; with the matching key: the swarm rotates to that root.

Run: PYTHONPATH=.. python3 -m unittest -v test_ca_rotation   (from tests/integration)
Addresses: 127.0.66.1 (m1), .2 (w1), .3 (w2), .4 (j1, joins after a rotation).
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

import harness
from harness import busybox_image

IP = {"m1": "127.0.66.1", "w1": "127.0.66.2", "w2": "127.0.66.3", "j1": "127.0.66.4"}
IMAGE = "capsule/busybox:1"
FLAGS = ["--cert-check-period", "1"]
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def certs_dir(d):
    return os.path.join(d.data_root, "swarm", "certificates")


def read(path):
    with open(path) as f:
        return f.read()


def chains_to(cert_path, root_pem):
    """openssl verify of the node certificate (the first in the file) against root_pem only."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as root:
        root.write(root_pem)
        root.flush()
        r = subprocess.run(["openssl", "verify", "-CAfile", root.name, cert_path],
                           capture_output=True, timeout=20)
    return r.returncode == 0


def swarm_dial(ip, cert, key, source_ip):
    """A mutual-TLS dial of the swarm port as a node: the handshake, then HTTP/2's preface; the
    server answers with its SETTINGS frame only when it accepted the client certificate.
    → True when bytes came back, False when the connection was refused."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the server's side is what is tested here
    ctx.set_alpn_protocols(["h2"])
    ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((ip, harness.SWARM_PORT), timeout=10,
                                   source_address=(source_ip, 0))
    try:
        with ctx.wrap_socket(raw, server_hostname="swarm-manager") as tls:
            tls.settimeout(5)
            tls.sendall(H2_PREFACE)
            return len(tls.recv(64)) > 0
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
        return False


class CaRotation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = {}
        for name in ("m1", "w1", "w2"):
            cls.d[name] = harness.Daemon(IP[name], name=name,
                                         extra_args=["--hostname", name] + FLAGS)
            cls.addClassCleanup(cls.d[name].close)
        m1 = cls.d["m1"]
        r = m1.docker(["swarm", "init", "--advertise-addr", IP["m1"], "--listen-addr", addr("m1"),
                       "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(f"init: {out(r)}")
        token = m1.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        for name in ("w1", "w2"):
            r = cls.d[name].docker(["swarm", "join", "--token", token, "--advertise-addr",
                                    IP[name], "--listen-addr", addr(name), addr("m1")])
            if r.returncode != 0:
                raise AssertionError(f"join {name}: {out(r)}\n{cls.d[name].log_tail()}")
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cpcar-")
        for d in cls.d.values():
            r = d.docker(["import", rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"import: {out(r)}")
        m1.create_secret("car-pw", b"CAROT" + os.urandom(8).hex().encode())
        for w in ("w1", "w2"):
            r = m1.docker(["service", "create", "-d", "--name", f"car-{w}", "--secret", "car-pw",
                           "--constraint", f"node.hostname=={w}", IMAGE, "sh", "-c",
                           'trap "exit 0" TERM; sleep 1d & wait'])
            if r.returncode != 0:
                raise AssertionError(f"service create: {out(r)}")
        ok = harness.wait_until(lambda: len(cls.running_tasks(m1)) == 2, 90, 0.1)
        if not ok:
            raise AssertionError(f"tasks: {cls.running_tasks(m1)}\n{m1.log_tail()}")
        cls.tasks = {t["ID"]: (t["NodeID"], t["Status"]["ContainerStatus"]["PID"])
                     for t in cls.running_tasks(m1)}
        cls.keep = tempfile.mkdtemp(prefix="cpcar-old-")
        cls.addClassCleanup(shutil.rmtree, cls.keep, True)
        cls.rotations = 0

    @staticmethod
    def running_tasks(d):
        """The running tasks of car-w1 and car-w2 (one on each worker)."""
        tasks = []
        for service in ("car-w1", "car-w2"):
            r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
            if r.status != 200:
                return []
            tasks += [t for t in r.json()
                      if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]
        return tasks

    # ---- helpers ---------------------------------------------------------------------------
    def swarm(self):
        return self.d["m1"].api("GET", "/swarm").json()

    def keep_certs(self, name, tag):
        """Copies name's certificate files to keep/<tag>-<file>."""
        src = certs_dir(self.d[name])
        for f in ("swarm-node.crt", "swarm-node.key", "swarm-root-ca.crt"):
            shutil.copy(os.path.join(src, f), os.path.join(self.keep, f"{tag}-{f}"))
        return (os.path.join(self.keep, f"{tag}-swarm-node.crt"),
                os.path.join(self.keep, f"{tag}-swarm-node.key"))

    def rotate(self, run):
        """Runs `run()` (a CLI rotation) while watching that no node goes Down. → run's result."""
        m1 = self.d["m1"]
        downs, stop = [], threading.Event()

        def watch():
            while not stop.is_set():
                r = m1.api("GET", "/nodes")
                if r.status == 200:
                    downs.extend(n["Description"]["Hostname"] for n in r.json()
                                 if n["Status"]["State"] != "ready")
                stop.wait(0.2)

        t = threading.Thread(target=watch)
        t.start()
        try:
            result = run()
        finally:
            stop.set()
            t.join()
        self.assertEqual(downs, [], "a node left Ready during the rotation")
        return result

    def check_converged(self, old_root):
        """Every node on the new root: the cluster's, its certificate chains to it (not to the
        old one alone), it trusts only it; the tasks are the same processes."""
        m1 = self.d["m1"]
        s = self.swarm()
        self.assertFalse(s["RootRotationInProgress"])
        new_root = s["TLSInfo"]["TrustRoot"]
        self.assertNotEqual(new_root, old_root)
        for name, d in self.d.items():
            crt = os.path.join(certs_dir(d), "swarm-node.crt")
            self.assertTrue(chains_to(crt, new_root), f"{name}'s certificate")
            self.assertFalse(chains_to(crt, old_root), f"{name}'s certificate is still old")
            self.wait(lambda: read(os.path.join(certs_dir(d), "swarm-root-ca.crt")) == new_root,
                      10, f"{name} does not trust the new root")
        # Each node reports the root it trusts at its next sync (every second here).
        self.wait(lambda: all(n["Description"]["TLSInfo"]["TrustRoot"] == new_root
                              for n in m1.api("GET", "/nodes").json()), 10,
                  lambda: [n["Description"]["TLSInfo"] for n in m1.api("GET", "/nodes").json()])
        for n in m1.api("GET", "/nodes").json():
            tls = n["Description"]["TLSInfo"]
            self.assertEqual(tls["CertIssuerPublicKey"], s["TLSInfo"]["CertIssuerPublicKey"])
        now = {t["ID"]: (t["NodeID"], t["Status"]["ContainerStatus"]["PID"])
               for t in self.running_tasks(m1)}
        self.assertEqual(now, self.tasks, "a task was restarted")
        for _, pid in self.tasks.values():
            self.assertTrue(harness.pid_alive(pid))
        return new_root

    def wait(self, fn, timeout, msg):
        self.assertTrue(harness.wait_until(fn, timeout, 0.1), msg() if callable(msg) else msg)

    def docker_rotation(self, cli):
        m1 = self.d["m1"]
        old_root = self.swarm()["TLSInfo"]["TrustRoot"]
        r = self.rotate(lambda: m1.docker(["swarm", "ca", "--rotate"], cli=cli, timeout=180))
        self.assertEqual(r.returncode, 0, out(r) + "\n" + m1.log_tail())
        new_root = self.check_converged(old_root)
        # The CLI's last output is the new root, as `docker swarm ca` prints it.
        self.assertTrue(r.stdout.decode().rstrip().endswith(new_root.strip()), out(r))
        r = m1.docker(["swarm", "ca"], cli=cli)
        self.assertEqual(r.stdout.decode().strip(), new_root.strip(), out(r))
        return old_root, new_root

    # ---- tests -----------------------------------------------------------------------------
    def test_01_docker_20_rotation(self):
        m1 = self.d["m1"]
        old_token = m1.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        old_cert, old_key = self.keep_certs("w1", "before")
        self.assertTrue(swarm_dial(IP["m1"], old_cert, old_key, IP["w1"]),
                        "the dial itself does not work before the rotation")
        self.docker_rotation(harness.DOCKER_20)
        # The old root's certificate is refused now; the current one is accepted.
        cur = certs_dir(self.d["w1"])
        self.wait(lambda: not swarm_dial(IP["m1"], old_cert, old_key, IP["w1"]), 10,
                  "a certificate of the old root still gets through the swarm port")
        self.assertTrue(swarm_dial(IP["m1"], os.path.join(cur, "swarm-node.crt"),
                                   os.path.join(cur, "swarm-node.key"), IP["w1"]))
        # Join tokens: the old one names the old root and is refused; the new one works.
        new_token = m1.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        self.assertNotEqual(new_token, old_token)
        j1 = harness.Daemon(IP["j1"], name="j1", extra_args=["--hostname", "j1"] + FLAGS)
        self.addClassCleanup(j1.close)
        r = j1.docker(["swarm", "join", "--token", old_token, "--advertise-addr", IP["j1"],
                       "--listen-addr", addr("j1"), addr("m1")])
        self.assertNotEqual(r.returncode, 0, out(r))
        r = j1.docker(["swarm", "join", "--token", new_token, "--advertise-addr", IP["j1"],
                       "--listen-addr", addr("j1"), addr("m1")])
        self.assertEqual(r.returncode, 0, out(r) + "\n" + j1.log_tail())
        self.d["j1"] = j1
        # Ready once its session is up (the next rotation watches it too).
        self.wait(lambda: {n["Description"]["Hostname"]: n["Status"]["State"]
                           for n in m1.api("GET", "/nodes").json()}.get("j1") == "ready", 30,
                  lambda: j1.log_tail())
        type(self).rotations += 1

    def test_02_docker_28_rotation(self):
        if harness.DOCKER_2 is None:
            self.skipTest(harness.NO_SECOND_CLI)
        self.docker_rotation(harness.DOCKER_2)
        type(self).rotations += 1

    def test_03_capsule_cli_rotation(self):
        m1 = self.d["m1"]
        old_root = self.swarm()["TLSInfo"]["TrustRoot"]
        r = self.rotate(lambda: m1.capsule(["swarm", "ca", "--rotate"], timeout=180))
        self.assertEqual(r.returncode, 0, out(r) + "\n" + m1.log_tail())
        self.assertIn("rotated TLS certificates:", r.stdout.decode())
        new_root = self.check_converged(old_root)
        self.assertTrue(r.stdout.decode().rstrip().endswith(new_root.strip()), out(r))

    def test_04_supplied_cert_and_key(self):
        m1 = self.d["m1"]
        work = tempfile.mkdtemp(prefix="cpcar-ext-")
        self.addCleanup(shutil.rmtree, work, True)

        cfg = os.path.join(work, "ca.cnf")
        with open(cfg, "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n"
                    "[dn]\nCN=swarm-ca\n"
                    "[v3]\nbasicConstraints=critical,CA:TRUE\n"
                    "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n")

        def make_root(tag):
            key, crt = os.path.join(work, f"{tag}.key"), os.path.join(work, f"{tag}.crt")
            subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout",
                            "-out", key], check=True, capture_output=True)
            subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-config", cfg,
                            "-days", "3650", "-out", crt], check=True, capture_output=True)
            return read(crt), read(key)

        cert_a, _ = make_root("a")
        _, key_b = make_root("b")
        s = self.swarm()
        spec = s["Spec"]
        spec["CAConfig"]["SigningCACert"] = cert_a
        spec["CAConfig"]["SigningCAKey"] = key_b
        r = m1.api("POST", "/swarm/update", body=spec,
                   query={"version": str(s["Version"]["Index"])})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("certificate key mismatch", r.json()["message"])
        self.assertFalse(self.swarm()["RootRotationInProgress"])

        cert_c, key_c = make_root("c")
        old_root = self.swarm()["TLSInfo"]["TrustRoot"]
        s = self.swarm()
        spec = s["Spec"]
        spec["CAConfig"]["SigningCACert"] = cert_c
        spec["CAConfig"]["SigningCAKey"] = key_c
        r = m1.api("POST", "/swarm/update", body=spec,
                   query={"version": str(s["Version"]["Index"])})
        self.assertEqual(r.status, 200, r.body)
        self.wait(lambda: not self.swarm()["RootRotationInProgress"], 90,
                  lambda: f"{self.swarm()}\n{m1.log_tail()}")
        new_root = self.check_converged(old_root)
        self.assertEqual(new_root.strip(), cert_c.strip())


if __name__ == "__main__":
    unittest.main()
