"""Services pull their image on the node that runs the task (issue 15 part 3), with the
registry credentials of `docker service create --with-registry-auth` treated as a secret.

Addresses: 127.0.48.x — the registry on .1:5000 (Debian's docker-registry, TLS from a test
CA placed the certs.d way through capsuled's hidden --registry-certs-dir, htpasswd auth), the
manager on .2, workers w1 on .3 and w2 on .4. No node has the images beforehand: every task
pulls. Two registry users: `bob` for the global services (every node pulls), `carol` — whose
password is the canary — for the services kept off w2 by a constraint. The canary must be
nowhere in plaintext (files of every node's temp dir, which hold the data roots with etcd's
data dir and the capsuled logs; the docker CLI's own config excepted: that is where `docker
login` keeps it, as with Docker), and nowhere at all on w2; never in `service inspect`. Each
scan has a positive control that shows it finds the canary where it is expected.
"""

import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import busybox_image, leakscan
from test_pull import docker_archive, htpasswd_line, make_ca, out, run, write_registry_config

REGISTRY_IP = "127.0.48.1"
MGR_IP, W1_IP, W2_IP = "127.0.48.2", "127.0.48.3", "127.0.48.4"
PORT = 5000
REGISTRY = f"{REGISTRY_IP}:{PORT}"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
BOB, BOB_PW = "bob", "bob-pw-" + os.urandom(8).hex()
# bcrypt uses at most 72 bytes of a password: the canary stays below that.
CAROL = "carol"
CANARY = "regcanary-" + base64.urlsafe_b64encode(os.urandom(39)).decode()


