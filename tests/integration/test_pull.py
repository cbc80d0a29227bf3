"""Pulling from a real registry: `docker pull` and `docker login` against capsuled.

Addresses: 127.0.44.x. The registry is Debian's docker-registry (distribution 2.8), started by
this module from its own binary with a config in a temp dir (never the package's systemd
service): TLS from a test CA on 127.0.44.1:5000, htpasswd auth. capsuled finds the CA the
Docker way, <certs-dir>/127.0.44.1:5000/ca.crt, in a temp dir given by its hidden
--registry-certs-dir flag (nothing is written under /etc). 127.0.44.2:5000 is a throttling
relay to the registry (same certificate) so a pull can be killed midway. Images are pushed by
skopeo from docker-archives of the busybox rootfs (tests/harness/busybox_image.py): gzip and
zstd layers, one multi-platform index (built here and PUT to the registry). Nothing contacts
anything but this registry: the CLIs get a dead proxy and capsuled pulls only these names.
"""

import base64
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import threading
import time
import unittest
import urllib.request

import harness
from harness import busybox_image

REGISTRY_IP = "127.0.44.1"
RELAY_IP = "127.0.44.2"
DAEMON_IP = "127.0.44.3"
PORT = 5000
REGISTRY = f"{REGISTRY_IP}:{PORT}"
SLOW_REGISTRY = f"{RELAY_IP}:{PORT}"
USER, PASSWORD = "alice", "s3cret-pull"
REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, timeout=120, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({r.returncode}): {out(r)}")
    return r


def make_ca(d, ips=(REGISTRY_IP, RELAY_IP)):
    """A test CA (d/ca.crt) and a server certificate for these addresses (openssl CLI); the other
    registry modules use it too."""
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-days", "2",
         "-subj", "/CN=capsule test registry CA"])
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=registry"])
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("subjectAltName=" + ",".join("IP:" + ip for ip in ips) + "\n")
    run(["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.crt",
         "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/server.crt", "-days", "2",
         "-extfile", f"{d}/ext.cnf"])


def htpasswd_line(user, password):
    import crypt  # bcrypt ($2b$), the only hash the registry's htpasswd accepts
    return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


def write_registry_config(tmp, addr, storage, delete=False):
    """tmp/config.yml for docker-registry: TLS with tmp/server.{crt,key} (make_ca), htpasswd auth
    from tmp/htpasswd, blobs under storage; the other registry modules use it too."""
    deletion = "  delete:\n    enabled: true\n" if delete else ""
    with open(f"{tmp}/config.yml", "w") as f:
        f.write(f"""version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
{deletion}http:
  addr: {addr}
  secret: capsule-test-secret
  tls:
    certificate: {tmp}/server.crt
    key: {tmp}/server.key
auth:
  htpasswd:
    realm: capsule-test
    path: {tmp}/htpasswd
""")


