"""Live refresh of a secret in running tasks (issue 14 part 3) with real capsuled, etcd, runc
and the docker CLIs (20.10, and 28.x when present).

A manager (mgr) and a worker (w1). Service `lr` runs on w1 with `--secret-refresh
pw=signal:HUP`; its task runs a reader (a child of the task's shell) that re-reads
/run/secrets/pw in a tight loop and prints, for each distinct value it sees, only its sha256
and the read count (never the value: the canary rule); the shell (the task's main process)
counts the HUPs it gets. Over >= 20 rotations (and a rollback):
  - every value the reader saw is a complete one that was current at some point (never a
    partial, mixed or empty file), in rotation order;
  - the task keeps its ID, slot, container and main PID; the HUP arrives each time;
  - after each swap no older version remains in w1's capsuled memory (scanned as test_leaks
    does; positive control: the same scan finds the current version there) nor on the task's
    tmpfs, and a descriptor the test opened on the old file before the swap reads nothing;
  - the manager's node (no task uses pw) never holds any version of it.
A `none` policy swaps without a signal; bad `--secret-refresh` values are refused with nothing
written; Docker's view of the services never shows the policy (both CLIs).

Run: PYTHONPATH=.. python3 -m unittest -v test_secret_refresh   (from tests/integration)
Addresses: 127.0.59.x only.
"""

import base64
import hashlib
import json
import os
import re
import sys
import tempfile
import shutil
import time
import unittest

import harness
from harness import busybox_image, leakscan

MGR_IP, W1_IP = "127.0.59.1", "127.0.59.2"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
ROTATIONS = 20
GRACE = 0.5  # the executor's refresh grace (ExecutorConfig::refresh_grace)

# The reader runs in a child process (so the HUP meant for the main process never interrupts
# one of its reads); it prints only digests and counts.
READER = r'''
reader() {
  n=0; last=""
  while :; do
    read -r v < /run/secrets/TARGET
    n=$((n+1))
    if [ "$v" != "$last" ]; then
      echo "VAL $(printf %s "$v" | sha256sum | cut -c1-64) $n"
      last="$v"
    fi
    if [ $((n % 5000)) -eq 0 ]; then echo "READS $n"; fi
  done
}
reader &
sig=0
trap 'sig=$((sig+1)); echo "SIG $sig"' HUP
trap 'exit 0' TERM
echo "MAIN $$"
while :; do sleep 1 & wait $!; done
'''


def script(target):
    return ["sh", "-c", READER.replace("TARGET", target)]


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def sha(value):
    return hashlib.sha256(value).hexdigest()


def new_value(i):
    # >= 96 random bytes at the end, so the scan's fragments are unique (leakscan.needles).
    return f"live-refresh-{i:02d}-".encode() + base64.urlsafe_b64encode(os.urandom(96))


