"""Images and logs routes against a real capsuled with the docker CLIs (20.10,
and 28.x when present).

Addresses: 127.0.15.x. The image is Debian's busybox-static, built by the test
(tests/harness/busybox_image.py); `docker save` archives are built by the test in both layouts
(docker 20.10: <id>/layer.tar; OCI: blobs/sha256/<hex>). Nothing contacts a registry: the CLIs
get a dead proxy, and the one pull names a dead port in this module's block.
"""

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.15.1"
SWARM_IP = "127.0.15.2"


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def tar_bytes(entries):
    """entries: (name, bytes|None for a dir) in order → an uncompressed tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = int(time.time())
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def oci_archive(path, layers, tag, env):
    """A `docker save` archive in the OCI layout of docker >= 25 (blobs/sha256/<hex>)."""
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "created": "2026-11-28T01:02:03.456Z",
                         "config": {"Env": env, "Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    entries = [("blobs", None), ("blobs/sha256", None)]
    for l in layers:
        entries.append(("blobs/sha256/" + hashlib.sha256(l).hexdigest(), l))
    entries.append(("blobs/sha256/" + config_hex, config))
    entries.append(("index.json", b'{"schemaVersion":2,"manifests":[]}'))
    manifest = [{"Config": "blobs/sha256/" + config_hex, "RepoTags": [tag],
                 "Layers": ["blobs/sha256/" + hashlib.sha256(l).hexdigest() for l in layers]}]
    entries.append(("manifest.json", json.dumps(manifest).encode()))
    entries.append(("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'))
    with open(path, "wb") as f:
        f.write(tar_bytes(entries))
    return "sha256:" + config_hex


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Images(unittest.TestCase):
    """Outside any swarm: images are per node and need none."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="img")
        cls.addClassCleanup(cls.d.close)
        cls.tmp = tempfile.mkdtemp(prefix="cpimg-", dir="/tmp")
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def fails(self, r):
        self.assertNotEqual(r.returncode, 0, out(r))
        return r.stderr.decode()

    def images_dir(self):
        return os.path.join(self.d.data_root, "images")

    def assertNoStaging(self):
        self.assertEqual(os.listdir(os.path.join(self.images_dir(), "tmp")), [])

    def inspect(self, name):
        r = self.d.api("GET", f"/images/{name}/json")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_import_with_both_clis(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                name = f"capsule/busybox:{harness.cli_label(cli)}"
                text = self.ok(self.d.docker(["import", "-c", "ENV PATH=/bin", "-c",
                                              'CMD ["/bin/sh"]', "-m", "from the test",
                                              self.rootfs, name], cli=cli))
                self.assertRegex(text.strip(), r"^sha256:[0-9a-f]{64}$")
                i = self.inspect(name)
                self.assertEqual(i["Id"], text.strip())
                self.assertEqual(i["RepoTags"], [name])
                self.assertEqual(i["Config"]["Env"], ["PATH=/bin"])
                self.assertEqual(i["Config"]["Cmd"], ["/bin/sh"])
                self.assertEqual(i["Comment"], "from the test")
                with open(self.rootfs, "rb") as f:
                    diff = "sha256:" + hashlib.sha256(f.read()).hexdigest()
                self.assertEqual(i["RootFS"]["Layers"], [diff])
                # The rootfs is unpacked with modes intact.
                hexid = i["Id"].split(":")[1]
                busybox = os.path.join(self.images_dir(), "sha256", hexid, "rootfs/bin/busybox")
                self.assertEqual(os.stat(busybox).st_mode & 0o7777, 0o755)
                self.assertEqual(os.readlink(os.path.join(os.path.dirname(busybox), "sh")),
                                 "busybox")
                # docker image inspect prints the same document.
                shown = json.loads(self.ok(self.d.docker(["image", "inspect", name], cli=cli)))
                self.assertEqual(shown[0]["Id"], i["Id"])
        self.assertNoStaging()

    def test_import_from_stdin_and_untagged(self):
        with open(self.rootfs, "rb") as f:
            data = f.read()
        text = self.ok(self.d.docker(["import", "-"], input=data, cli=harness.DOCKER_20))
        image_id = text.strip()
        self.assertEqual(self.inspect(image_id)["RepoTags"], [])
        listed = self.d.api("GET", "/images/json").json()
        mine = [i for i in listed if i["Id"] == image_id]
        self.assertEqual(mine[0]["RepoTags"], ["<none>:<none>"])
        self.ok(self.d.docker(["image", "rm", image_id[7:19]], cli=harness.OTHER_CLI))

    def test_image_ls_with_both_clis(self):
        self.ok(self.d.docker(["import", self.rootfs, "capsule/ls:1"]))
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                text = self.ok(self.d.docker(["image", "ls"], cli=cli))
                lines = text.splitlines()
                self.assertRegex(lines[0], r"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE")
                row = [l for l in lines if l.startswith("capsule/ls ")]
                self.assertEqual(len(row), 1, text)
                self.assertRegex(row[0], r"^capsule/ls\s+1\s+[0-9a-f]{12}\s+.*ago\s+\d")
                ids = self.ok(self.d.docker(["image", "ls", "-q", "--no-trunc"], cli=cli))
                self.assertIn(self.inspect("capsule/ls:1")["Id"], ids.split())

    def test_load_docker_2010_layout_with_both_clis(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                label = harness.cli_label(cli)
                tag = f"capsule/saved:{label}"
                archive = busybox_image.save_archive(os.path.join(self.tmp, f"save-{label}.tar"),
                                                     self.rootfs, tag)
                text = self.ok(self.d.docker(["load", "-i", archive], cli=cli))
                self.assertIn(f"Loaded image: {tag}", text)
                i = self.inspect(tag)
                self.assertEqual(i["Config"]["Env"], ["PATH=/bin"])
                self.assertEqual(i["Created"], "2026-11-28T00:00:00Z")
        self.assertNoStaging()

    def test_load_oci_layout_applies_whiteouts(self):
        lower = tar_bytes([("etc", None), ("etc/old", b"old"), ("etc/keep", b"keep"),
                           ("opaque", None), ("opaque/gone", b"x")])
        upper = tar_bytes([("etc", None), ("etc/.wh.old", b""), ("etc/new", b"new"),
                           ("opaque", None), ("opaque/.wh..wh..opq", b""),
                           ("opaque/fresh", b"y")])
        archive = os.path.join(self.tmp, "oci.tar")
        image_id = oci_archive(archive, [lower, upper], "capsule/oci:1", ["A=1"])
        with open(archive, "rb") as f:
            text = self.ok(self.d.docker(["load"], input=f.read()))
        self.assertIn("Loaded image: capsule/oci:1", text)
        i = self.inspect("capsule/oci:1")
        self.assertEqual(i["Id"], image_id)
        rootfs = os.path.join(self.images_dir(), "sha256", image_id[7:], "rootfs")
        self.assertEqual(sorted(os.listdir(os.path.join(rootfs, "etc"))), ["keep", "new"])
        self.assertEqual(os.listdir(os.path.join(rootfs, "opaque")), ["fresh"])

    def test_rm_untags_then_deletes_and_404s(self):
        self.ok(self.d.docker(["import", self.rootfs, "capsule/rm:1"]))
        image_id = self.inspect("capsule/rm:1")["Id"]
        with open(self.rootfs, "rb") as f:
            data = f.read()
        r = self.d.api("POST", "/images/create",
                       query={"fromSrc": "-", "repo": "capsule/rm:2"}, body=data,
                       headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 200, r)
        text = self.ok(self.d.docker(["image", "rm", "capsule/rm:1"], cli=harness.OTHER_CLI))
        self.assertIn("Untagged: capsule/rm:1", text)
        self.assertIn(f"Deleted: {image_id}", text)
        self.assertFalse(os.path.exists(os.path.join(self.images_dir(), "sha256", image_id[7:])))
        err = self.fails(self.d.docker(["image", "rm", "capsule/rm:1"], cli=harness.OTHER_CLI))
        self.assertIn("No such image: capsule/rm:1", err)
        err = self.fails(self.d.docker(["image", "inspect", "capsule/nope:1"],
                                       cli=harness.DOCKER_20))
        self.assertIn("No such image: capsule/nope:1", err)
        r = self.d.api("DELETE", "/images/capsule/nope:1")
        self.assertEqual((r.status, r.message()), (404, "No such image: capsule/nope:1"))
        self.ok(self.d.docker(["image", "rm", "capsule/rm:2"], cli=harness.DOCKER_20))

    def test_pull_from_a_registry_that_is_down_fails_with_dockers_error(self):
        # Pulling works (test_pull.py); here the only registry named is a dead port in this
        # module's own block, so nothing outside it is contacted.
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                err = self.fails(self.d.docker(["pull", "127.0.15.9:1/x:1"], cli=cli))
                self.assertIn('Get "https://127.0.15.9:1/v2/x/manifests/1": dial tcp '
                              "127.0.15.9:1: connect: connection refused", err)

    def test_distribution_of_an_imported_name_answers_without_a_digest(self):
        # A name imported on this node is its own: no registry is asked (docs/features.md);
        # names resolved through a registry are test_resolve_image.py's.
        self.ok(self.d.docker(["import", self.rootfs, "127.0.15.9:1/capsule/dist:1"]))
        r = self.d.api("GET", "/distribution/127.0.15.9:1/capsule/dist:1/json")
        self.assertEqual(r.status, 200, r.message())
        self.assertEqual(r.json(), {"Descriptor": {}, "Platforms": []})
        # Control: a name the node does not hold goes to its registry (a dead port in this
        # module's own block).
        r = self.d.api("GET", "/distribution/127.0.15.9:1/capsule/other:1/json")
        self.assertEqual(r.status, 500)
        self.assertIn("connection refused", r.message())

    def test_bad_uploads_leave_nothing(self):
        before = sorted(os.listdir(os.path.join(self.images_dir(), "sha256")))
        with open(self.rootfs, "rb") as f:
            data = f.read()
        for body, want in ((data[:len(data) // 2], "unexpected end of archive"),
                           (tar_bytes([("../escape", b"x")]), "escapes the root file system")):
            r = self.d.api("POST", "/images/create", query={"fromSrc": "-", "repo": "bad:1"},
                           body=body, headers={"Content-Type": "application/x-tar"})
            self.assertEqual(r.status, 400, r)
            self.assertIn(want, r.message())
        r = self.d.api("POST", "/images/load", body=tar_bytes([("x", b"y")]),
                       headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 400, r)
        self.assertIn("manifest.json", r.message())
        self.assertEqual(sorted(os.listdir(os.path.join(self.images_dir(), "sha256"))), before)
        self.assertNoStaging()
        self.assertFalse(os.path.exists(os.path.join(self.d.data_root, "escape")))

    def test_a_large_upload_streams_to_disk(self):
        big = os.urandom(96 << 20)
        rootfs = tar_bytes([("big", None), ("big/blob", big)])
        del big
        path = os.path.join(self.tmp, "big.tar")
        with open(path, "wb") as f:
            f.write(rootfs)
        del rootfs
        before = vm_hwm_kb(self.d.pid)
        self.ok(self.d.docker(["import", path, "capsule/big:1"]))
        grown_mb = (vm_hwm_kb(self.d.pid) - before) / 1024
        self.assertLess(grown_mb, 48, f"capsuled's peak RSS grew by {grown_mb:.0f} MB")
        self.assertEqual(self.inspect("capsule/big:1")["Size"], 96 << 20)
        self.ok(self.d.docker(["image", "rm", "capsule/big:1"]))
        os.unlink(path)

    def test_images_survive_a_restart(self):
        self.ok(self.d.docker(["import", self.rootfs, "capsule/keep:1"]))
        image_id = self.inspect("capsule/keep:1")["Id"]
        self.d.restart()
        self.assertEqual(self.inspect("capsule/keep:1")["Id"], image_id)


class LogsRoutes(unittest.TestCase):
    """The logs routes' answers that need no running task (a manager API)."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(SWARM_IP, name="logs")
        cls.addClassCleanup(cls.d.close)

    def test_not_in_a_swarm_is_503_then_404_and_400(self):
        r = self.d.api("GET", "/services/x/logs", query={"stdout": "1"})
        self.assertEqual(r.status, 503, r)
        self.d.swarm_init()
        r = self.d.api("GET", "/services/nosuch/logs", query={"stdout": "1", "details": "1"})
        self.assertEqual((r.status, r.message()), (404, "service nosuch not found"))
        r = self.d.api("GET", "/tasks/nosuch/logs", query={"stderr": "1"})
        self.assertEqual((r.status, r.message()), (404, "task nosuch not found"))
        r = self.d.api("GET", "/services/nosuch/logs")
        self.assertEqual((r.status, r.message()),
                         (400, "Bad parameters: you must choose at least one stream"))
        # The server is still healthy for plain requests afterwards.
        self.assertEqual(self.d.api("GET", "/_ping").status, 200)


if __name__ == "__main__":
    unittest.main()