def layer_tar(files):
    """An uncompressed layer tar: files = {path: bytes}."""
    import io
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = set()
        for path in files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def with_marker(layer, name, data):
    """A copy of an uncompressed layer with one more file (so its digest is its own)."""
    import io
    src = tarfile.open(fileobj=io.BytesIO(layer))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in src.getmembers():
            tar.addfile(m, src.extractfile(m) if m.isfile() else None)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def docker_archive(path, layers, arch="amd64", marker=""):
    """A `docker save` archive (20.10 layout) with these uncompressed layers."""
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = json.dumps({
        "architecture": arch, "os": "linux", "created": "2026-12-01T00:00:00Z",
        "config": {"Env": ["PATH=/bin", "MARKER=" + marker], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_id = hashlib.sha256(config).hexdigest()
    names = []
    import io
    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for l, d in zip(layers, diff_ids):
            name = hashlib.sha256(d.encode()).hexdigest() + "/layer.tar"
            names.append(name)
            add(name, l)
        add(config_id + ".json", config)
        add("manifest.json", json.dumps([{"Config": config_id + ".json", "RepoTags": [],
                                          "Layers": names}]).encode())
    return path


class Relay:
    """A TCP relay RELAY_IP:PORT → the registry that forwards at most `rate` bytes/s towards
    the client, so a pull through it takes seconds."""

    def __init__(self, rate):
        self.rate = rate
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((RELAY_IP, PORT))
        self.sock.listen(16)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(c,), daemon=True).start()

    def _pipe(self, client):
        try:
            upstream = socket.create_connection((REGISTRY_IP, PORT))
        except OSError:
            client.close()
            return
        socks = [client, upstream]
        try:
            while not self.stopped:
                r, _, _ = select.select(socks, [], [], 1)
                for s in r:
                    data = s.recv(16384)
                    if not data:
                        return
                    if s is upstream:
                        time.sleep(len(data) / self.rate)
                        client.sendall(data)
                    else:
                        upstream.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self):
        self.stopped = True
        self.sock.close()


class Pull(unittest.TestCase):
    """One registry, one capsuled; each test pulls its own images."""

    @classmethod
    def setUpClass(cls):
        for binary in (REGISTRY_BIN, SKOPEO):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest(f"{binary} missing (scripts/install-deps.sh test)")
        cls.tmp = tempfile.mkdtemp(prefix="cpull-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        make_ca(cls.tmp)
        certs = os.path.join(cls.tmp, "certs.d")
        for reg in (REGISTRY, SLOW_REGISTRY):
            os.makedirs(os.path.join(certs, reg))
            shutil.copy(f"{cls.tmp}/ca.crt", os.path.join(certs, reg, "ca.crt"))
        cls.push_certs = os.path.join(cls.tmp, "push-certs")
        os.makedirs(cls.push_certs)
        shutil.copy(f"{cls.tmp}/ca.crt", cls.push_certs)
        with open(f"{cls.tmp}/htpasswd", "w") as f:
            f.write(htpasswd_line(USER, PASSWORD))
        cls.storage = os.path.join(cls.tmp, "storage")
        write_registry_config(cls.tmp, REGISTRY, cls.storage, delete=True)
        env = {"PATH": "/usr/bin:/bin", "HOME": cls.tmp}
        cls.registry_log = open(f"{cls.tmp}/registry.log", "wb")
        cls.registry = subprocess.Popen([REGISTRY_BIN, "serve", f"{cls.tmp}/config.yml"],
                                        stdout=cls.registry_log, stderr=cls.registry_log,
                                        env=env, preexec_fn=harness.die_with_parent)
        cls.addClassCleanup(cls._stop_registry)
        cls.ctx = ssl.create_default_context(cafile=f"{cls.tmp}/ca.crt")
        if not harness.wait_until(cls._registry_up, 20):
            raise AssertionError("registry did not start: " +
                                 open(f"{cls.tmp}/registry.log").read()[-2000:])
        cls.relay = Relay(rate=1_500_000)
        cls.addClassCleanup(cls.relay.close)
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        with open(cls.rootfs, "rb") as f:
            cls.base_layer = f.read()
        cls.d = harness.Daemon(DAEMON_IP, name="pull", extra_args=[
            "--registry-certs-dir", certs])
        cls.addClassCleanup(cls.d.close)

    @classmethod
    def _stop_registry(cls):
        cls.registry.send_signal(signal.SIGTERM)
        try:
            cls.registry.wait(10)
        except subprocess.TimeoutExpired:
            cls.registry.kill()
            cls.registry.wait(5)
        cls.registry_log.close()

    @classmethod
    def _registry_up(cls):
        try:
            urllib.request.urlopen(f"https://{REGISTRY}/v2/", context=cls.ctx, timeout=2)
        except urllib.error.HTTPError as e:
            return e.code == 401
        except OSError:
            return False
        return True

    # ---- helpers -------------------------------------------------------------------------
    @classmethod
    def push(cls, name, layers, compress="gzip", arch="amd64", marker=""):
        """skopeo copy of a docker-archive to REGISTRY/name; returns the manifest digest."""
        archive = docker_archive(os.path.join(cls.tmp, f"push-{time.monotonic_ns()}.tar"),
                                 layers, arch=arch, marker=marker)
        digest_file = archive + ".digest"
        args = [SKOPEO, "copy", "--quiet", "--dest-cert-dir", cls.push_certs,
                "--dest-creds", f"{USER}:{PASSWORD}", "--digestfile", digest_file]
        if compress == "zstd":
            args += ["--format", "oci", "--dest-compress-format", "zstd"]
        args += [f"docker-archive:{archive}", f"docker://{REGISTRY}/{name}"]
        run(args, env={"PATH": "/usr/bin:/bin", "HOME": cls.tmp})
        os.unlink(archive)
        with open(digest_file) as f:
            return f.read().strip()

    @classmethod
    def registry_request(cls, method, path, body=None, headers=None):
        req = urllib.request.Request(f"https://{REGISTRY}{path}", data=body, method=method,
                                     headers=dict(headers or {}))
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, context=cls.ctx, timeout=30) as r:
            return r.status, dict(r.headers), r.read()

    @classmethod
    def manifest(cls, name, ref):
        _, headers, body = cls.registry_request("GET", f"/v2/{name}/manifests/{ref}", headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, "
                      "application/vnd.oci.image.manifest.v1+json"})
        return json.loads(body), headers.get("Content-Type")

    def login(self, cli=harness.DOCKER_20, password=PASSWORD, registry=REGISTRY):
        return self.d.docker(["login", registry, "-u", USER, "--password-stdin"],
                             input=password.encode(), cli=cli)

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker/registry/v2/blobs/sha256", hexd[:2], hexd,
                            "data")

    def images_dir(self):
        return os.path.join(self.d.data_root, "images")

    def stored_ids(self):
        return sorted(i["Id"] for i in self.d.api("GET", "/images/json").json())

    def assert_nothing_half(self):
        for sub in ("tmp", "blobs/incoming"):
            path = os.path.join(self.images_dir(), sub)
            self.assertEqual(os.listdir(path), [], sub)

    def read_rootfs(self, ref, rel):
        image_id = self.d.api("GET", f"/images/{ref}/json").json()["Id"]
        with open(os.path.join(self.images_dir(), "sha256", image_id[7:], "rootfs", rel),
                  "rb") as f:
            return f.read()

    def pull_stream(self, name, tag, auth=True):
        """POST /images/create?fromImage= through the API; returns (status, messages)."""
        headers = {}
        if auth:
            headers["X-Registry-Auth"] = base64.urlsafe_b64encode(json.dumps(
                {"username": USER, "password": PASSWORD, "serveraddress": REGISTRY}
            ).encode()).decode()
        r = self.d.api("POST", "/images/create", query={"fromImage": name, "tag": tag},
                       headers=headers)
        if r.status != 200:
            return r.status, r.json()
        return r.status, [json.loads(line) for line in r.body.decode().splitlines() if line]

    # ---- tests ---------------------------------------------------------------------------
    def test_docker_login_succeeds_and_wrong_password_gets_dockers_error(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                r = self.login(cli=cli, password="wrong")
                self.assertNotEqual(r.returncode, 0, out(r))
                self.assertIn(f"login attempt to https://{REGISTRY}/v2/ failed with status: "
                              "401 Unauthorized", out(r))
                r = self.login(cli=cli)
                self.assertEqual(r.returncode, 0, out(r))
                self.assertIn("Login Succeeded", out(r))
        r = self.d.api("POST", "/auth", body={"username": USER, "password": "nope",
                                              "serveraddress": REGISTRY})
        self.assertEqual(r.status, 401, r)
        r = self.d.api("POST", "/auth", body={"username": USER, "password": PASSWORD,
                                              "serveraddress": REGISTRY})
        self.assertEqual((r.status, r.json()["Status"]), (200, "Login Succeeded"))

    def test_docker_pull_gzip_image_with_both_clis(self):
        digest = self.push("team/busybox:gzip", [self.base_layer, layer_tar(
            {"etc/marker": b"gzip image\n"})], marker="gzip")
        m, _ = self.manifest("team/busybox", "gzip")
        self.assertTrue(m["layers"][0]["mediaType"].endswith("gzip"), m)
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                self.assertEqual(self.login(cli=cli).returncode, 0)
                r = self.d.docker(["pull", f"{REGISTRY}/team/busybox:gzip"], cli=cli)
                text = out(r)
                self.assertEqual(r.returncode, 0, text)
                self.assertIn("gzip: Pulling from team/busybox", text)
                self.assertIn(f"Digest: {digest}", text)
                self.assertRegex(text, r"Status: (Downloaded newer image|Image is up to date) "
                                       f"for {REGISTRY}/team/busybox:gzip")
        self.assertEqual(self.read_rootfs(f"{REGISTRY}/team/busybox:gzip", "etc/marker"),
                         b"gzip image\n")
        info = self.d.api("GET", f"/images/{REGISTRY}/team/busybox:gzip/json").json()
        self.assertEqual(info["RepoDigests"], [f"{REGISTRY}/team/busybox@{digest}"])
        # The image runs: its busybox is whole.
        self.assertTrue(os.access(os.path.join(self.images_dir(), "sha256", info["Id"][7:],
                                               "rootfs/bin/busybox"), os.X_OK))
        self.assert_nothing_half()

    def test_progress_stream_has_dockers_messages(self):
        self.push("team/progress:1", [self.base_layer, layer_tar({"etc/p": b"p"})])
        status, msgs = self.pull_stream(f"{REGISTRY}/team/progress", "1")
        self.assertEqual(status, 200, msgs)
        self.assertEqual(msgs[0], {"status": "Pulling from team/progress", "id": "1"})
        statuses = [m.get("status") for m in msgs]
        for s in ("Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete",
                  "Extracting", "Pull complete"):
            self.assertIn(s, statuses)
        downloading = [m for m in msgs if m.get("status") == "Downloading"]
        self.assertTrue(all(set(m["progressDetail"]) == {"current", "total"} and
                            len(m["id"]) == 12 for m in downloading), downloading[:3])
        self.assertTrue(statuses[-2].startswith("Digest: sha256:"))
        self.assertEqual(statuses[-1],
                         f"Status: Downloaded newer image for {REGISTRY}/team/progress:1")
        self.assertFalse(any("error" in m for m in msgs))
        # Again: nothing downloaded, "up to date".
        status, msgs = self.pull_stream(f"{REGISTRY}/team/progress", "1")
        self.assertEqual(msgs[-1]["status"],
                         f"Status: Image is up to date for {REGISTRY}/team/progress:1")
        self.assertNotIn("Downloading", [m.get("status") for m in msgs])

    def test_zstd_layers_and_pull_by_digest(self):
        # Layers of their own: skopeo would otherwise reuse the gzip blobs the registry has.
        digest = self.push("team/zstd:1", [with_marker(self.base_layer, "etc/zstd-base", b"z"),
                                           layer_tar({"etc/marker": b"zstd image\n"})],
                           compress="zstd", marker="zstd")
        m, _ = self.manifest("team/zstd", digest)
        self.assertEqual([l["mediaType"] for l in m["layers"]],
                         ["application/vnd.oci.image.layer.v1.tar+zstd"] * 2)
        self.assertEqual(self.login().returncode, 0)
        r = self.d.docker(["pull", f"{REGISTRY}/team/zstd@{digest}"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertIn(f"{digest}: Pulling from team/zstd", out(r))
        self.assertEqual(self.read_rootfs(f"{REGISTRY}/team/zstd@{digest}", "etc/marker"),
                         b"zstd image\n")
        self.assert_nothing_half()

    def test_multi_platform_index_picks_linux_amd64(self):
        amd = self.push("team/multi:amd64", [self.base_layer, layer_tar({"etc/arch": b"amd64"})],
                        marker="amd64")
        arm = self.push("team/multi:arm64", [self.base_layer, layer_tar({"etc/arch": b"arm64"})],
                        arch="arm64", marker="arm64")
        entries = []
        for digest, arch in ((arm, "arm64"), (amd, "amd64")):
            _, headers, body = self.registry_request(
                "GET", f"/v2/team/multi/manifests/{digest}",
                headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            entries.append({"mediaType": headers["Content-Type"], "digest": digest,
                            "size": len(body), "platform": {"os": "linux",
                                                            "architecture": arch}})
        index = json.dumps({"schemaVersion": 2,
                            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                            "manifests": entries}).encode()
        status, _, _ = self.registry_request(
            "PUT", "/v2/team/multi/manifests/latest", body=index,
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.list.v2+json"})
        self.assertEqual(status, 201)
        status, msgs = self.pull_stream(f"{REGISTRY}/team/multi", "latest")
        self.assertEqual(status, 200, msgs)
        self.assertEqual(self.read_rootfs(f"{REGISTRY}/team/multi:latest", "etc/arch"), b"amd64")
        index_digest = "sha256:" + hashlib.sha256(index).hexdigest()
        self.assertEqual(msgs[-2]["status"], f"Digest: {index_digest}")

    def test_shared_layers_are_downloaded_and_stored_once(self):
        shared = layer_tar({"opt/shared/blob": os.urandom(200_000)})
        self.push("team/share:a", [self.base_layer, shared, layer_tar({"etc/who": b"a"})])
        self.push("team/share:b", [self.base_layer, shared, layer_tar({"etc/who": b"b"})])
        _, first = self.pull_stream(f"{REGISTRY}/team/share", "a")
        _, second = self.pull_stream(f"{REGISTRY}/team/share", "b")
        already = [m["id"] for m in second if m.get("status") == "Already exists"]
        self.assertGreaterEqual(len(already), 2, second)
        downloaded = [m["id"] for m in second if m.get("status") == "Download complete"]
        self.assertEqual(len(downloaded), 1, second)
        m, _ = self.manifest("team/share", "b")
        blobs = os.listdir(os.path.join(self.images_dir(), "blobs", "sha256"))
        for layer in m["layers"]:
            self.assertEqual(blobs.count(layer["digest"][7:]), 1)
        self.assertEqual(self.read_rootfs(f"{REGISTRY}/team/share:b", "etc/who"), b"b")

    def test_digest_mismatch_and_truncated_blob_are_refused_with_nothing_stored(self):
        for case in ("mismatch", "truncated"):
            with self.subTest(case=case):
                self.push(f"team/bad:{case}", [self.base_layer, layer_tar(
                    {"etc/bad": os.urandom(100_000)})])
                m, _ = self.manifest("team/bad", case)
                layer = m["layers"][-1]["digest"]
                path = self.blob_path(layer)
                with open(path, "r+b") as f:
                    if case == "mismatch":
                        f.seek(1000)
                        byte = f.read(1)
                        f.seek(1000)
                        f.write(bytes([byte[0] ^ 0xff]))
                    else:
                        f.truncate(os.path.getsize(path) // 2)
                before = self.stored_ids()
                status, msgs = self.pull_stream(f"{REGISTRY}/team/bad", case)
                self.assertEqual(status, 200, msgs)
                self.assertIn("error", msgs[-1], msgs[-3:])
                if case == "mismatch":
                    self.assertEqual(msgs[-1]["error"],
                                     f"filesystem layer verification failed for digest {layer}")
                self.assertEqual(self.stored_ids(), before)
                self.assertFalse(os.path.exists(os.path.join(
                    self.images_dir(), "blobs", "sha256", layer[7:])))
                self.assert_nothing_half()
                r = self.d.docker(["pull", f"{REGISTRY}/team/bad:{case}"])
                self.assertNotEqual(r.returncode, 0, out(r))

    def test_wrong_credentials_get_dockers_error_and_nothing_stored(self):
        self.push("team/private:1", [self.base_layer])
        before = self.stored_ids()
        bad = base64.urlsafe_b64encode(json.dumps(
            {"username": USER, "password": "wrong", "serveraddress": REGISTRY}).encode()).decode()
        r = self.d.api("POST", "/images/create",
                       query={"fromImage": f"{REGISTRY}/team/private", "tag": "1"},
                       headers={"X-Registry-Auth": bad})
        # 500 as Docker's (a 401 would make the CLI prompt for a login).
        self.assertEqual((r.status, r.message()), (500, "unauthorized: authentication required"))
        status, body = self.pull_stream(f"{REGISTRY}/team/private", "1", auth=False)
        self.assertEqual(status, 500)
        self.assertEqual(body["message"], f'Get "https://{REGISTRY}/v2/team/private/manifests/1": '
                                          "no basic auth credentials")
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                self.d.docker(["logout", REGISTRY], cli=cli)
                r = self.d.docker(["pull", f"{REGISTRY}/team/private:1"], cli=cli, input=b"")
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("Error response from daemon", out(r))
                self.assertIn("no basic auth credentials", out(r))
        self.assertEqual(self.stored_ids(), before)

    def test_unknown_tag_is_dockers_not_found(self):
        self.assertEqual(self.login().returncode, 0)
        r = self.d.docker(["pull", f"{REGISTRY}/team/busybox:nope"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"manifest for {REGISTRY}/team/busybox:nope not found: "
                      "manifest unknown: manifest unknown", out(r))

    def test_kill9_mid_pull_leaves_no_half_image_and_pull_resumes(self):
        big = layer_tar({"opt/big/a": os.urandom(3_000_000), "opt/big/b": os.urandom(3_000_000)})
        self.push("team/big:1", [self.base_layer, big])
        m, _ = self.manifest("team/big", "1")
        incoming = os.path.join(self.images_dir(), "blobs", "incoming")
        staging = os.path.join(self.images_dir(), "tmp")
        ref = f"{SLOW_REGISTRY}/team/big"
        self.assertEqual(self.login(registry=SLOW_REGISTRY).returncode, 0)
        proc = subprocess.Popen([harness.DOCKER_20, "pull", f"{ref}:1"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=self.d.cli_env())
        try:
            seen = harness.wait_until(
                lambda: any(os.path.getsize(os.path.join(incoming, n)) > 100_000
                            for n in os.listdir(incoming)), 60, interval=0.02)
            self.assertTrue(seen, "no partial blob appeared")
            self.d.kill9()
        finally:
            proc.wait(30)
        self.assertNotEqual(proc.returncode, 0)
        self.d.start()
        self.assert_nothing_half()
        names = [t for i in self.d.api("GET", "/images/json").json() for t in i["RepoTags"]]
        self.assertNotIn(f"{ref}:1", names)
        r = self.d.docker(["pull", f"{ref}:1"], timeout=120)
        self.assertEqual(r.returncode, 0, out(r))
        with open(os.path.join(self.images_dir(), "sha256",
                               self.d.api("GET", f"/images/{ref}:1/json").json()["Id"][7:],
                               "rootfs/opt/big/a"), "rb") as f:
            self.assertEqual(len(f.read()), 3_000_000)
        self.assertTrue(os.path.exists(os.path.join(self.images_dir(), "blobs", "sha256",
                                                    m["layers"][-1]["digest"][7:])))
        self.assert_nothing_half()


if __name__ == "__main__":
    unittest.main()
