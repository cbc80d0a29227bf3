"""Cluster-wide logs (issue 15 part 4): `docker service logs` and /tasks/{id}/logs on the
manager return the lines of tasks on other nodes, through the manager's log broker (each
worker's agent streams its tasks' lines over its mutual-TLS session).

Run: PYTHONPATH=.. python3 -m unittest -v test_cluster_logs   (from tests/integration)
Addresses: 127.0.46.1 (manager "mgr"), .2 (w1), .3 (w2). Heartbeat 1 s.
One 2-replica service, kept off the manager by a hostname constraint, runs one task on each
worker and prints "tick N" every second.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import busybox_image

MGR_IP, W1_IP, W2_IP = "127.0.46.1", "127.0.46.2", "127.0.46.3"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
SERVICE = "ticker"
TICK = ["sh", "-c",
        'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done & wait']
# The docker CLIs' service logs line: <service>.<slot>.<task>@<node hostname>  | <message>
LINE = re.compile(r"^(\S+?)\.(\d+)\.(\w+)@(\S+?)\s+\| ?(.*)$")
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"
# The API's stamped message, and the CLIs' --timestamps line (the stamp comes first).
STAMPED = re.compile(rf"^({STAMP}) (tick \d+)$")
CLI_STAMPED = re.compile(rf"^({STAMP}) \S+?\.\d+\.\w+@(\S+?)\s+\| ?(tick \d+)$")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def parse(text):
    """[(slot, task, node, message)] of the CLI's lines; a line that does not parse fails."""
    rows = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m is None:
            raise AssertionError(f"unexpected log line {line!r} in:\n{text}")
        rows.append((int(m.group(2)), m.group(3), m.group(4), m.group(5)))
    return rows


def ticks(rows, node):
    return [int(msg.split()[1]) for _, _, n, msg in rows if n == node and msg.startswith("tick ")]


