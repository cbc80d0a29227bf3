"""Issue 19's edges against a real capsuled: images in use, log lines, `--since`, one daemon per
socket and per data root.

Run: python3 -m unittest -v test_edges   (from tests/integration)
Addresses: 127.0.25.x. The image is Debian's busybox-static, imported by the test. Docker CLIs:
20.10, and 28.x when present (tests/harness/docker_cli.py).
"""

import calendar
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import busybox_image

SWARM_IP = "127.0.25.1"
PLAIN_IP = "127.0.25.2"


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def rfc3339(unix):
    """Unix seconds (float) → RFC 3339 in UTC with nanoseconds, as docker's --since takes it."""
    whole = int(unix)
    frac = int(round((unix - whole) * 1e9))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{frac:09d}Z"


def parse_rfc3339(text):
    """'2026-11-28T10:20:30.123456789Z' → Unix seconds (float)."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", text)
    assert m, text
    whole = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return whole + float("0." + (m.group(2) or "0"))


class SwarmEdges(unittest.TestCase):
    """One single-node swarm: images in use and task logs."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(SWARM_IP, name="edges", extra_args=["--hostname", "edge1"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        cls.tmp, cls.rootfs = busybox_image.class_rootfs_tar(cls, "cpedge-")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def import_image(self, name):
        self.ok(self.d.docker(["import", self.rootfs, name]))
        r = self.d.api("GET", f"/images/{name}/json")
        self.assertEqual(r.status, 200, r)
        return r.json()["Id"]

    def tasks(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def wait_running(self, service, timeout=60):
        def running():
            return [t for t in self.tasks(service) if t["Status"]["State"] == "running"]
        self.assertTrue(harness.wait_until(running, timeout),
                        json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())
        return running()

    def remove_service(self, name):
        sid = self.d.api("GET", f"/services/{name}").json()["ID"]
        self.ok(self.d.docker(["service", "rm", name]))

        def gone():
            r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [sid]})})
            return r.status == 404 or (r.status == 200 and r.json() == [])
        self.assertTrue(harness.wait_until(gone, 60), f"tasks of {name} still listed")

    def service_logs(self, name, args=(), cli=harness.OTHER_CLI):
        return self.ok(self.d.docker(["service", "logs"] + list(args) + [name], cli=cli))

    # ---- part 4: images in use -------------------------------------------------------------
    def test_image_rm_refused_while_a_task_uses_it_and_untagged_with_force(self):
        for n, cli in enumerate(harness.DOCKER_CLIS):
            with self.subTest(cli=cli):
                name = f"capsule/inuse:{n}"
                image_id = self.import_image(name)
                short_id = image_id[len("sha256:"):][:12]
                svc = f"inuse{n}"
                self.ok(self.d.docker(["service", "create", "-d", "--name", svc, name,
                                       "sh", "-c", 'trap "exit 0" TERM; sleep 1d & wait'],
                                      cli=cli))
                [task] = self.wait_running(svc)
                container = task["Status"]["ContainerStatus"]["ContainerID"][:12]

                r = self.d.docker(["image", "rm", name], cli=cli)
                self.assertNotEqual(r.returncode, 0, out(r))
                self.assertIn(
                    f'Error response from daemon: conflict: unable to remove repository '
                    f'reference "{name}" (must force) - container {container} is using its '
                    f'referenced image {short_id}', out(r))
                r = self.d.docker(["image", "rm", short_id], cli=cli)
                self.assertNotEqual(r.returncode, 0, out(r))
                self.assertIn(f"Error response from daemon: conflict: unable to delete {short_id} "
                              f"(cannot be forced) - image is being used by running container "
                              f"{container}", out(r))
                # Nothing changed: still tagged, the task still runs.
                self.assertEqual(self.d.api("GET", f"/images/{name}/json").status, 200)

                # -f removes the tag, as Docker does; the image stays (dangling) for the task.
                text = self.ok(self.d.docker(["image", "rm", "-f", name], cli=cli))
                self.assertEqual(text.strip(), f"Untagged: {name}")
                self.assertEqual(self.d.api("GET", f"/images/{name}/json").status, 404)
                kept = self.d.api("GET", f"/images/{image_id}/json")
                self.assertEqual(kept.status, 200, kept)
                self.assertEqual(kept.json()["RepoTags"], [])
                self.assertEqual([t["ID"] for t in self.wait_running(svc)], [task["ID"]])

                # Once the task is gone (its container removed) the image can be deleted.
                self.remove_service(svc)
                deadline = time.monotonic() + 30
                while True:
                    r = self.d.docker(["image", "rm", short_id], cli=cli)
                    if r.returncode == 0 or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                self.assertEqual(r.returncode, 0, out(r))
                self.assertEqual(r.stdout.decode().strip(), f"Deleted: {image_id}")

    # ---- part 5: log lines and --since -----------------------------------------------------
    def test_a_partial_line_is_its_own_line_once_the_task_goes_quiet(self):
        image = "capsule/edges-logs:1"
        self.import_image(image)
        self.ok(self.d.docker(["service", "create", "-d", "--name", "partial", image, "sh", "-c",
                               'trap "exit 0" TERM; printf first; sleep 3; echo second; '
                               'printf third; sleep 1d & wait']))
        [task] = self.wait_running("partial")
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                self.assertTrue(harness.wait_until(
                    lambda: "third" in self.service_logs("partial", cli=cli), 30))
                lines = self.service_logs("partial", cli=cli).splitlines()
                self.assertEqual([l.split("| ", 1)[1] for l in lines],
                                 ["first", "second", "third"], lines)
                self.assertTrue(all(re.match(r"partial\.1\.\w+@edge1\s+\| ", l) for l in lines),
                                lines)
        r = self.d.api("GET", f"/tasks/{task['ID']}/logs", query={"stdout": "1"})
        self.assertEqual(harness.demux_stream(r.body), b"first\nsecond\nthird\n")
        self.remove_service("partial")

    def test_since_is_honoured_and_a_bad_value_is_a_400(self):
        image = "capsule/edges-since:1"
        self.import_image(image)
        self.ok(self.d.docker(["service", "create", "-d", "--name", "since", image, "sh", "-c",
                               'trap "exit 0" TERM; echo early; sleep 3; echo late; '
                               'sleep 1d & wait']))
        [task] = self.wait_running("since")
        self.assertTrue(harness.wait_until(lambda: "late" in self.service_logs("since"), 30))
        stamped = self.service_logs("since", ["--timestamps", "--raw"])
        times = {}
        for line in stamped.splitlines():
            stamp, text = line.split(" ", 1)
            times[text.strip()] = parse_rfc3339(stamp)
        self.assertEqual(sorted(times), ["early", "late"], stamped)
        self.assertGreater(times["late"] - times["early"], 2, stamped)
        between = times["early"] + 1

        # The API takes the Unix seconds the docker CLIs send.
        for path in (f"/services/{task['ServiceID']}/logs", f"/tasks/{task['ID']}/logs"):
            r = self.d.api("GET", path, query={"stdout": "1", "since": f"{between:.9f}"})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(harness.demux_stream(r.body), b"late\n", path)
            r = self.d.api("GET", path, query={"stdout": "1", "since": "0"})
            self.assertEqual(harness.demux_stream(r.body), b"early\nlate\n", path)
        # Both docker CLIs (they convert the time to Unix seconds) and the capsule CLI.
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                text = self.service_logs("since", ["--since", rfc3339(between)], cli=cli)
                self.assertNotIn("early", text)
                self.assertIn("late", text)
        text = self.ok(self.d.capsule(["service", "logs", "--since", rfc3339(between), "since"]))
        self.assertNotIn("early", text)
        self.assertIn("late", text)

        # A bad value: Docker's message, as a 400 from the API.
        for path in (f"/services/{task['ServiceID']}/logs", f"/tasks/{task['ID']}/logs"):
            r = self.d.api("GET", path, query={"stdout": "1", "since": "yesterday"})
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.message(),
                             'failed to parse value as time or duration: "yesterday"')
        # The docker CLIs refuse it themselves with the same text; the capsule CLI shows the
        # daemon's.
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                r = self.d.docker(["service", "logs", "--since", "yesterday", "since"], cli=cli)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn('failed to parse value as time or duration: "yesterday"', out(r))
        r = self.d.capsule(["service", "logs", "--since", "yesterday", "since"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('failed to parse value as time or duration: "yesterday"', out(r))
        self.remove_service("since")


class OneDaemon(unittest.TestCase):
    """A second capsuled on the same socket or the same data root refuses to start."""

    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(PLAIN_IP, name="first")
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()  # with an etcd member: a second daemon must not touch it
        cls.tmp = tempfile.mkdtemp(prefix="cpone-", dir="/tmp")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_second(self, data_root, exec_root, sock, timeout=20):
        """Runs another capsuled; → (exit code or None if it was still running, its log)."""
        log_path = os.path.join(self.tmp, f"second-{time.monotonic_ns()}.log")
        with open(log_path, "wb") as log:
            p = subprocess.Popen([harness.CAPSULED, "--data-root", data_root, "--exec-root",
                                  exec_root, "-H", "unix://" + sock, "--etcd-binary",
                                  harness.ETCD],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 preexec_fn=harness.die_with_parent)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        with open(log_path, "rb") as f:
            return rc, f.read().decode(errors="replace")

    def assertFirstServes(self, sock_inode, etcd_pid):
        st = os.lstat(self.d.sock)
        self.assertEqual(st.st_ino, sock_inode, "the first daemon's socket was replaced")
        client = self.d.new_client()
        try:
            r = client.request("GET", "/_ping", version=None)
        finally:
            client.close()
        self.assertEqual((r.status, r.body), (200, b"OK"))
        self.assertEqual(self.d.api("GET", "/secrets").status, 200)
        self.assertTrue(harness.pid_alive(etcd_pid), "the first daemon's etcd was killed")
        self.assertTrue(self.d.running())

    def test_a_second_daemon_on_the_same_socket_refuses_and_the_first_keeps_serving(self):
        inode = os.lstat(self.d.sock).st_ino
        etcd = self.d.etcd_pid()
        root = tempfile.mkdtemp(prefix="s", dir=self.tmp)
        rc, log = self.run_second(os.path.join(root, "data"), os.path.join(root, "exec"),
                                  self.d.sock)
        self.assertIsNotNone(rc, "the second capsuled kept running:\n" + log)
        self.assertNotEqual(rc, 0, log)
        self.assertIn(f"{self.d.sock} is served by a running daemon", log)
        self.assertFalse(os.path.exists(os.path.join(root, "data")), "it touched its data root")
        self.assertFirstServes(inode, etcd)

    def test_a_second_daemon_on_the_same_data_root_refuses_and_the_first_keeps_serving(self):
        inode = os.lstat(self.d.sock).st_ino
        etcd = self.d.etcd_pid()
        root = tempfile.mkdtemp(prefix="r", dir=self.tmp)
        sock = os.path.join(root, "api.sock")
        rc, log = self.run_second(self.d.data_root, os.path.join(root, "exec"), sock)
        self.assertIsNotNone(rc, "the second capsuled kept running:\n" + log)
        self.assertNotEqual(rc, 0, log)
        self.assertIn(f"data root {self.d.data_root} is in use by another capsuled "
                      f"(pid {self.d.pid})", log)
        self.assertFalse(os.path.exists(sock), "it served its socket")
        self.assertFirstServes(inode, etcd)

    def test_a_stale_socket_of_a_dead_daemon_is_replaced(self):
        d = harness.Daemon("127.0.25.3", name="stale")
        self.addCleanup(d.close)
        d.kill9()
        self.assertTrue(os.path.exists(d.sock), "kill -9 leaves the socket file")
        d.start()  # the harness waits for /_ping on the new socket
        self.assertEqual(d.api("GET", "/_ping", version=None).body, b"OK")


if __name__ == "__main__":
    unittest.main()
