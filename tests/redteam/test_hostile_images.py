"""Red team, issue 11 part 3: a hostile image against a real capsuled (runc, overlay, the
docker CLI). Every image is built here with Python's tarfile: nothing is pulled.

Attacks, each with a positive control (the same probe on a benign image shows the difference,
or a bounded wait is shown to catch a hang):
  - etc/passwd / etc/group that is a FIFO, or a symlink to a FIFO: the task is REJECTED with
    "invalid image: etc/passwd is not a regular file" at once (before: its preparation blocked
    forever) and the node keeps serving; a passwd symlink to a host path reads the rootfs' file;
  - device nodes in a layer are never created (not in the image's rootfs, not in the task);
  - setuid/setgid bits are kept as in the layer (as Docker), and tasks run with NoNewPrivs;
  - `docker load` whose manifest.json, config or layer is a FIFO, device or escaping symlink,
    and tars with a NUL byte in a PAX path/linkpath or a GNU long name: 400 at once, nothing
    staged, and the API keeps serving loads;
  - `docker swarm leave` and SIGTERM finish in bounded time while a task's preparation meets a
    hostile image, and `swarm leave` also while an executor call that stops a task hangs (a
    runc wrapper whose `kill` blocks, holding that task's executor lock, as a call stuck in the
    kernel would); the task is removed once the call returns.

Run: cd tests/redteam && PYTHONPATH=.. python3 -m unittest -v test_hostile_images
Addresses: 127.0.32.x (own block, no lock needed).
"""

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.32.1"
IP_SIGTERM = "127.0.32.2"
IP_STUCK = "127.0.32.3"
BENIGN = "redteam/benign:1"
# The bound a check waits for something that must not hang (a hang is caught, not waited out).
BOUND = 30


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def busybox_entries():
    """The busybox rootfs tar's members (TarInfo, data) without etc/passwd and etc/group."""
    tmp = tempfile.mkdtemp(prefix="cphi-", dir="/tmp")
    try:
        path = busybox_image.build_rootfs_tar(os.path.join(tmp, "rootfs.tar"))
        entries = []
        with tarfile.open(path) as tar:
            for m in tar.getmembers():
                if m.name in ("etc/passwd", "etc/group"):
                    continue
                data = tar.extractfile(m).read() if m.isreg() else None
                entries.append((m, data))
        return entries
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def special(name, kind, link="", mode=0o644, major=0, minor=0):
    info = tarfile.TarInfo(name)
    info.type = {"fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
                 "symlink": tarfile.SYMTYPE, "dir": tarfile.DIRTYPE}[kind]
    info.linkname = link
    info.mode = mode
    info.devmajor, info.devminor = major, minor
    info.mtime = int(time.time())
    return info, None


def regular(name, data, mode=0o644, uid=0, gid=0):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = int(time.time())
    return info, data


def tar_of(entries, fmt=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt or tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def save_archive(files):
    """A `docker save` archive (20.10 layout): files = {name: (TarInfo, data)} or bytes."""
    entries = []
    for name, v in files.items():
        entries.append(v if isinstance(v, tuple) else regular(name, v))
    return tar_of(entries)


def saved_parts(layer, tag):
    """(config bytes, manifest bytes) of a one-layer image; layer file 'layer.tar'."""
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2026-12-06T00:00:00Z",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps([{"Config": "config.json", "RepoTags": [tag],
                            "Layers": ["layer.tar"]}]).encode()
    return config, manifest


def bounded(fn, seconds):
    """Runs fn() on a thread; (True, result) when it returned within `seconds`, else
    (False, None): a hang is reported, never waited out."""
    box = {}

    def run():
        box["r"] = fn()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    return (not t.is_alive()), box.get("r")


