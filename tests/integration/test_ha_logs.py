"""HA managers, issue 12 part 2 (every manager serves the whole API): task logs through any
manager. Real capsuled processes and etcd members, real runc tasks, the docker CLIs.

A node's session (and so its log stream) is with one manager; a manager asked for the logs of a
task whose node's session is with another manager reads them through that manager
(LogPeer.SubscribeForPeer on the swarm port, manager certificates only).

m1 runs `swarm init`, m2 and m3 join as managers, w1 and w2 join as workers. A global service
runs one task on each of the five nodes, each printing "tick N" every second.
  - `docker service logs` (20.10 and 28.x) through EACH manager shows every node's task lines;
  - `--tail 2` gives 2 lines per task through each manager;
  - `-f` through a manager that does not hold w1's session shows w1's new lines as they come;
  - GET /tasks/{id}/logs of every task through every manager, and with since, timestamps and
    details through a manager that does not hold the node's session;
  - the peer route refuses a worker's certificate (PERMISSION_DENIED) and serves a manager's;
  - a follow keeps following w1's task when w1's manager is killed and w1 fails over.

Run: PYTHONPATH=.. python3 -m unittest -v test_ha_logs   (from tests/integration)
Addresses: 127.0.68.1 (m1), .2 (m2), .3 (m3), .4 (w1), .5 (w2). Heartbeat 1 s.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import harness
from harness import busybox_image, ha_swarm

IP = {"m1": "127.0.68.1", "m2": "127.0.68.2", "m3": "127.0.68.3", "w1": "127.0.68.4",
      "w2": "127.0.68.5"}
MANAGERS = ("m1", "m2", "m3")
NODES = ("m1", "m2", "m3", "w1", "w2")
IMAGE = "capsule/busybox:1"
SERVICE = "haticker"
TICK = ["sh", "-c",
        'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done & wait']
# The docker CLIs' service logs line: <service>.<slot or node>.<task>@<node hostname>  | <message>
LINE = re.compile(r"^(\S+?)\.(\w+)\.(\w+)@(\S+?)\s+\| ?(.*)$")
PEER_CLIENT = os.environ.get("PEER_LOG_CLIENT") or os.path.join(
    os.path.dirname(harness.CAPSULED), "peer_log_client")


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def addr(name):
    return f"{IP[name]}:{harness.SWARM_PORT}"


def parse(text, strict=True):
    """[(task, node, message)] of the CLI's lines; a line that does not parse fails (strict)
    or is left out."""
    rows = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m is None:
            if not strict:
                continue
            raise AssertionError(f"unexpected log line {line!r} in:\n{text}")
        rows.append((m.group(3), m.group(4), m.group(5)))
    return rows


def ticks(rows, node):
    return [int(msg.split()[1]) for _, n, msg in rows if n == node and msg.startswith("tick ")]


class HaLogs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = ha_swarm.start(cls, IP, MANAGERS, workers=("w1", "w2"), heartbeat="1s")
        _, rootfs = busybox_image.class_rootfs_tar(cls, "cphl-")
        for n in NODES:
            r = cls.d[n].docker(["import", rootfs, IMAGE])
            if r.returncode != 0:
                raise AssertionError(f"import on {n}: {out(r)}")
        cls.ids = {n: cls.d[n].api("GET", "/info").json()["Swarm"]["NodeID"] for n in NODES}
        cls.by_addr = {addr(n): n for n in MANAGERS}
        r = cls.d["m1"].docker(["service", "create", "-d", "--name", SERVICE, "--mode", "global",
                                IMAGE] + TICK)
        if r.returncode != 0:
            raise AssertionError(out(r))
        want = sorted(cls.ids.values())
        if not harness.wait_until(lambda: cls.running_nodes() == want, 90):
            raise AssertionError(json.dumps(cls.tasks(), indent=1)[:3000])

    # ---- helpers ---------------------------------------------------------------------------
    @classmethod
    def tasks(cls, via="m1"):
        r = cls.d[via].api("GET", "/tasks", query={"filters": json.dumps({"service": [SERVICE]})})
        return r.json() if r.status == 200 else []

    @classmethod
    def running(cls, via="m1"):
        return [t for t in cls.tasks(via)
                if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]

    @classmethod
    def running_nodes(cls):
        return sorted(t["NodeID"] for t in cls.running())

    def ok(self, r, d):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + d.log_tail())
        return r.stdout.decode()

    def service_logs(self, via, args=(), cli=harness.DOCKER_20):
        d = self.d[via]
        return self.ok(d.docker(["service", "logs"] + list(args) + [SERVICE], cli=cli), d)

    def session_of(self, name):
        """The manager the node's agent session is with (None: not connected)."""
        return ha_swarm.session_manager(self.d[name], self.by_addr)

    def wait_ticks(self, via, n, cli=harness.DOCKER_20):
        """Waits until every node's task shows at least n lines through `via`."""
        def enough():
            rows = parse(self.service_logs(via, cli=cli))
            return all(len(ticks(rows, node)) >= n for node in NODES)
        self.assertTrue(harness.wait_until(enough, 60),
                        f"through {via}:\n{self.service_logs(via, cli=cli)}\n"
                        + self.d[via].log_tail())

    def follow(self, via, args=()):
        """`docker service logs -f` through `via`: (process, lines seen so far, lock)."""
        d = self.d[via]
        proc = subprocess.Popen([harness.DOCKER_20, "service", "logs", "-f"] + list(args)
                                + [SERVICE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=d.cli_env(), cwd=d.root)
        seen, lock = [], threading.Lock()

        def pump():
            for raw in proc.stdout:
                with lock:
                    seen.append(raw.decode(errors="replace").rstrip("\n"))
        threading.Thread(target=pump, daemon=True).start()
        return proc, seen, lock

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

    def certs(self, name):
        c = os.path.join(self.d[name].data_root, "swarm", "certificates")
        return [os.path.join(c, f) for f in ("swarm-node.crt", "swarm-node.key",
                                             "swarm-root-ca.crt")]

    def peer_call(self, via, cert_of, node, task_id):
        self.assertTrue(os.access(PEER_CLIENT, os.X_OK),
                        f"{PEER_CLIENT} missing: build the peer_log_client target")
        r = subprocess.run([PEER_CLIENT, addr(via)] + self.certs(cert_of)
                           + [self.ids[node], task_id], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, out(r))
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    def task_on(self, name):
        for t in self.running():
            if t["NodeID"] == self.ids[name]:
                return t
        self.fail(f"no running task on {name}")

    # ---- tests -----------------------------------------------------------------------------
    def test_1_service_logs_through_every_manager_show_every_nodes_task(self):
        self.assertTrue(harness.wait_until(
            lambda: all(self.session_of(w) for w in ("w1", "w2")), 30))
        print(f"\nsessions: w1 with {self.session_of('w1')}, w2 with {self.session_of('w2')}",
              flush=True)
        for cli in harness.DOCKER_CLIS:
            for via in MANAGERS:
                with self.subTest(cli=cli, via=via):
                    self.wait_ticks(via, 2, cli=cli)
                    rows = parse(self.service_logs(via, cli=cli))
                    self.assertEqual({n for _, n, _ in rows}, set(NODES), rows)
                    for node in NODES:  # each task's lines in order, none missing
                        t = ticks(rows, node)
                        self.assertEqual(t, list(range(1, len(t) + 1)), (via, node, rows))
        if harness.DOCKER_2 is None:
            print(harness.NO_SECOND_CLI, flush=True)

    def test_2_tail_through_every_manager(self):
        self.wait_ticks("m1", 4)
        for cli in harness.DOCKER_CLIS:
            for via in MANAGERS:
                with self.subTest(cli=cli, via=via):
                    rows = parse(self.service_logs(via, ["--tail", "2"], cli=cli))
                    for node in NODES:
                        t = ticks(rows, node)
                        self.assertEqual(len(t), 2, (node, rows))
                        self.assertEqual(t[1], t[0] + 1, rows)
                        self.assertGreater(t[0], 1, rows)  # the last lines, not the first

    def test_3_task_logs_of_every_task_through_every_manager(self):
        self.wait_ticks("m1", 4)
        for via in MANAGERS:
            for node in NODES:
                with self.subTest(via=via, node=node):
                    task = self.task_on(node)
                    r = self.d[via].api("GET", f"/tasks/{task['ID']}/logs",
                                        query={"stdout": "1", "tail": "3"})
                    self.assertEqual(r.status, 200, r)
                    lines = harness.demux_stream(r.body).decode().splitlines()
                    self.assertEqual(len(lines), 3, lines)
                    nums = [int(l.split()[1]) for l in lines]
                    self.assertEqual(nums, list(range(nums[0], nums[0] + 3)), lines)

    def test_4_follow_through_a_manager_without_the_nodes_session(self):
        holder = self.session_of("w1")
        self.assertIsNotNone(holder)
        via = next(m for m in MANAGERS if m != holder)
        base = max(ticks(parse(self.service_logs(via)), "w1"))
        proc, seen, lock = self.follow(via, ["--tail", "1"])
        try:
            def newer():
                with lock:
                    rows = parse("\n".join(seen))
                return (max(ticks(rows, "w1") or [0]) > base + 2
                        and max(ticks(rows, "w2") or [0]) > 0)
            self.assertTrue(harness.wait_until(newer, 30),
                            f"through {via} (w1's session is with {holder}): {seen[-10:]}")
            self.assertIsNone(proc.poll())  # still following
        finally:
            self.stop_cli(proc)

    def test_5_peer_route_refuses_a_worker_certificate(self):
        holder = self.session_of("w1")
        self.assertIsNotNone(holder)
        task = self.task_on("w1")
        other = next(m for m in MANAGERS if m != holder)
        # Positive control: another manager's certificate reads w1's task through its holder.
        got = self.peer_call(holder, other, "w1", task["ID"])
        self.assertEqual(got["code"], "OK", got)
        self.assertTrue(any(l.startswith("tick ") for l in got["lines"]), got)
        for worker in ("w1", "w2"):
            with self.subTest(worker=worker):
                got = self.peer_call(holder, worker, "w1", task["ID"])
                self.assertEqual(got["code"], "PERMISSION_DENIED", got)
                self.assertEqual(got["lines"], [], got)

    def test_6_since_timestamps_and_details_through_a_manager_without_the_session(self):
        holder = self.session_of("w1")
        self.assertIsNotNone(holder)
        via = next(m for m in MANAGERS if m != holder)
        task = self.task_on("w1")
        path = f"/tasks/{task['ID']}/logs"
        self.wait_ticks(via, 6)
        r = self.d[via].api("GET", path, query={"stdout": "1", "timestamps": "1",
                                                "details": "1"})
        self.assertEqual(r.status, 200, r)
        lines = harness.demux_stream(r.body).decode().splitlines()
        self.assertGreaterEqual(len(lines), 6, lines)
        for line in lines:  # RFC 3339 stamp, Docker's swarm labels, then the line
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\S+Z \S+ tick \d+$")
            self.assertIn(f"com.docker.swarm.node.id={self.ids['w1']}", line)
            self.assertIn(f"com.docker.swarm.task.id={task['ID']}", line)
        since = time.time() - 2.5
        r = self.d[via].api("GET", path, query={"stdout": "1", "timestamps": "1",
                                                "since": f"{since:.9f}"})
        self.assertEqual(r.status, 200, r)
        recent = harness.demux_stream(r.body).decode().splitlines()
        self.assertTrue(0 < len(recent) < len(lines), (recent, len(lines)))

    def test_9_follow_goes_on_when_the_nodes_manager_dies(self):
        holder = self.session_of("w1")
        self.assertIsNotNone(holder)
        via = next(m for m in MANAGERS if m != holder)
        proc, seen, lock = self.follow(via, ["--tail", "1"])
        try:
            def w1_ticks():
                with lock:
                    return ticks(parse("\n".join(seen), strict=False), "w1")
            self.assertTrue(harness.wait_until(lambda: len(w1_ticks()) >= 2, 30), seen[-10:])
            os.kill(self.d[holder].etcd_pid(), signal.SIGKILL)
            self.d[holder].kill9()
            killed_at = max(w1_ticks())
            moved = lambda: self.session_of("w1") not in (None, holder)
            self.assertTrue(harness.wait_until(moved, 30), "w1 did not fail over")
            print(f"\nw1 moved from {holder} to {self.session_of('w1')}; following via {via}",
                  flush=True)
            self.assertTrue(harness.wait_until(lambda: max(w1_ticks()) > killed_at + 3, 40),
                            f"the follow through {via} stopped at tick {killed_at}: "
                            f"{seen[-10:]}\n{self.d[via].log_tail()}")
            t = w1_ticks()
            self.assertEqual(len(t), len(set(t)), f"a line came twice: {t}")
            self.assertIsNone(proc.poll())
        finally:
            self.stop_cli(proc)


if __name__ == "__main__":
    unittest.main()
