"""`GET /distribution/{name}/json` resolved through the registry (issue 16 part 4), and what the
docker CLIs do with it: `service create|update` and `stack deploy --resolve-image` pin a registry
image to `name:tag@sha256:…` as with Docker; `--no-resolve-image`/`never` keep the plain name; a
registry that is down or refuses the credentials gets the CLI's "could not be accessed on a
registry" warning and the service is still created; a name imported on the node (busybox) is the
node's own and no registry is asked (docs/features.md).

Addresses: 127.0.49.x. The registry is Debian's docker-registry (distribution 2.8) with TLS from a
test CA and htpasswd auth on 127.0.49.1:5000 (test_pull.py's helpers build the images, skopeo
pushes them); 127.0.49.2:5000 has nothing listening (a registry that is down); capsuled on
127.0.49.3 finds the CA the Docker way in a temp certs.d (--registry-certs-dir). Nothing else
is contacted: the harness starts capsuled with --registries-loopback-only.
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness
from harness import busybox_image
from test_pull import (docker_archive, htpasswd_line, layer_tar, make_ca, out, run,
                       write_registry_config)

REGISTRY_IP = "127.0.49.1"
DEAD_IP = "127.0.49.2"
DAEMON_IP = "127.0.49.3"
PORT = 5000
REGISTRY = f"{REGISTRY_IP}:{PORT}"
DEAD = f"{DEAD_IP}:{PORT}"
USER, PASSWORD = "bob", "s3cret-resolve"
REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
LOCAL = "capsule/busybox:1"  # imported on the node: no registry origin
WARNING = ("could not be accessed on a registry to record\nits digest. Each node will access "
           "{image} independently,\npossibly leading to different nodes running different\n"
           "versions of the image.")
COMPOSE = """\
version: "3.8"
services:
  web:
    image: {image}
    command: ["sleep", "1d"]
    deploy:
      replicas: 0