class ClusterLogs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cpcl-", dir="/tmp")
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.m = harness.Daemon(MGR_IP, name="m", extra_args=["--hostname", "mgr"])
        cls.addClassCleanup(cls.m.close)
        r = cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                          MANAGER_ADDR, "--dispatcher-heartbeat", "1s"])
        if r.returncode != 0:
            raise AssertionError(out(r))
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w = {}
        for name, ip in (("w1", W1_IP), ("w2", W2_IP)):
            w = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
            cls.addClassCleanup(w.close)
            r = w.docker(["swarm", "join", "--token", token, "--advertise-addr", ip,
                          "--listen-addr", f"{ip}:{harness.SWARM_PORT}", MANAGER_ADDR])
            if r.returncode != 0:
                raise AssertionError(out(r) + w.log_tail())
            cls.w[name] = w
        cls.ids = {n: d.api("GET", "/info").json()["Swarm"]["NodeID"]
                   for n, d in (("mgr", cls.m), ("w1", cls.w["w1"]), ("w2", cls.w["w2"]))}
        for d in (cls.m, cls.w["w1"], cls.w["w2"]):
            r = d.docker(["import", cls.rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(out(r) + d.log_tail())
        r = cls.m.docker(["service", "create", "-d", "--name", SERVICE, "--replicas", "2",
                          "--constraint", "node.hostname!=mgr", IMAGE] + TICK)
        if r.returncode != 0:
            raise AssertionError(out(r))
        want = sorted([cls.ids["w1"], cls.ids["w2"]])
        if not harness.wait_until(lambda: cls.running_nodes() == want, 60):
            raise AssertionError(json.dumps(cls.tasks(), indent=1)[:3000])

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------
    @classmethod
    def tasks(cls):
        r = cls.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [SERVICE]})})
        return r.json() if r.status == 200 else []

    @classmethod
    def running_nodes(cls):
        return sorted(t["NodeID"] for t in cls.tasks()
                      if t["Status"]["State"] == "running" and t["DesiredState"] == "running")

    def running_task_on(self, name):
        for t in self.tasks():
            if (t["NodeID"] == self.ids[name] and t["Status"]["State"] == "running"
                    and t["DesiredState"] == "running"):
                return t
        self.fail(f"no running task on {name}: {json.dumps(self.tasks(), indent=1)[:2000]}")

    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.m.log_tail())
        return r.stdout.decode()

    def service_logs(self, args=(), cli=harness.DOCKER_20, timeout=60):
        return self.ok(self.m.docker(["service", "logs"] + list(args) + [SERVICE], cli=cli,
                                     timeout=timeout))

    def wait_ticks(self, n):
        """Waits until both workers' tasks printed at least n lines."""
        def enough():
            rows = parse(self.service_logs())
            return all(len(ticks(rows, node)) >= n for node in ("w1", "w2"))
        self.assertTrue(harness.wait_until(enough, 60), self.service_logs())

    @staticmethod
    def stop_cli(proc):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()

    # ---- tests -----------------------------------------------------------------------------
    def test_1_service_logs_on_the_manager_show_both_workers_tasks(self):
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                def both():
                    rows = parse(self.service_logs(cli=cli))
                    return len(ticks(rows, "w1")) >= 2 and len(ticks(rows, "w2")) >= 2
                self.assertTrue(harness.wait_until(both, 30), self.service_logs(cli=cli))
                rows = parse(self.service_logs(cli=cli))
                self.assertEqual({n for _, _, n, _ in rows}, {"w1", "w2"}, rows)
                self.assertEqual({s for s, _, _, _ in rows}, {1, 2}, rows)
                for node in ("w1", "w2"):  # each task's lines in order, none missing
                    t = ticks(rows, node)
                    self.assertEqual(t, list(range(1, len(t) + 1)), rows)

    def test_2_tail_and_timestamps(self):
        self.wait_ticks(5)
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                rows = parse(self.service_logs(["--tail", "2"], cli=cli))
                for node in ("w1", "w2"):
                    t = ticks(rows, node)
                    self.assertEqual(len(t), 2, rows)
                    self.assertEqual(t[1], t[0] + 1, rows)
                    self.assertGreater(t[0], 1, rows)  # the last lines, not the first
                text = self.service_logs(["--timestamps", "--tail", "3"], cli=cli)
                lines = text.splitlines()
                self.assertEqual(len(lines), 6, text)
                stamps = {}
                for line in lines:
                    m = CLI_STAMPED.match(line)
                    self.assertIsNotNone(m, line)
                    stamps.setdefault(m.group(2), []).append(m.group(1))
                self.assertEqual(sorted(stamps), ["w1", "w2"], text)
                for node, ts in stamps.items():  # RFC 3339 UTC, one line a second, in order
                    self.assertEqual(ts, sorted(ts), text)
        # The API without the CLI: each frame carries one line, stamped.
        r = self.m.api("GET", f"/services/{SERVICE}/logs",
                       query={"stdout": "1", "timestamps": "1", "tail": "1"})
        self.assertEqual(r.status, 200, r)
        lines = harness.demux_stream(r.body).decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        for line in lines:
            self.assertIsNotNone(STAMPED.match(line), line)

    def test_3_follow_shows_new_lines_and_a_task_scaled_in_later(self):
        base = {n: max(ticks(parse(self.service_logs()), n)) for n in ("w1", "w2")}
        for cli in harness.DOCKER_CLIS:
            with self.subTest(cli=cli):
                proc = subprocess.Popen([cli, "service", "logs", "-f", SERVICE],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=self.m.cli_env(), cwd=self.m.root)
                seen, lock = [], threading.Lock()

                def pump():
                    for raw in proc.stdout:
                        with lock:
                            seen.append(raw.decode(errors="replace").rstrip("\n"))
                reader = threading.Thread(target=pump, daemon=True)
                reader.start()

                def rows():
                    with lock:
                        return parse("\n".join(seen))
                try:
                    newer = lambda: all(max(ticks(rows(), n) or [0]) > base[n] + 2
                                        for n in ("w1", "w2"))
                    self.assertTrue(harness.wait_until(newer, 30),
                                    f"no new lines followed: {rows()[-10:]}")
                    self.assertIsNone(proc.poll())  # still following
                finally:
                    self.stop_cli(proc)
                    reader.join(5)
        # A task that starts after the follow began is followed too.
        proc = subprocess.Popen(["/usr/bin/docker", "service", "logs", "-f", SERVICE],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.m.cli_env(), cwd=self.m.root)
        seen, lock = [], threading.Lock()

        def pump3():
            for raw in proc.stdout:
                with lock:
                    seen.append(raw.decode(errors="replace").rstrip("\n"))
        reader = threading.Thread(target=pump3, daemon=True)
        reader.start()
        try:
            time.sleep(2)
            self.ok(self.m.docker(["service", "scale", "-d", f"{SERVICE}=3"]))

            def slot3():
                with lock:
                    return any(s == 3 for s, _, _, _ in parse("\n".join(seen)))
            self.assertTrue(harness.wait_until(slot3, 40),
                            f"the scaled-in task was not followed: {seen[-10:]}")
        finally:
            self.stop_cli(proc)
            reader.join(5)
            self.ok(self.m.docker(["service", "scale", "-d", f"{SERVICE}=2"]))
        self.assertTrue(harness.wait_until(lambda: len(self.running_nodes()) == 2, 60),
                        self.tasks())
        # The scaled-in task is deleted once it has stopped. Until then a `service logs` can
        # stream its lines and then fail to resolve its ID ("No such task", the CLI's lookup,
        # as with Docker): later tests start after it is gone.
        self.assertTrue(harness.wait_until(
            lambda: all(t.get("Slot") != 3 for t in self.tasks()), 60), self.tasks())

    def test_4_task_logs_of_a_task_on_another_node(self):
        self.wait_ticks(5)
        for name in ("w1", "w2"):
            task = self.running_task_on(name)
            r = self.m.api("GET", f"/tasks/{task['ID']}/logs", query={"stdout": "1", "tail": "3"})
            self.assertEqual(r.status, 200, r)
            lines = harness.demux_stream(r.body).decode().splitlines()
            self.assertEqual(len(lines), 3, lines)
            nums = [int(l.split()[1]) for l in lines]
            self.assertEqual(nums, list(range(nums[0], nums[0] + 3)), lines)
            # details: Docker's swarm labels name the remote node and task.
            r = self.m.api("GET", f"/tasks/{task['ID']}/logs",
                           query={"stdout": "1", "tail": "1", "details": "1"})
            text = harness.demux_stream(r.body).decode()
            self.assertIn(f"com.docker.swarm.node.id={self.ids[name]}", text)
            self.assertIn(f"com.docker.swarm.task.id={task['ID']}", text)
        # stderr only: the tasks print nothing there.
        task = self.running_task_on("w1")
        r = self.m.api("GET", f"/tasks/{task['ID']}/logs", query={"stderr": "1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(harness.demux_stream(r.body), b"")

    def test_5_a_hung_worker_does_not_hang_a_non_follow_call(self):
        w2 = self.w["w2"]
        os.kill(w2.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            rows = parse(self.service_logs(timeout=60))
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 20, "the call waited too long on the hung worker")
            self.assertTrue(ticks(rows, "w1"), rows)
        finally:
            os.kill(w2.proc.pid, signal.SIGCONT)

    def test_6_a_stopped_worker_yields_what_is_available_at_once(self):
        self.assertTrue(harness.wait_until(lambda: len(self.running_nodes()) == 2, 60),
                        self.tasks())
        self.w["w2"].stop()
        t0 = time.monotonic()
        rows = parse(self.service_logs(timeout=60))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(ticks(rows, "w1"), rows)
        # A follow does not wait on the stopped node either: w1's lines come.
        proc = subprocess.Popen(["/usr/bin/docker", "service", "logs", "-f", "--tail", "1",
                                 SERVICE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.m.cli_env(), cwd=self.m.root)
        try:
            line = proc.stdout.readline().decode()
            self.assertIn("@w1", line)
        finally:
            self.stop_cli(proc)


if __name__ == "__main__":
    unittest.main()