class ServicePull(unittest.TestCase):
    checks = {}

    @classmethod
    def setUpClass(cls):
        for binary in (REGISTRY_BIN, SKOPEO):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest(f"{binary} missing (scripts/install-deps.sh test)")
        harness.require_docker_cli(harness.DOCKER_20)
        cls.tmp = tempfile.mkdtemp(prefix="csvp-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        make_ca(cls.tmp, [REGISTRY_IP])
        cls.certs = os.path.join(cls.tmp, "certs.d")
        os.makedirs(os.path.join(cls.certs, REGISTRY))
        shutil.copy(f"{cls.tmp}/ca.crt", os.path.join(cls.certs, REGISTRY, "ca.crt"))
        cls.push_certs = os.path.join(cls.tmp, "push-certs")
        os.makedirs(cls.push_certs)
        shutil.copy(f"{cls.tmp}/ca.crt", cls.push_certs)
        with open(f"{cls.tmp}/htpasswd", "w") as f:
            f.write(htpasswd_line(BOB, BOB_PW) + htpasswd_line(CAROL, CANARY))
        write_registry_config(cls.tmp, REGISTRY, f"{cls.tmp}/storage")
        cls.registry = None
        cls.addClassCleanup(cls.stop_registry)
        cls.start_registry()
        rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        with open(rootfs, "rb") as f:
            cls.layer = f.read()
        cls.needles = leakscan.needles(CANARY.encode())

        cls.m = cls.node(MGR_IP, "mgr")
        cls.ok(cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                             MANAGER_ADDR]))
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w1 = cls.node(W1_IP, "w1")
        cls.w2 = cls.node(W2_IP, "w2")
        for w, ip in ((cls.w1, W1_IP), (cls.w2, W2_IP)):
            cls.ok(w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                             "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR]))
        cls.nodes = {"mgr": cls.m, "w1": cls.w1, "w2": cls.w2}
        if not harness.wait_until(lambda: len(cls.ready_nodes()) == 3, 30, 0.2):
            raise AssertionError(f"nodes not ready: {cls.m.api('GET', '/nodes').json()}")

    # ---- machinery ---------------------------------------------------------------------------
    @classmethod
    def start_registry(cls):
        env = {"PATH": "/usr/bin:/bin", "HOME": cls.tmp}
        cls.registry_log = open(f"{cls.tmp}/registry.log", "ab")
        cls.registry = subprocess.Popen([REGISTRY_BIN, "serve", f"{cls.tmp}/config.yml"],
                                        stdout=cls.registry_log, stderr=cls.registry_log,
                                        env=env, preexec_fn=harness.die_with_parent)
        ctx = ssl.create_default_context(cafile=f"{cls.tmp}/ca.crt")

        def up():
            try:
                urllib.request.urlopen(f"https://{REGISTRY}/v2/", context=ctx, timeout=2)
            except urllib.error.HTTPError as e:
                return e.code == 401
            except OSError:
                return False
            return True
        if not harness.wait_until(up, 20):
            raise AssertionError("registry did not start: " +
                                 open(f"{cls.tmp}/registry.log").read()[-2000:])

    @classmethod
    def stop_registry(cls):
        if cls.registry is None:
            return
        cls.registry.send_signal(signal.SIGTERM)
        try:
            cls.registry.wait(10)
        except subprocess.TimeoutExpired:
            cls.registry.kill()
            cls.registry.wait(5)
        cls.registry = None
        cls.registry_log.close()

    @classmethod
    def node(cls, ip, name):
        d = harness.Daemon(ip, name=name, extra_args=["--hostname", name,
                                                       "--registry-certs-dir", cls.certs])
        cls.addClassCleanup(d.close)
        return d

    @classmethod
    def ok(cls, r):
        if r.returncode != 0:
            raise AssertionError(out(r))
        return r.stdout.decode()

    @classmethod
    def push(cls, name, user=CAROL, password=CANARY):
        archive = docker_archive(os.path.join(cls.tmp, f"push-{time.monotonic_ns()}.tar"),
                                 [cls.layer], marker=name)
        run([SKOPEO, "copy", "--quiet", "--dest-cert-dir", cls.push_certs, "--dest-creds",
             f"{user}:{password}", f"docker-archive:{archive}", f"docker://{REGISTRY}/{name}"],
            env={"PATH": "/usr/bin:/bin", "HOME": cls.tmp})
        os.unlink(archive)
        return f"{REGISTRY}/{name}"

    @classmethod
    def ready_nodes(cls):
        r = cls.m.api("GET", "/nodes")
        if r.status != 200:
            return {}
        return {n["ID"]: n["Description"]["Hostname"] for n in r.json()
                if n["Status"]["State"] == "ready"}

    def login(self, user, password, cli):
        r = self.m.docker(["login", REGISTRY, "-u", user, "--password-stdin"],
                          input=password.encode(), cli=cli)
        self.assertEqual(r.returncode, 0, out(r))

    def tasks(self, service):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    def running_on(self, service):
        hosts = self.ready_nodes()
        return sorted(hosts.get(t["NodeID"], "?") for t in self.tasks(service)
                      if t["Status"]["State"] == "running")

    def wait(self, fn, timeout, msg):
        if not harness.wait_until(fn, timeout, 0.3):
            self.fail((msg() if callable(msg) else msg) + "\n" + self.m.log_tail(12))

    def create(self, cli, name, image, *flags, keep=False):
        """`docker service create`; the service is removed after this test (keep: after the
        class, so later tests find it)."""
        r = self.m.docker(["service", "create", "-d", "--name", name, *flags, image,
                           "sleep", "600"], cli=cli)
        self.assertEqual(r.returncode, 0, out(r))
        cleanup = type(self).addClassCleanup if keep else self.addCleanup
        cleanup(self.m.docker, ["service", "rm", name])

    def spec_image(self, service):
        r = self.m.api("GET", f"/services/{service}")
        self.assertEqual(r.status, 200, r.message())
        return r.json()["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]

    def has_image(self, d, ref):
        """Whether node d's image store answers for `ref` (name:tag@digest: its RepoDigests)."""
        r = d.api("GET", f"/images/{ref}/json")
        self.assertIn(r.status, (200, 404), r.message())
        if r.status == 200:
            named, digest = ref.split("@", 1)
            self.assertIn(named.rsplit(":", 1)[0] + "@" + digest,
                          r.json().get("RepoDigests") or [], ref)
        return r.status == 200

    def scan_node(self, name, include_cli_config=False):
        """Every file under the node's temp dir (data root with etcd's data dir, exec root,
        capsuled log): [(path, needles)]; the docker CLI's config dir only when asked."""
        d = self.nodes[name]
        paths = [p for p in leakscan.files_under(d.root, one_fs=True)
                 if include_cli_config or not p.startswith(d.docker_config + "/")]
        hits, files, total = leakscan.scan_files(paths, self.needles)
        type(self).checks[name] = {"files": files, "bytes": total}
        return hits, files

    # ---- tests (run in name order) -------------------------------------------------------------
    def test_1_services_pull_on_every_node_that_runs_them_with_both_clis(self):
        for cli in harness.DOCKER_CLIS:
            label = harness.cli_label(cli)
            with self.subTest(cli=label):
                glob = self.push(f"team/glob:{label}", BOB, BOB_PW)
                priv = self.push(f"team/priv:{label}")
                self.login(BOB, BOB_PW, cli)
                self.create(cli, f"glob-{label}", glob, "--mode", "global",
                            "--with-registry-auth", keep=True)
                self.login(CAROL, CANARY, cli)
                self.create(cli, f"priv-{label}", priv, "--mode", "global",
                            "--with-registry-auth", "--constraint", "node.hostname!=w2",
                            keep=True)
                self.wait(lambda: self.running_on(f"glob-{label}") == ["mgr", "w1", "w2"], 90,
                          lambda: f"glob-{label}: {self.tasks(f'glob-{label}')}")
                self.wait(lambda: self.running_on(f"priv-{label}") == ["mgr", "w1"], 90,
                          lambda: f"priv-{label}: {self.tasks(f'priv-{label}')}")
                # The CLI pinned each image to its digest through the registry (as Docker's
                # does with the credentials); each node that runs a task pulled exactly that
                # reference (not loaded), w2 never the private one.
                glob_ref, priv_ref = self.spec_image(f"glob-{label}"), self.spec_image(
                    f"priv-{label}")
                self.assertRegex(glob_ref, "^" + re.escape(glob) + "@sha256:[0-9a-f]{64}$")
                self.assertRegex(priv_ref, "^" + re.escape(priv) + "@sha256:[0-9a-f]{64}$")
                for name, d in self.nodes.items():
                    self.assertEqual(self.has_image(d, glob_ref), True, name)
                    self.assertEqual(self.has_image(d, priv_ref), name != "w2", name)
        self.__class__.private_service = f"priv-{harness.cli_label(harness.DOCKER_20)}"

    def test_2_the_password_is_nowhere_in_plaintext_and_not_at_all_on_w2(self):
        if not getattr(self.__class__, "private_service", None):
            self.skipTest("test_1 did not start the private services")
        # Positive control: where `docker login` keeps it (base64 of user:password in the
        # CLI's config.json), the scan finds it.
        cfg = os.path.join(self.m.docker_config, "config.json")
        control = leakscan.scan_files([cfg], self.needles)[0]
        self.assertTrue(control, "positive control: the CLI config holds the login")
        for name in self.nodes:
            hits, files = self.scan_node(name, include_cli_config=(name == "w2"))
            self.assertGreater(files, 10, name)
            self.assertEqual(hits, [], f"{name}: the registry password in plaintext")
        # w2's processes (capsuled, its shims and tasks) hold no form of it in memory either.
        # Control: this test process holds the canary, and the same scan finds it there.
        self.assertTrue(leakscan.scan_memory(os.getpid(), self.needles)[0],
                        "positive control: the test's own memory holds the canary")
        scanned = 0
        for pid in leakscan.proc_tree(self.w2.pid):
            try:
                hits = leakscan.scan_memory(pid, self.needles)[0]
            except OSError:  # exited meanwhile
                continue
            scanned += 1
            self.assertEqual(hits, [], f"w2 process {pid} holds the registry password")
        self.assertGreaterEqual(scanned, 1)
        # Observation only (printed, not asserted): does capsuled on a node that pulled with
        # the credentials still hold a form of them in freed memory (the registry client's
        # Basic header, for one)?
        for name in ("mgr", "w1"):
            try:
                hits = leakscan.scan_memory(self.nodes[name].pid, self.needles)[0]
            except OSError:
                continue
            print(f"\nobservation: {name} capsuled memory regions holding a form of the "
                  f"registry password: {len(hits)}", file=sys.stderr)
        # The credentials travel like secrets (the agent lists what it holds by ID): w2, with
        # only the global services' tasks, holds bob's but none of carol's, which mgr and w1
        # (with the private tasks) both hold.
        held = {name: set(d.api("GET", "/capsule/agent", version=None).json()["Secrets"])
                for name, d in self.nodes.items()}
        carols = held["mgr"] - held["w2"]
        self.assertEqual(len(carols), len(harness.DOCKER_CLIS), held)
        self.assertLessEqual(carols, held["w1"], held)
        self.assertEqual(len(held["w2"]), len(harness.DOCKER_CLIS), held)
        self.assertLessEqual(held["w2"], held["mgr"] & held["w1"], held)

    def test_3_service_inspect_shows_nothing_of_the_credentials(self):
        if not getattr(self.__class__, "private_service", None):
            self.skipTest("test_1 did not start the private services")
        # Positive control: the header the CLI sent carries the password in a form the
        # needles match.
        header = base64.urlsafe_b64encode(json.dumps(
            {"username": CAROL, "password": CANARY, "serveraddress": REGISTRY}).encode())
        self.assertTrue(leakscan.find_in(header, self.needles))
        svc = self.private_service
        outputs = [self.m.api("GET", f"/services/{svc}").body,
                   self.m.api("GET", f"/services/{svc}", query={"insertDefaults": "true"}).body,
                   self.m.api("GET", "/services").body,
                   self.m.api("GET", "/tasks").body]
        for cli in harness.DOCKER_CLIS:
            outputs.append(self.m.docker(["service", "inspect", svc], cli=cli).stdout)
            outputs.append(self.m.docker(["service", "inspect", "--pretty", svc],
                                         cli=cli).stdout)
        for o in outputs:
            self.assertTrue(o)
            self.assertEqual(leakscan.find_in(o, self.needles), [])
            self.assertNotIn(b"RegistryAuth", o)
            self.assertNotIn(b"PullOptions", o)
            self.assertNotIn(CAROL.encode(), o)

    def test_4_without_with_registry_auth_the_task_is_rejected_with_dockers_message(self):
        image = self.push("team/noauth:1")
        self.create(harness.DOCKER_20, "noauth", image, "--constraint", "node.hostname==w1")

        def rejected():
            return [t for t in self.tasks("noauth") if t["Status"]["State"] == "rejected"]
        self.wait(lambda: len(rejected()) >= 1, 60, lambda: f"{self.tasks('noauth')}")
        t = rejected()[0]
        self.assertTrue(t["Status"]["Err"].startswith(f"No such image: {image}"), t["Status"])
        self.assertEqual(t["Status"]["Message"], "preparing")
        # Retried per restart policy (another task replaces it, which is rejected too).
        self.wait(lambda: len(rejected()) >= 2, 60, lambda: f"{self.tasks('noauth')}")
        for cli in harness.DOCKER_CLIS:
            ps = self.m.docker(["service", "ps", "--no-trunc", "noauth"], cli=cli)
            self.assertIn(f"\"No such image: {image}", out(ps))
            self.assertIn("Rejected", out(ps))

    def test_5_registry_down_rejects_and_retries_then_the_task_runs_when_it_is_back(self):
        image = self.push("team/later:1")
        self.login(CAROL, CANARY, harness.DOCKER_20)
        self.stop_registry()
        try:
            self.create(harness.DOCKER_20, "later", image, "--with-registry-auth",
                        "--constraint", "node.hostname==w1", "--restart-delay", "1s")

            def rejected():
                return [t for t in self.tasks("later") if t["Status"]["State"] == "rejected"]
            self.wait(lambda: len(rejected()) >= 2, 60, lambda: f"{self.tasks('later')}")
            self.assertTrue(rejected()[0]["Status"]["Err"].startswith(f"No such image: {image}"))
            # The other services are unaffected (their images are there already).
            if getattr(self.__class__, "private_service", None):
                self.assertEqual(self.running_on(self.private_service), ["mgr", "w1"])
        finally:
            if self.registry is None:
                self.start_registry()
        self.wait(lambda: self.running_on("later") == ["w1"], 90,
                  lambda: f"{self.tasks('later')}")


if __name__ == "__main__":
    unittest.main()