class SecretRefresh(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cplr-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.m = cls.node(MGR_IP, "mgr")
        cls.ok_cls(cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                                 MANAGER_ADDR]))
        cls.ok_cls(cls.m.docker(["import", cls.rootfs, IMAGE]))
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w1 = cls.node(W1_IP, "w1")
        cls.ok_cls(cls.w1.docker(["swarm", "join", "--token", token, "--advertise-addr", W1_IP,
                                  "--listen-addr", f"{W1_IP}:{harness.SWARM_PORT}",
                                  MANAGER_ADDR]))
        cls.ok_cls(cls.w1.docker(["import", cls.rootfs, IMAGE]))

    @classmethod
    def node(cls, ip, name):
        d = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
        cls.addClassCleanup(d.close)
        return d

    @classmethod
    def ok_cls(cls, r):
        if r.returncode != 0:
            raise AssertionError(out(r))
        return r.stdout.decode()

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.m.log_tail())
        return r.stdout.decode()

    def tasks(self, service):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running_task(self, service):
        def one():
            ts = [t for t in self.tasks(service)
                  if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]
            return ts[0] if len(ts) == 1 else None
        self.assertTrue(harness.wait_until(one, 90, 0.2),
                        f"no running task of {service}: {self.tasks(service)}"
                        + self.m.log_tail() + self.w1.log_tail())
        return one()

    def log(self, task_id):
        return leakscan.read_bytes(os.path.join(self.w1.data_root, "tasks", task_id, "log"))

    def seen(self, task_id):
        """[(digest, read count)] in the order the reader saw them, the HUP count, reads."""
        text = self.log(task_id).decode(errors="replace")
        vals = [(m.group(1), int(m.group(2)))
                for m in re.finditer(r"VAL ([0-9a-f]{64}) (\d+)", text)]
        sigs = [int(x) for x in re.findall(r"SIG (\d+)", text)]
        reads = [int(x) for x in re.findall(r"READS (\d+)", text)]
        return vals, (max(sigs) if sigs else 0), (max(reads) if reads else 0)

    def agent_secrets(self, d):
        return d.api("GET", "/capsule/agent", version=None).json()["Secrets"]

    def refresh_policies(self, service):
        r = self.m.api("GET", f"/capsule/services/{service}", version=None)
        self.assertEqual(r.status, 200, r)
        return r.json()["CapsuleSecretRefresh"]

    def tmpfs_of(self, task_id):
        return os.path.join(self.w1.exec_root, "secrets", task_id)

    # ---- the session -------------------------------------------------------------------------
    def test_1_rotations_swap_in_place_with_a_signal(self):
        m, w1 = self.m, self.w1
        values = [new_value(0)]
        self.ok(m.docker(["secret", "create", "pw", "-"], input=values[0]))
        sid = m.api("GET", "/secrets/pw").json()["ID"]
        self.ok(m.capsule(["service", "create", "-d", "--name", "lr", "--constraint",
                           "node.hostname==w1", "--secret", "pw", "--secret-refresh",
                           "pw=signal:HUP", IMAGE] + script("pw")))
        self.assertEqual(self.refresh_policies("lr"), {"pw": "signal:SIGHUP"})
        task = self.running_task("lr")
        tid, slot = task["ID"], task["Slot"]
        pid = task["Status"]["ContainerStatus"]["PID"]
        cid = task["Status"]["ContainerStatus"]["ContainerID"]
        self.assertTrue(harness.wait_until(lambda: self.seen(tid)[0], 30), self.log(tid))
        self.assertEqual(self.seen(tid)[0][0][0], sha(values[0]))
        # Docker's view never shows the policy (both CLIs), and the mount is the directory.
        for cli in harness.DOCKER_CLIS:
            r = m.docker(["service", "inspect", "lr"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
            self.assertNotIn(b"Refresh", r.stdout, harness.cli_label(cli))
            self.assertNotIn(b"Capsule", r.stdout, harness.cli_label(cli))
        host_file = os.path.join(self.tmpfs_of(tid), "run-secrets", "pw")
        self.assertTrue(os.path.exists(host_file), os.listdir(self.tmpfs_of(tid)))

        t0 = time.time()
        latencies, scanned, regions_total = [], 0, 0
        for i in range(1, ROTATIONS + 1):
            values.append(new_value(i))
            old_fd = os.open(host_file, os.O_RDONLY)
            try:
                start = time.time()
                if i == ROTATIONS:
                    # The last step is a rollback: back to the version before, the same way.
                    values[-1] = values[-3]
                    self.ok(m.capsule(["secret", "rollback", "pw"], timeout=120))
                else:
                    self.ok(m.capsule(["secret", "rotate", "-d", "pw", "-"], input=values[i]))
                want = sha(values[i])
                self.assertTrue(harness.wait_until(
                    lambda: self.seen(tid)[0][-1][0] == want and self.seen(tid)[1] >= i, 30,
                    0.05), f"rotation {i}: {self.seen(tid)[:2]}\n" + w1.log_tail(20))
                latencies.append(time.time() - start)
                time.sleep(GRACE + 0.3)
                # The old file's inode (held open by the test since before the swap) is wiped.
                self.assertEqual(os.pread(old_fd, 4096, 0), b"", f"rotation {i}")
                self.assertEqual(os.fstat(old_fd).st_size, 0)
            finally:
                os.close(old_fd)
            # No older version in w1's capsuled memory; the current one is (positive control).
            # Each round looks for the raw bytes and fragments of the version it replaced (the
            # agent only ever holds a version's raw bytes); the last round for every form of
            # every older version.
            older = set()
            for v in (values[:-1] if i == ROTATIONS else [values[i - 1]]):
                if v != values[i]:
                    older |= ({v} | leakscan.fragments(v) if i < ROTATIONS
                              else leakscan.needles(v))
            hits, regions, nbytes, _ = leakscan.scan_memory(w1.pid, older)
            scanned += nbytes
            regions_total += regions
            self.assertEqual(hits, [], f"rotation {i}: an older version in w1's capsuled")
            found = leakscan.find_in(b"".join(
                leakscan.read_bytes(p) for p in leakscan.files_under(self.tmpfs_of(tid))), older)
            self.assertEqual(found, [], f"rotation {i}: an older version on the tmpfs")
            self.assertEqual(sorted(os.listdir(self.tmpfs_of(tid))), ["run-secrets"])
            if i in (1, ROTATIONS):
                current_hits = leakscan.scan_memory(w1.pid, leakscan.needles(values[i]))[0]
                self.assertTrue(current_hits, "positive control: the scan does not find the "
                                "current version in w1's capsuled")
        elapsed = time.time() - t0

        # Every value the reader saw was complete and current at some point, in order.
        vals, sigs, reads = self.seen(tid)
        digests = [d for d, _ in vals]
        self.assertEqual(digests, [sha(v) for v in values],
                         "the reader saw a value that was never current (partial, mixed or "
                         "empty) or missed one")
        self.assertEqual(sigs, ROTATIONS, "a HUP did not arrive for every swap")
        self.assertNotIn(sha(b""), digests)
        # Same task, same slot, same container, same main process.
        task = self.running_task("lr")
        self.assertEqual((task["ID"], task["Slot"]), (tid, slot))
        self.assertEqual(task["Status"]["ContainerStatus"]["PID"], pid)
        self.assertEqual(task["Status"]["ContainerStatus"]["ContainerID"], cid)
        self.assertEqual(len(self.tasks("lr")), 1, "a task was replaced")
        self.assertEqual(len(re.findall(rb"MAIN \d+", self.log(tid))), 1)
        # The manager's node runs no task using pw: it never held any version of it.
        self.assertFalse([s for s in self.agent_secrets(m) if s.startswith(sid)],
                         self.agent_secrets(m))
        held = [s for s in self.agent_secrets(w1) if s.startswith(sid)]
        self.assertEqual(len(held), 1, f"w1 holds more than the current version: {held}")
        w1_node = w1.api("GET", "/info").json()["Swarm"]["NodeID"]
        deliveries = {e.get("NodeID") for e in
                      m.api("GET", "/capsule/audit", query={"secret": "pw"}, version=None).json()
                      if e["Action"] == "deliver"}
        self.assertEqual(deliveries, {w1_node})
        lat = sorted(latencies)
        print(f"\n  secret_refresh: {ROTATIONS} swaps in {elapsed:.1f}s, reader {reads} reads "
              f"({reads / max(elapsed, 1):.0f}/s incl. scans), rotate-to-seen p50 "
              f"{lat[len(lat) // 2] * 1000:.0f} ms max {lat[-1] * 1000:.0f} ms, "
              f"{scanned >> 20} MiB of w1's capsuled scanned ({regions_total} regions)",
              file=sys.stderr)
        self.assertGreater(reads / max(elapsed, 1), 1000, "the reader was not a tight loop")
        self.ok(m.docker(["service", "rm", "lr"]))

    def test_2_none_policy_swaps_without_a_signal(self):
        m = self.m
        a, b = new_value(90), new_value(91)
        self.ok(m.docker(["secret", "create", "pn", "-"], input=a))
        self.ok(m.capsule(["service", "create", "-d", "--name", "ln", "--constraint",
                           "node.hostname==w1", "--secret", "source=pn,target=sub/pn",
                           "--secret-refresh", "pn=none", IMAGE] + script("sub/pn")))
        task = self.running_task("ln")
        self.assertTrue(harness.wait_until(lambda: self.seen(task["ID"])[0], 30))
        self.ok(m.capsule(["secret", "rotate", "-d", "pn", "-"], input=b))
        self.assertTrue(harness.wait_until(
            lambda: self.seen(task["ID"])[0][-1][0] == sha(b), 30), self.seen(task["ID"]))
        time.sleep(1)
        vals, sigs, _ = self.seen(task["ID"])
        self.assertEqual([d for d, _ in vals], [sha(a), sha(b)])
        self.assertEqual(sigs, 0, "a none policy sent a signal")
        self.assertEqual(self.running_task("ln")["ID"], task["ID"])
        # Removing the policy (NAME=) replaces the task once (back to Docker's layout); a
        # Docker update keeps a policy (both CLIs).
        self.ok(m.capsule(["service", "update", "-d", "--secret-refresh", "pn=signal:USR1",
                           "ln"]))
        self.assertEqual(self.refresh_policies("ln"), {"pn": "signal:SIGUSR1"})
        for n, cli in enumerate(harness.DOCKER_CLIS):
            self.ok(m.docker(["service", "update", "-d", "--env-add", f"X={n}", "ln"], cli=cli))
            self.assertEqual(self.refresh_policies("ln"), {"pn": "signal:SIGUSR1"})
        self.ok(m.capsule(["service", "update", "-d", "--secret-refresh", "pn=", "ln"]))
        self.assertEqual(self.refresh_policies("ln"), {})
        self.ok(m.docker(["service", "rm", "ln"]))

    def test_3_bad_policies_are_refused_with_nothing_written(self):
        m = self.m
        self.ok(m.docker(["secret", "create", "pb", "-"], input=new_value(80)))
        self.ok(m.docker(["secret", "create", "pk", "-"], input=new_value(81)))
        for policy, message in (("pb=signal:BOGUS", 'invalid secret refresh policy "signal:BOGUS"'),
                                ("pb=signal:KILL", "SIGKILL and SIGSTOP cannot be handled"),
                                ("pb=restart", 'invalid secret refresh policy "restart"'),
                                ("nosuch=none", "the service does not use secret nosuch"),
                                ("pk=none", "secret pk is mounted at /etc/pk; live refresh "
                                            "needs a target inside /run/secrets")):
            r = m.capsule(["service", "create", "-d", "--name", "lb", "--secret", "pb",
                           "--secret", "source=pk,target=/etc/pk", "--secret-refresh", policy,
                           IMAGE, "sleep", "1d"])
            self.assertEqual(r.returncode, 1, out(r))
            self.assertIn(message, out(r))
            self.assertEqual(m.api("GET", "/services/lb").status, 404, policy)
        r = m.capsule(["service", "create", "-d", "--name", "lb", "--secret", "pb", IMAGE,
                       "sleep", "1d"])
        self.ok(r)
        before = m.api("GET", "/services/lb").json()["Version"]["Index"]
        for policy in ("pb=signal:0", "pb=signal:65", "pb=HUP", "pk=none"):
            r = m.capsule(["service", "update", "-d", "--secret-refresh", policy, "lb"])
            self.assertEqual(r.returncode, 1, out(r))
            self.assertEqual(m.api("GET", "/services/lb").json()["Version"]["Index"], before,
                             f"{policy}: something was written")
        r = m.capsule(["service", "update", "-d", "--secret-refresh", "=none", "lb"])
        self.assertEqual(r.returncode, 125, out(r))
        self.assertEqual(self.refresh_policies("lb"), {})
        self.ok(m.docker(["service", "rm", "lb"]))

    def test_4_rotation_while_the_worker_is_down_completes_when_it_returns(self):
        """The rolling-update path (no policy): w1 is stopped, the secret rotated; the task
        runs the new version once w1 is back."""
        m, w1 = self.m, self.w1
        a, b = new_value(70), new_value(71)
        self.ok(m.docker(["secret", "create", "pd", "-"], input=a))
        self.ok(m.docker(["service", "create", "-d", "--name", "wd", "--constraint",
                          "node.hostname==w1", "--secret", "pd", IMAGE, "sh", "-c",
                          'sha256sum /run/secrets/pd; trap "exit 0" TERM; sleep 1d & wait']))
        first = self.running_task("wd")
        self.assertTrue(harness.wait_until(lambda: sha(a).encode() in self.log(first["ID"]), 30))
        w1.stop()
        try:
            def w1_down():
                nodes = m.api("GET", "/nodes").json()
                return any(n["Description"]["Hostname"] == "w1" and n["Status"]["State"] == "down"
                           for n in nodes)
            self.assertTrue(harness.wait_until(w1_down, 60, 0.5), "w1 not seen down")
            self.ok(m.capsule(["secret", "rotate", "-d", "pd", "-"], input=b))
            time.sleep(2)
            self.assertFalse([t for t in self.tasks("wd") if t["Status"]["State"] == "running"
                              and sha(b).encode() in self.log(t["ID"])])
        finally:
            w1.start()

        def on_new():
            run = [t for t in self.tasks("wd") if t["Status"]["State"] == "running"
                   and t["DesiredState"] == "running"]
            return len(run) == 1 and sha(b).encode() in self.log(run[0]["ID"])
        self.assertTrue(harness.wait_until(on_new, 180, 0.5),
                        json.dumps(self.tasks("wd"), indent=1)[:3000] + w1.log_tail(30))
        self.assertNotEqual(self.running_task("wd")["ID"], first["ID"])
        self.ok(m.docker(["service", "rm", "wd"]))


if __name__ == "__main__":
    unittest.main()
