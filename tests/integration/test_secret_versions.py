"""Secret versions (issue 14 parts 1, 2, 4, 6): rotate, history, rollback and verify with real
capsuled, etcd, runc and the docker CLIs (20.10, and 28.x when present).

A secret used by two services — `sf` start-first with 2 replicas, `so` stop-first with 1 — is
rotated: every task ends on the new version, `sf` never has zero running tasks (polled every
50 ms), history shows both versions; rollback brings the old value back the same way; verify
answers right and wrong candidates with its exit status; Docker's view of the secret keeps its
shape and `POST /secrets/{id}/update` with new data is still refused; `docker service update
--secret-rm/--secret-add` still works beside versions. Tasks print only the sha256 of their
secret file, never the secret.

Run: PYTHONPATH=.. python3 -m unittest -v test_secret_versions   (from tests/integration)
Addresses: 127.0.52.x only.
"""

import hashlib
import json
import os
import threading
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.52.1"
IMAGE = "capsule/busybox:1"
CANARY = 'sha256sum /run/secrets/pw; trap "exit 0" TERM; sleep 1d & wait'


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def sha(value):
    return hashlib.sha256(value).hexdigest()


class RunningPoller:
    """Counts the running tasks of one service every 50 ms on its own API connection."""

    def __init__(self, daemon, service):
        self.client = daemon.new_client()
        self.service = service
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        f = json.dumps({"service": [self.service]})
        while not self.stop.is_set():
            r = self.client.request("GET", "/tasks", query={"filters": f})
            if r.status == 200:
                self.samples.append(
                    sum(1 for t in r.json() if t["Status"]["State"] == "running"))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)
        self.client.close()