"""


def auth_header(password=PASSWORD):
    return base64.urlsafe_b64encode(json.dumps(
        {"username": USER, "password": password, "serveraddress": REGISTRY}).encode()).decode()


class TestRegistry:
    """The registry process, its CA and credentials, and pushes into it."""

    def __init__(self, tmp):
        self.tmp = tmp
        make_ca(tmp, [REGISTRY_IP])
        self.certs = os.path.join(tmp, "certs.d")
        for reg in (REGISTRY, DEAD):
            os.makedirs(os.path.join(self.certs, reg))
            shutil.copy(f"{tmp}/ca.crt", os.path.join(self.certs, reg, "ca.crt"))
        self.push_certs = os.path.join(tmp, "push-certs")
        os.makedirs(self.push_certs)
        shutil.copy(f"{tmp}/ca.crt", self.push_certs)
        with open(f"{tmp}/htpasswd", "w") as f:
            f.write(htpasswd_line(USER, PASSWORD))
        write_registry_config(tmp, REGISTRY, f"{tmp}/storage")
        self.log = open(f"{tmp}/registry.log", "wb")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", f"{tmp}/config.yml"],
                                     stdout=self.log, stderr=self.log,
                                     env={"PATH": "/usr/bin:/bin", "HOME": tmp},
                                     preexec_fn=harness.die_with_parent)
        self.ctx = ssl.create_default_context(cafile=f"{tmp}/ca.crt")
        if not harness.wait_until(self._up, 20):
            raise AssertionError("registry did not start: " +
                                 open(f"{tmp}/registry.log").read()[-2000:])

    def _up(self):
        try:
            urllib.request.urlopen(f"https://{REGISTRY}/v2/", context=self.ctx, timeout=2)
        except urllib.error.HTTPError as e:
            return e.code == 401
        except OSError:
            return False
        return True

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()

    def push(self, name, layers, arch="amd64", oci=False):
        """skopeo copy of a docker-archive to REGISTRY/name; returns the manifest digest."""
        archive = docker_archive(os.path.join(self.tmp, f"push-{time.monotonic_ns()}.tar"),
                                 layers, arch=arch, marker=name)
        digest_file = archive + ".digest"
        args = [SKOPEO, "copy", "--quiet", "--dest-cert-dir", self.push_certs,
                "--dest-creds", f"{USER}:{PASSWORD}", "--digestfile", digest_file]
        if oci:
            args += ["--format", "oci"]
        run(args + [f"docker-archive:{archive}", f"docker://{REGISTRY}/{name}"],
            env={"PATH": "/usr/bin:/bin", "HOME": self.tmp})
        os.unlink(archive)
        with open(digest_file) as f:
            return f.read().strip()

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(f"https://{REGISTRY}{path}", data=body, method=method,
                                     headers=dict(headers or {}))
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            return r.status, dict(r.headers), r.read()

    def push_index(self, name, entries):
        """PUTs a Docker manifest list of (digest, arch) under REGISTRY/name:latest; returns
        (its digest, its size)."""
        manifests = []
        for digest, arch in entries:
            _, headers, body = self.request(
                "GET", f"/v2/{name}/manifests/{digest}",
                headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
            manifests.append({"mediaType": headers["Content-Type"], "digest": digest,
                              "size": len(body),
                              "platform": {"os": "linux", "architecture": arch}})
        index = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": manifests}).encode()
        status, _, _ = self.request(
            "PUT", f"/v2/{name}/manifests/latest", body=index,
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.list.v2+json"})
        assert status == 201, status
        return "sha256:" + hashlib.sha256(index).hexdigest(), len(index)


class ResolveImage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for binary in (REGISTRY_BIN, SKOPEO):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest(f"{binary} missing (scripts/install-deps.sh test)")
        cls.tmp = tempfile.mkdtemp(prefix="cresolve-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.registry = TestRegistry(cls.tmp)
        cls.addClassCleanup(cls.registry.stop)
        rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        with open(rootfs, "rb") as f:
            cls.base_layer = f.read()
        cls.app = cls.registry.push("team/app:1", [cls.base_layer])
        cls.oci = cls.registry.push("team/oci:1", [cls.base_layer], oci=True)
        amd = cls.registry.push("team/multi:amd64",
                                [cls.base_layer, layer_tar({"etc/arch": b"amd64"})])
        arm = cls.registry.push("team/multi:arm64",
                                [cls.base_layer, layer_tar({"etc/arch": b"arm64"})],
                                arch="arm64")
        cls.multi, cls.multi_size = cls.registry.push_index("team/multi", [(amd, "amd64"),
                                                                           (arm, "arm64")])
        cls.d = harness.Daemon(DAEMON_IP, name="resolve",
                               extra_args=["--registry-certs-dir", cls.registry.certs])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        r = cls.d.docker(["import", rootfs, LOCAL])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}")
        for cli in harness.DOCKER_CLIS:
            r = cls.d.docker(["login", REGISTRY, "-u", USER, "--password-stdin"],
                             input=PASSWORD.encode(), cli=cli)
            if r.returncode != 0:
                raise AssertionError(f"docker login: {out(r)}")

    def tearDown(self):
        for s in self.d.api("GET", "/services").json():
            self.d.api("DELETE", f"/services/{s['ID']}")

    # ---- helpers -------------------------------------------------------------------------
    def distribution(self, name, password=PASSWORD):
        headers = {"X-Registry-Auth": auth_header(password)} if password else {}
        return self.d.api("GET", f"/distribution/{name}/json", headers=headers)

    def image_of(self, service):
        r = self.d.api("GET", f"/services/{service}")
        self.assertEqual(r.status, 200, r)
        return r.json()["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]

    def placement_of(self, service):
        return self.d.api("GET", f"/services/{service}").json()["Spec"]["TaskTemplate"].get(
            "Placement")

    def create(self, cli, name, image, *flags):
        return self.d.docker(["service", "create", "-d", "--replicas", "0", *flags,
                              "--name", name, image, "sleep", "1d"], cli=cli)

    def warning(self, image):
        return f"image {image} " + WARNING.format(image=image)

    # ---- the API -------------------------------------------------------------------------
    def test_api_answers_dockers_descriptor_and_platform_for_a_docker_manifest(self):
        _, headers, body = self.registry.request(
            "GET", f"/v2/team/app/manifests/{self.app}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        for name in (f"{REGISTRY}/team/app:1", f"{REGISTRY}/team/app@{self.app}",
                     f"{REGISTRY}/team/app:1@{self.app}"):
            with self.subTest(name=name):
                r = self.distribution(name)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json(), {
                    "Descriptor": {
                        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "digest": self.app, "size": len(body)},
                    "Platforms": [{"architecture": "amd64", "os": "linux"}]})

    def test_api_lists_every_platform_of_an_index(self):
        r = self.distribution(f"{REGISTRY}/team/multi")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {
            "Descriptor": {
                "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                "digest": self.multi, "size": self.multi_size},
            "Platforms": [{"architecture": "amd64", "os": "linux"},
                          {"architecture": "arm64", "os": "linux"}]})

    def test_api_oci_manifest_has_no_platforms_as_dockers(self):
        r = self.distribution(f"{REGISTRY}/team/oci:1")
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["Descriptor"]["mediaType"], "application/vnd.oci.image.manifest.v1+json")
        self.assertEqual(j["Descriptor"]["digest"], self.oci)
        self.assertIsNone(j["Platforms"])

    def test_api_errors_unknown_tag_credentials_and_down_registry(self):
        r = self.distribution(f"{REGISTRY}/team/app:nope")
        self.assertEqual((r.status, r.message()), (404, "manifest unknown: manifest unknown"))
        r = self.distribution(f"{REGISTRY}/team/app:1", password="wrong")
        self.assertEqual((r.status, r.message()), (401, "unauthorized: authentication required"))
        # Docker answers these two 500 (measured on 20.10; it pings /v2/ first, so its text
        # for a registry that is down names that URL instead).
        r = self.distribution(f"{REGISTRY}/team/app:1", password=None)
        self.assertEqual((r.status, r.message()), (500, f'Head "https://{REGISTRY}/v2/team/app/'
                                                        'manifests/1": no basic auth credentials'))
        r = self.distribution(f"{DEAD}/team/app:1")
        self.assertEqual(r.status, 500, r)
        self.assertTrue(r.message().startswith(f'Get "https://{DEAD}/v2/team/app/manifests/1": '),
                        r.message())
        self.assertIn("connection refused", r.message())
        r = self.distribution("sha256:" + "a" * 64)
        self.assertEqual((r.status, r.message()), (500, "no manifest found for full image ID"))
        r = self.distribution("Bad")
        self.assertEqual((r.status, r.message()),
                         (400, "invalid reference format: repository name must be lowercase"))

    def test_api_local_image_is_the_nodes_own(self):
        for name in (LOCAL, "capsule/busybox:1", "docker.io/capsule/busybox:1"):
            with self.subTest(name=name):
                r = self.distribution(name)
                self.assertEqual((r.status, r.json()), (200, {"Descriptor": {},
                                                              "Platforms": []}))

    def test_api_docker_hub_name_is_refused_before_any_byte_under_loopback_only(self):
        r = self.distribution("nosuchlocalimage:1")
        self.assertNotEqual(r.status, 200, r)
        self.assertIn("--registries-loopback-only", r.message())

    # ---- docker service create / update --------------------------------------------------
    def test_service_create_pins_the_registry_digest_with_both_clis(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"pin{harness.cli_label(cli)}"
                r = self.create(cli, name, f"{REGISTRY}/team/app:1", "--with-registry-auth")
                self.assertEqual(r.returncode, 0, out(r))
                self.assertNotIn("could not be accessed", out(r))
                self.assertEqual(self.image_of(name), f"{REGISTRY}/team/app:1@{self.app}")
                # The CLI copies the answer's platforms into the spec, as with Docker.
                self.assertEqual(self.placement_of(name),
                                 {"Platforms": [{"Architecture": "amd64", "OS": "linux"}]})

    def test_no_resolve_image_keeps_the_plain_name(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"plain{harness.cli_label(cli)}"
                r = self.create(cli, name, f"{REGISTRY}/team/app:1", "--with-registry-auth",
                                "--no-resolve-image")
                self.assertEqual(r.returncode, 0, out(r))
                self.assertEqual(self.image_of(name), f"{REGISTRY}/team/app:1")

    def test_registry_down_warns_and_the_service_is_still_created(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"down{harness.cli_label(cli)}"
                image = f"{DEAD}/team/app:1"
                r = self.create(cli, name, image)
                self.assertEqual(r.returncode, 0, out(r))
                self.assertIn(self.warning(image), r.stderr.decode())
                self.assertEqual(self.image_of(name), image)

    def test_wrong_credentials_warn_and_keep_the_plain_name(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"nocreds{harness.cli_label(cli)}"
                image = f"{REGISTRY}/team/app:1"
                r = self.create(cli, name, image)  # no --with-registry-auth: no credentials
                self.assertEqual(r.returncode, 0, out(r))
                self.assertIn(self.warning(image), r.stderr.decode())
                self.assertEqual(self.image_of(name), image)

    def test_local_image_keeps_its_name_without_a_warning(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"local{harness.cli_label(cli)}"
                r = self.create(cli, name, LOCAL)
                self.assertEqual(r.returncode, 0, out(r))
                self.assertEqual(r.stderr.decode(), "")
                self.assertEqual(self.image_of(name), LOCAL)

    def test_service_update_image_pins_the_new_digest(self):
        r = self.create(harness.OTHER_CLI, "upd", LOCAL)
        self.assertEqual(r.returncode, 0, out(r))
        r = self.d.docker(["service", "update", "-d", "--with-registry-auth", "--image",
                           f"{REGISTRY}/team/multi", "upd"], cli=harness.OTHER_CLI)
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(self.image_of("upd"), f"{REGISTRY}/team/multi:latest@{self.multi}")
        self.assertEqual(self.placement_of("upd"), {"Platforms": [
            {"Architecture": "amd64", "OS": "linux"}, {"Architecture": "arm64", "OS": "linux"}]})

    def test_pinned_service_runs_from_the_pulled_image(self):
        r = self.d.docker(["pull", f"{REGISTRY}/team/app:1"])
        self.assertEqual(r.returncode, 0, out(r))
        r = self.d.docker(["service", "create", "-d", "--with-registry-auth", "--name", "runs",
                           f"{REGISTRY}/team/app:1", "sleep", "1d"])
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(self.image_of("runs"), f"{REGISTRY}/team/app:1@{self.app}")

        def running():
            tasks = self.d.api("GET", "/tasks", query={
                "filters": json.dumps({"service": {"runs": True}})}).json()
            return any(t["Status"]["State"] == "running" for t in tasks)
        self.assertTrue(harness.wait_until(running, 30), self.d.api(
            "GET", "/tasks").json())

    # ---- docker stack deploy --resolve-image ---------------------------------------------
    def deploy(self, cli, stack, image, mode):
        path = os.path.join(self.tmp, f"{stack}.yml")
        with open(path, "w") as f:
            f.write(COMPOSE.format(image=image))
        return self.d.docker(["stack", "deploy", "--with-registry-auth", "--resolve-image", mode,
                              "-c", path, stack], cli=cli)

    def test_stack_deploy_resolve_image_always_changed_never(self):
        image = f"{REGISTRY}/team/app:1"
        pinned = f"{image}@{self.app}"
        for cli in harness.DOCKER_CLIS:
            label = harness.cli_label(cli)
            with self.subTest(cli=cli):
                for mode, want in (("always", pinned), ("changed", pinned), ("never", image)):
                    stack = f"st{mode}{label}"
                    r = self.deploy(cli, stack, image, mode)
                    self.assertEqual(r.returncode, 0, out(r))
                    self.assertNotIn("could not be accessed", out(r))
                    self.assertEqual(self.image_of(f"{stack}_web"), want, mode)
                # "changed" on a redeploy of the same image keeps the pinned one without asking;
                # a changed image is resolved again.
                stack = f"stchanged{label}"
                r = self.deploy(cli, stack, image, "changed")
                self.assertEqual(r.returncode, 0, out(r))
                self.assertEqual(self.image_of(f"{stack}_web"), pinned)
                r = self.deploy(cli, stack, f"{REGISTRY}/team/multi", "changed")
                self.assertEqual(r.returncode, 0, out(r))
                self.assertEqual(self.image_of(f"{stack}_web"),
                                 f"{REGISTRY}/team/multi:latest@{self.multi}")
                # "never" with a registry down: no request, no warning.
                r = self.deploy(cli, f"stdown{label}", f"{DEAD}/x:1", "never")
                self.assertEqual(r.returncode, 0, out(r))
                self.assertNotIn("could not be accessed", out(r))
                # "always" with a registry down: the service is created with the plain name;
                # the CLI prints the warning on a redeploy (an update) only — Docker's CLI drops
                # a create's warnings in `stack deploy` (measured with 20.10 on Docker).
                for verb in ("create", "update"):
                    r = self.deploy(cli, f"stdownalways{label}", f"{DEAD}/x:1", "always")
                    self.assertEqual(r.returncode, 0, out(r))
                    self.assertEqual(self.image_of(f"stdownalways{label}_web"), f"{DEAD}/x:1")
                    if verb == "update":
                        self.assertIn(self.warning(f"{DEAD}/x:1"), r.stderr.decode())


if __name__ == "__main__":
    unittest.main()