def sigterm_exit_within(proc, seconds):
    """SIGTERM; True when the process exited within `seconds` (it is SIGKILLed otherwise)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return False


class HostileImages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="hi", extra_args=["--hostname", "hinode"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.base = busybox_entries()
        cls.import_image(BENIGN, [regular("etc/passwd", busybox_image.PASSWD.encode()),
                                  regular("etc/group", busybox_image.GROUP.encode())])

    @classmethod
    def import_image(cls, name, extra):
        data = tar_of(cls.base + extra)
        r = cls.d.docker(["import", "-c", "ENV PATH=/bin", "-", name], input=data)
        if r.returncode != 0:
            raise AssertionError(f"docker import {name}: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def tasks(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def service(self, name, image, cmd, user=None):
        args = ["service", "create", "-d", "--name", name, "--restart-condition", "none"]
        if user:
            args += ["--user", user]
        self.ok(self.d.docker(args + [image] + cmd))
        self.addCleanup(self.d.docker, ["service", "rm", name])

    def wait_state(self, service, states, timeout=BOUND):
        """The service's first task once its state is one of `states` (fails after timeout)."""
        found = {}

        def reached():
            ts = self.tasks(service)
            if ts and ts[0]["Status"]["State"] in states:
                found["t"] = ts[0]
                return True
            return False
        self.assertTrue(harness.wait_until(reached, timeout),
                        f"{service}: no task in {states} after {timeout}s: "
                        + json.dumps(self.tasks(service), indent=1)[:2000] + self.d.log_tail())
        return found["t"]

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return harness.demux_stream(r.body).decode(errors="replace")

    def run_and_log(self, service, image, script, user=None):
        self.service(service, image, ["sh", "-c", script], user=user)
        t = self.wait_state(service, ("complete", "failed", "rejected"), timeout=60)
        self.assertEqual(t["Status"]["State"], "complete", json.dumps(t, indent=1))
        return self.task_log(t["ID"])

    def image_rootfs(self, name):
        r = self.d.api("GET", f"/images/{name}/json")
        self.assertEqual(r.status, 200, r)
        hexid = r.json()["Id"].split(":", 1)[1]
        return os.path.join(self.d.data_root, "images", "sha256", hexid, "rootfs")

    def load(self, archive):
        """POST /images/load, bounded: (status, message)."""
        def call():
            c = self.d.new_client()
            try:
                r = c.request("POST", "/images/load", body=archive,
                              headers={"Content-Type": "application/x-tar"})
                return r.status, r.message() if r.status != 200 else r.text
            finally:
                c.close()
        done, result = bounded(call, BOUND)
        self.assertTrue(done, f"docker load hung for {BOUND}s\n" + self.d.log_tail())
        return result

    def assertServing(self):
        self.assertEqual(self.d.api("GET", "/_ping", version=None).status, 200)

    # ---- etc/passwd and etc/group ----------------------------------------------------------
    def test_fifo_passwd_or_group_rejects_the_task_at_once(self):
        cases = {
            "fifo-passwd": ([special("etc/passwd", "fifo"),
                             regular("etc/group", busybox_image.GROUP.encode())],
                            "invalid image: etc/passwd is not a regular file"),
            "fifo-group": ([regular("etc/passwd", busybox_image.PASSWD.encode()),
                            special("etc/group", "fifo")],
                           "invalid image: etc/group is not a regular file"),
            "link-to-fifo": ([special("etc/pipe", "fifo"),
                              special("etc/passwd", "symlink", link="/etc/pipe"),
                              regular("etc/group", busybox_image.GROUP.encode())],
                             "invalid image: etc/passwd is not a regular file"),
        }
        for name, (extra, err) in cases.items():
            with self.subTest(image=name):
                self.import_image(f"hostile/{name}:1", extra)
                self.service(name, f"hostile/{name}:1", ["true"])
                t = self.wait_state(name, ("rejected", "running", "complete", "failed"))
                self.assertEqual(t["Status"]["State"], "rejected", json.dumps(t, indent=1))
                self.assertEqual(t["Status"]["Err"], err)
                self.assertServing()
        # Positive control: the same service on the benign image completes.
        t_log = self.run_and_log("benign-passwd", BENIGN, "id -u", user="app")
        self.assertEqual(t_log.strip(), "2000")

    def test_passwd_symlink_to_a_host_path_reads_the_rootfs(self):
        host_dir = tempfile.mkdtemp(prefix="cphi-host-", dir="/tmp")
        self.addCleanup(shutil.rmtree, host_dir, True)
        host_passwd = os.path.join(host_dir, "passwd")
        with open(host_passwd, "w") as f:
            f.write("hostonly:x:4242:4242::/:/bin/sh\n")
        self.import_image("hostile/link-passwd:1", [
            special("etc/passwd", "symlink", link=host_passwd),
            regular("etc/group", busybox_image.GROUP.encode())])
        self.service("link-passwd", "hostile/link-passwd:1", ["id", "-u"], user="hostonly")
        t = self.wait_state("link-passwd", ("rejected", "running", "complete", "failed"))
        self.assertEqual(t["Status"]["State"], "rejected", json.dumps(t, indent=1))
        self.assertEqual(t["Status"]["Err"],
                         "unable to find user hostonly: no matching entries in passwd file")
        # Positive control: the same link whose target exists inside the image is followed
        # there, and the user resolves.
        self.import_image("hostile/link-inside:1", [
            regular(host_passwd.lstrip("/"), b"hostonly:x:4242:4242::/:/bin/sh\n"),
            special("etc/passwd", "symlink", link=host_passwd),
            regular("etc/group", busybox_image.GROUP.encode())])
        log = self.run_and_log("link-inside", "hostile/link-inside:1", "id -u", user="hostonly")
        self.assertEqual(log.strip(), "4242")

    # ---- device nodes, setuid ----------------------------------------------------------------
    def test_device_nodes_are_never_created(self):
        # /dev/mem (1,1) and /dev/sda (8,0) planted outside /dev (runc mounts its own /dev).
        self.import_image("hostile/devices:1", [
            regular("etc/passwd", busybox_image.PASSWD.encode()),
            regular("etc/group", busybox_image.GROUP.encode()),
            special("mem", "chr", mode=0o666, major=1, minor=1),
            special("disk", "blk", mode=0o666, major=8, minor=0),
            regular("control", b"regular\n")])
        rootfs = self.image_rootfs("hostile/devices:1")
        self.assertFalse(os.path.lexists(os.path.join(rootfs, "mem")))
        self.assertFalse(os.path.lexists(os.path.join(rootfs, "disk")))
        log = self.run_and_log(
            "devices", "hostile/devices:1",
            "for f in /mem /disk /control; do test -e $f && echo $f present || echo $f absent; "
            "done")
        self.assertIn("/mem absent", log)
        self.assertIn("/disk absent", log)
        # Positive control: the regular file of the same layer is there, so the probe sees files.
        self.assertIn("/control present", log)
        self.assertTrue(os.path.exists(os.path.join(rootfs, "control")))

    def test_setuid_bits_are_kept_as_in_the_layer_and_tasks_run_with_no_new_privs(self):
        self.import_image("hostile/suid:1", [
            regular("etc/passwd", busybox_image.PASSWD.encode()),
            regular("etc/group", busybox_image.GROUP.encode()),
            regular("bin/suid", b"#!/bin/sh\n", mode=0o4755),
            regular("bin/sgid", b"#!/bin/sh\n", mode=0o2755, gid=3000),
            regular("bin/plain", b"#!/bin/sh\n", mode=0o755),
            special("shared", "dir", mode=0o1777)])
        rootfs = self.image_rootfs("hostile/suid:1")
        modes = {n: oct(os.lstat(os.path.join(rootfs, n)).st_mode & 0o7777)
                 for n in ("bin/suid", "bin/sgid", "bin/plain", "shared")}
        self.assertEqual(modes, {"bin/suid": "0o4755", "bin/sgid": "0o2755",
                                 "bin/plain": "0o755", "shared": "0o1777"})
        log = self.run_and_log(
            "suid", "hostile/suid:1",
            "stat -c '%n %a' /bin/suid /bin/sgid /bin/plain; grep NoNewPrivs /proc/self/status",
            user="app")
        self.assertIn("/bin/suid 4755", log)
        self.assertIn("/bin/sgid 2755", log)
        # Positive control: a file without the bits shows none.
        self.assertIn("/bin/plain 755", log)
        # The bits cannot raise a task's privileges: execve never grants them (NoNewPrivs).
        self.assertRegex(log, r"NoNewPrivs:\s+1")

    # ---- docker load ---------------------------------------------------------------------------
    def test_load_with_a_fifo_device_or_symlink_as_manifest_config_or_layer_is_400(self):
        layer = tar_of([regular("hello", b"hi\n")])
        config, manifest = saved_parts(layer, "loaded/hostile:1")
        good = {"layer.tar": layer, "config.json": config, "manifest.json": manifest}
        cases = [
            ("manifest.json", special("manifest.json", "fifo"),
             "invalid archive: manifest.json is not a regular file"),
            ("config.json", special("config.json", "fifo"),
             "invalid archive: config.json is not a regular file"),
            ("layer.tar", special("layer.tar", "fifo"),
             "invalid archive: layer.tar is not a regular file"),
            ("manifest.json", special("manifest.json", "chr", major=1, minor=5),
             "invalid archive: no manifest.json (not a `docker save` archive)"),
            ("layer.tar", special("layer.tar", "chr", major=1, minor=5),
             "invalid archive: open layer.tar: No such file or directory"),
            ("config.json", special("config.json", "symlink", link="/etc/passwd"),
             "invalid archive: open config.json: No such file or directory"),
            ("layer.tar", special("layer.tar", "symlink", link="../../../../../dev/zero"),
             "invalid archive: open layer.tar: No such file or directory"),
        ]
        for name, entry, message in cases:
            with self.subTest(file=name, kind=entry[0].type):
                files = dict(good)
                files[name] = entry
                status, text = self.load(save_archive(files))
                self.assertEqual((status, text), (400, message))
        staging = os.path.join(self.d.data_root, "images", "tmp")
        self.assertEqual(os.listdir(staging), [])
        # Positive control (and no hung upload slot): the same archive, all regular, loads
        # through the CLI, several times in a row.
        archive = os.path.join(self.d.root, "good.tar")
        with open(archive, "wb") as f:
            f.write(save_archive(good))
        for _ in range(3):
            self.assertIn("Loaded image: loaded/hostile:1",
                          self.ok(self.d.docker(["load", "-i", archive], timeout=BOUND)))
        self.assertServing()

    def test_nul_bytes_in_pax_or_gnu_names_are_refused(self):
        pax_path = regular("x", b"d")
        pax_path[0].pax_headers = {"path": "etc/passwd\x00/../../x"}
        pax_link = special("l", "symlink", link="target")
        pax_link[0].pax_headers = {"linkpath": "/etc/shadow\x00../x"}
        cases = [
            (tar_of([pax_path], tarfile.PAX_FORMAT),
             "invalid tar archive: NUL byte in PAX record path"),
            (tar_of([pax_link], tarfile.PAX_FORMAT),
             "invalid tar archive: NUL byte in PAX record linkpath"),
            (tar_of([regular("a" * 120 + "\x00/../../x", b"x")], tarfile.GNU_FORMAT),
             "invalid tar archive: NUL byte inside a GNU long name"),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                # As a `docker load` archive and as a `docker import` rootfs.
                self.assertEqual(self.load(data), (400, message))
                r = self.d.api("POST", "/images/create", body=data,
                               query={"fromSrc": "-", "repo": "nul/x", "tag": "1"},
                               headers={"Content-Type": "application/x-tar"})
                self.assertEqual((r.status, r.message()), (400, message))
        # Positive control: the same PAX path without the NUL is imported.
        ok_path = regular("x", b"d")
        ok_path[0].pax_headers = {"path": "etc/passwd/../../x"}
        r = self.d.api("POST", "/images/create", body=tar_of([ok_path], tarfile.PAX_FORMAT),
                       query={"fromSrc": "-", "repo": "nul/ok", "tag": "1"},
                       headers={"Content-Type": "application/x-tar"})
        self.assertEqual(r.status, 200, r)
        self.assertServing()


class BoundedShutdown(unittest.TestCase):
    """swarm leave and SIGTERM while a task's preparation meets a hostile image. Before the fix
    the preparation blocked forever opening the FIFO and both waited on it for good."""

    def test_positive_control_the_bound_catches_a_process_that_ignores_sigterm(self):
        p = subprocess.Popen([sys.executable, "-c",
                              "import signal, time; signal.signal(signal.SIGTERM, "
                              "signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"],
                             stdout=subprocess.PIPE)
        self.addCleanup(p.stdout.close)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        self.assertFalse(sigterm_exit_within(p, 2))

    def test_leave_and_sigterm_finish_while_a_task_prepares_on_a_fifo_image(self):
        d = harness.Daemon(IP_SIGTERM, name="hterm", extra_args=["--hostname", "htnode"])
        self.addCleanup(d.close)
        d.swarm_init()
        entries = busybox_entries() + [special("etc/passwd", "fifo"), special("etc/group", "fifo")]
        r = d.docker(["import", "-", "hostile/fifo:1"], input=tar_of(entries))
        self.assertEqual(r.returncode, 0, out(r))
        for i in range(3):
            r = d.docker(["service", "create", "-d", "--name", f"f{i}", "--replicas", "2",
                          "hostile/fifo:1", "true"])
            self.assertEqual(r.returncode, 0, out(r))
        # Tasks reach this node's agent and meet the image.
        self.assertTrue(harness.wait_until(
            lambda: b"etc/passwd is not a regular file" in d.log_bytes(), BOUND),
            d.log_tail())
        start = time.monotonic()
        done, r = bounded(lambda: d.docker(["swarm", "leave", "--force"], timeout=BOUND + 30),
                          BOUND)
        self.assertTrue(done, "swarm leave hung\n" + d.log_tail())
        self.assertEqual(r.returncode, 0, out(r))
        # Back in a swarm with the same tasks, then SIGTERM.
        d.swarm_init()
        for i in range(3):
            d.docker(["service", "create", "-d", "--name", f"g{i}", "hostile/fifo:1", "true"])
        time.sleep(1)
        self.assertTrue(sigterm_exit_within(d.proc, BOUND), "SIGTERM did not end capsuled\n"
                        + d.log_tail())
        self.assertEqual(d.proc.returncode, 0, d.log_tail())
        print(f"leave + restart + SIGTERM took {time.monotonic() - start:.1f}s", file=sys.stderr)

    def test_leave_finishes_while_the_executor_call_stopping_a_task_hangs(self):
        d = harness.Daemon(IP_STUCK, name="hstuck", start=False)
        self.addCleanup(d.close)
        # runc, except that `kill` waits while the marker exists: the executor's Stop of the
        # task hangs with the task's executor lock held (what a kernel call stuck on a hung
        # mount does). The wrapper lives under the daemon's root, so close() kills it by PID.
        marker = os.path.join(d.root, "hang-kill")
        wrapper = os.path.join(d.root, "runc-wrapper")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "for a in \"$@\"; do\n"
                    f"  if [ \"$a\" = kill ]; then while [ -e {marker} ]; do sleep 0.2; done; fi\n"
                    "done\n"
                    f"exec {harness.RUNC} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        d.extra_args = ["--hostname", "hsnode", "--runc-binary", wrapper]
        d.start()
        d.swarm_init()
        rootfs = busybox_image.build_rootfs_tar(os.path.join(d.root, "rootfs.tar"))
        r = d.docker(["import", rootfs, BENIGN])
        self.assertEqual(r.returncode, 0, out(r))
        r = d.docker(["service", "create", "-d", "--name", "stuck", BENIGN, "sh", "-c",
                      'trap "exit 0" TERM; sleep 1d & wait'])
        self.assertEqual(r.returncode, 0, out(r))
        runc_root = os.path.join(d.exec_root, "runc")

        def containers():
            r = subprocess.run([harness.RUNC, "--root", runc_root, "list", "-q"],
                               capture_output=True)
            return r.stdout.decode().split()
        self.assertTrue(harness.wait_until(lambda: len(containers()) == 1, BOUND), d.log_tail())

        open(marker, "w").close()
        start = time.monotonic()
        done, r = bounded(lambda: d.docker(["swarm", "leave", "--force"], timeout=BOUND + 90),
                          BOUND)
        took = time.monotonic() - start
        self.assertTrue(done, "swarm leave waited on the stuck executor call\n" + d.log_tail())
        self.assertEqual(r.returncode, 0, out(r))
        # The control that the call really hung: the leave went on without the task, which is
        # still there (its container exists) until the call returns.
        self.assertIn(b"removal not finished", d.log_bytes(), d.log_tail())
        self.assertEqual(len(containers()), 1)
        os.unlink(marker)  # the stuck call returns: its thread finishes the removal
        self.assertTrue(harness.wait_until(lambda: not containers(), BOUND), d.log_tail())
        print(f"leave with a stuck executor call took {took:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