class SecretVersions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="sv", extra_args=["--hostname", "node1"])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, cls.rootfs = busybox_image.class_rootfs_tar(cls, "csv-")
        r = cls.d.docker(["import", cls.rootfs, IMAGE])
        if r.returncode != 0:
            raise AssertionError(f"docker import: {out(r)}\n{cls.d.log_tail()}")

    # ---- helpers ---------------------------------------------------------------------------
    def ok(self, r):
        self.assertEqual(r.returncode, 0, out(r) + "\n" + self.d.log_tail())
        return r.stdout.decode()

    def tasks(self, service):
        r = self.d.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        self.assertEqual(r.status, 200, r)
        return r.json()

    def running(self, service):
        return [t for t in self.tasks(service) if t["Status"]["State"] == "running"]

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return harness.demux_stream(r.body).decode(errors="replace")

    def wait_all_print(self, service, n, digest, timeout=120):
        """Waits until `service` runs exactly n tasks (desired running) and each printed digest."""
        def done():
            run = [t for t in self.running(service) if t["DesiredState"] == "running"]
            return len(run) == n and all(digest in self.task_log(t["ID"]) for t in run)
        ok = harness.wait_until(done, timeout, interval=0.5)
        self.assertTrue(ok, f"{service}: not every task on {digest[:12]}: "
                        + json.dumps(self.tasks(service), indent=1)[:3000] + self.d.log_tail())

    def secret_shape(self, cli):
        r = self.d.docker(["secret", "inspect", "pw"], cli=cli)
        self.assertEqual(r.returncode, 0, out(r))
        [s] = json.loads(r.stdout)
        return s

    def keys(self, obj, prefix=""):
        ks = set()
        for k, v in obj.items():
            ks.add(prefix + k)
            if isinstance(v, dict):
                ks |= self.keys(v, prefix + k + ".")
        return ks

    # ---- the session --------------------------------------------------------------------------
    def test_rotate_history_verify_rollback(self):
        d = self.d
        a = b"ROT-A-" + os.urandom(12).hex().encode()
        b = b"ROT-B-" + os.urandom(12).hex().encode()
        c = b"ROT-C-" + os.urandom(12).hex().encode()
        self.ok(d.docker(["secret", "create", "pw", "-"], input=a))
        self.ok(d.docker(["service", "create", "-d", "--name", "sf", "--replicas", "2",
                          "--update-order", "start-first", "--update-parallelism", "1",
                          "--secret", "pw", IMAGE, "sh", "-c", CANARY]))
        self.ok(d.docker(["service", "create", "-d", "--name", "so", "--update-order",
                          "stop-first", "--secret", "pw", IMAGE, "sh", "-c", CANARY]))
        self.wait_all_print("sf", 2, sha(a))
        self.wait_all_print("so", 1, sha(a))
        before = {cli: self.secret_shape(cli) for cli in harness.DOCKER_CLIS}
        old_tasks = {t["ID"] for t in self.running("sf") + self.running("so")}

        # Rotate: a new version, every task rolls to it; sf always has a running task.
        with RunningPoller(d, "sf") as poll:
            r = d.capsule(["secret", "rotate", "pw", "-"], input=b, timeout=240)
            text = self.ok(r)
            self.wait_all_print("sf", 2, sha(b))
            self.wait_all_print("so", 1, sha(b))
        self.assertIn("pw: version 2", text)
        self.assertIn("converged", text)
        self.assertGreater(len(poll.samples), 20, "the poller barely ran")
        self.assertGreaterEqual(min(poll.samples), 1, f"sf had no running task: {poll.samples}")
        new_tasks = {t["ID"] for t in self.running("sf") + self.running("so")}
        self.assertFalse(old_tasks & new_tasks, "some task was not replaced")
        for t in self.running("sf") + self.running("so"):
            self.assertNotIn(sha(a), self.task_log(t["ID"]))
            self.assertNotIn(b.decode(), self.task_log(t["ID"]))

        # History: both versions, the current one marked, keyed digests (not sha256).
        hist = self.ok(d.capsule(["secret", "history", "pw"]))
        lines = hist.splitlines()
        self.assertRegex(lines[0], r"VERSION\s+CREATED\s+CREATED BY\s+DIGEST\s+IN USE BY")
        self.assertRegex(hist, r"(?m)^1\s+.*hmac-sha256:[0-9a-f]{12}")
        self.assertRegex(hist, r"(?m)^2 \*\s+.*hmac-sha256:[0-9a-f]{12}\s+(sf,so|so,sf) \(3 tasks\)")
        self.assertNotIn(sha(b)[:12], hist)
        self.assertNotIn(sha(a)[:12], hist)
        r = d.api("GET", "/capsule/secrets/pw")
        self.assertEqual(r.status, 200, r)
        cv = r.json()["CapsuleVersions"]
        self.assertEqual(cv["CurrentVersion"], 2)
        self.assertEqual(cv["VersionsKept"], 2)
        self.assertEqual([v["Number"] for v in cv["Versions"]], [1, 2])
        for body in (r.body, d.api("GET", "/capsule/secrets/pw/history").body):
            for needle in (a, b, harness.b64(a).encode(), harness.b64(b).encode()):
                self.assertNotIn(needle, body)

        # Docker's view: the same shape, Version.Index moved, no Data; new data still refused.
        for cli, old in before.items():
            now = self.secret_shape(cli)
            self.assertEqual(self.keys(now), self.keys(old), harness.cli_label(cli))
            self.assertNotIn("Data", now["Spec"])
            self.assertEqual(now["ID"], old["ID"])
            self.assertGreater(now["Version"]["Index"], old["Version"]["Index"])
        sid = before[harness.DOCKER_20]["ID"]
        idx = d.api("GET", f"/secrets/{sid}").json()["Version"]["Index"]
        r = d.api("POST", f"/secrets/{sid}/update",
                  {"Name": "pw", "Data": harness.b64(c)}, query={"version": idx})
        self.assertEqual(r.status, 400, r)
        self.assertIn("only updates to Labels are allowed", r.message())
        for cli in harness.DOCKER_CLIS:
            self.assertNotIn(b"CapsuleVersions", d.docker(["secret", "inspect", "pw"], cli=cli).stdout)

        # Verify: the exit status says "matches the current version".
        r = d.capsule(["secret", "verify", "pw", "-"], input=b)
        self.assertEqual(r.returncode, 0, out(r))
        self.assertIn("matches version 2", out(r))
        r = d.capsule(["secret", "verify", "pw", "-"], input=a)
        self.assertEqual(r.returncode, 1, out(r))
        self.assertIn("matches version 1", out(r))
        r = d.capsule(["secret", "verify", "pw", "-"], input=c)
        self.assertEqual(r.returncode, 1, out(r))
        self.assertIn("no match", out(r))

        # Rollback: back to version 1, the same way.
        with RunningPoller(d, "sf") as poll:
            text = self.ok(d.capsule(["secret", "rollback", "pw"], timeout=240))
            self.wait_all_print("sf", 2, sha(a))
            self.wait_all_print("so", 1, sha(a))
        self.assertIn("pw: version 1", text)
        self.assertGreaterEqual(min(poll.samples), 1, f"sf had no running task: {poll.samples}")
        r = d.capsule(["secret", "verify", "pw", "-"], input=a)
        self.assertEqual(r.returncode, 0, out(r))

        # Who made version 2 (the capsule CLI's uid, from its socket's peer credentials), and
        # the audit log: create, rotate to 2 and rollback to 1 by this uid, deliveries of both
        # versions to the node. Never data.
        cv = d.api("GET", "/capsule/secrets/pw").json()["CapsuleVersions"]
        self.assertEqual([v["CreatedByUID"] for v in cv["Versions"] if v["Number"] == 2],
                         [os.getuid()])

        def audit():
            r = d.api("GET", "/capsule/audit", query={"secret": "pw"}, version=None)
            self.assertEqual(r.status, 200, r)
            return r.json()

        def seen():
            got = {(e["Action"], e["Version"]) for e in audit()}
            return {("create", 1), ("rotate", 2), ("rollback", 1), ("deliver", 1),
                    ("deliver", 2)} <= got
        self.assertTrue(harness.wait_until(seen, 30), audit())
        for e in audit():
            if e["Action"] in ("create", "rotate", "rollback"):
                self.assertEqual(e["Caller"]["UID"], os.getuid(), e)
            if e["Action"] == "deliver":
                self.assertTrue(e.get("NodeID"), e)
        raw = d.api("GET", "/capsule/audit", version=None).body
        for needle in (a, b, harness.b64(a).encode(), harness.b64(b).encode()):
            self.assertNotIn(needle, raw)

        # Docker's way still works beside versions: swap the secret on `so`.
        self.ok(d.docker(["secret", "create", "pw2", "-"], input=c))
        self.ok(d.docker(["service", "update", "--secret-rm", "pw", "--secret-add",
                          "source=pw2,target=pw", "so"], cli=harness.OTHER_CLI, timeout=120))
        self.wait_all_print("so", 1, sha(c))
        self.ok(d.capsule(["secret", "rotate", "-d", "pw", "-"], input=b))
        self.wait_all_print("sf", 2, sha(b))
        self.wait_all_print("so", 1, sha(c))  # so no longer uses pw
        self.ok(d.docker(["service", "rm", "sf", "so"]))
        self.assertTrue(harness.wait_until(
            lambda: d.docker(["secret", "rm", "pw"]).returncode == 0, 60), d.log_tail())

    def test_errors(self):
        d = self.d
        r = d.capsule(["secret", "history", "nosuch"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("secret nosuch not found", out(r))
        self.ok(d.docker(["secret", "create", "single", "-"], input=b"x1"))
        r = d.capsule(["secret", "rollback", "single"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("secret single has no previous version", out(r))
        r = d.capsule(["secret", "rotate", "single", "-"], input=b"")
        self.assertEqual(r.returncode, 1)
        self.assertIn("secret data must be larger than 0", out(r))
        self.ok(d.docker(["secret", "rm", "single"]))

    def test_versions_kept_setting(self):
        d = self.d
        self.assertEqual(self.ok(d.capsule(["secret", "versions-kept"])).strip(), "2")
        self.assertEqual(self.ok(d.capsule(["secret", "versions-kept", "3"])).strip(), "3")
        r = d.capsule(["secret", "versions-kept", "101"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("versions kept must be between 0 and 100", out(r))
        # Docker's swarm JSON never shows it, and a Docker swarm update keeps it.
        for cli in harness.DOCKER_CLIS:
            r = d.docker(["swarm", "update", "--task-history-limit", "6"], cli=cli)
            self.assertEqual(r.returncode, 0, out(r))
        swarm = d.api("GET", "/swarm")
        self.assertEqual(swarm.status, 200, swarm)
        self.assertNotIn(b"Capsule", swarm.body)
        self.assertEqual(self.ok(d.capsule(["secret", "versions-kept"])).strip(), "3")
        self.ok(d.capsule(["secret", "versions-kept", "2"]))


if __name__ == "__main__":
    unittest.main()
