"""Large secret sets per node (issue 11 part 5): a worker whose task needs 100 secrets of
511999 bytes (Docker's largest; ~50 MB sealed, over three times the 16 MiB a node accepts in one
gRPC message) receives them in several messages and runs the task with every file intact.

Run: PYTHONPATH=.. python3 -m unittest -v test_large_secret_sets   (from tests/redteam; ~2 min)
Addresses: 127.0.34.1 (manager "mgr"), 127.0.34.2 (worker "w1").

Attack: a hostile (or merely busy) user fills a node's secret set until the complete set no
longer fits in one message: before the fix the node's session failed on every message
(RESOURCE_EXHAUSTED at the node), reconnected, and the task never started — a denial of
service of that node's secrets. Check: the task pinned to w1 starts, and what it prints
(sha256sum and wc -c of its 100 files — digests only, never the bytes) matches the digests
and sizes of the data created; w1's agent holds exactly the 100 secret IDs.
Positive control: the same comparison run against a tampered expectation (one digest
changed) and against a listing with one file missing reports the difference, so a check that
cannot fail would be caught.
"""

import hashlib
import json
import os
import shutil
import tempfile
import unittest

import harness
from harness import busybox_image, leakscan

MGR_IP, W1_IP = "127.0.34.1", "127.0.34.2"
MANAGER_ADDR = f"{MGR_IP}:{harness.SWARM_PORT}"
IMAGE = "capsule/busybox:1"
COUNT = 100
# The largest Data Docker (swarmkit) accepts: less than 500 KiB (512000 bytes is refused, as
# controlapi/validation/validate.h).
SIZE = 500 * 1024 - 1


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def listing_lines(log_bytes):
    """The task's stdout lines from its json-file log."""
    lines = []
    for raw in log_bytes.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if entry.get("stream") == "stdout":
            lines.append(entry.get("log", "").rstrip("\n"))
    return lines


def compare(expected, lines):
    """Differences between expected {name: (sha256 hex, size)} and the task's output lines
    ("<sha256>  /run/secrets/<name>" and "<size> /run/secrets/<name>"); [] when they agree."""
    digests, sizes = {}, {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].startswith("/run/secrets/"):
            continue
        name = parts[1][len("/run/secrets/"):]
        if len(parts[0]) == 64:
            digests[name] = parts[0]
        elif parts[0].isdigit():
            sizes[name] = int(parts[0])
    diffs = []
    for name, (digest, size) in sorted(expected.items()):
        if digests.get(name) != digest:
            diffs.append(f"{name}: sha256 {digests.get(name)} != expected {digest}")
        if sizes.get(name) != size:
            diffs.append(f"{name}: size {sizes.get(name)} != expected {size}")
    extra = sorted(set(digests) - set(expected))
    if extra:
        diffs.append(f"unexpected files: {extra}")
    return diffs


class LargeSecretSets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cprt34-", dir="/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.rootfs = busybox_image.build_rootfs_tar(os.path.join(cls.tmp, "rootfs.tar"))
        cls.m = cls.node(MGR_IP, "mgr")
        cls.ok(cls.m.docker(["swarm", "init", "--advertise-addr", MGR_IP, "--listen-addr",
                             MANAGER_ADDR]))
        token = cls.m.docker(["swarm", "join-token", "-q", "worker"]).stdout.decode().strip()
        cls.w1 = cls.node(W1_IP, "w1")
        cls.ok(cls.w1.docker(["swarm", "join", "--token", token, "--advertise-addr", W1_IP,
                              "--listen-addr", f"{W1_IP}:{harness.SWARM_PORT}",
                              MANAGER_ADDR]))
        cls.ok(cls.w1.docker(["import", cls.rootfs, IMAGE]))

    @classmethod
    def node(cls, ip, name):
        d = harness.Daemon(ip, name=name, extra_args=["--hostname", name])
        cls.addClassCleanup(d.close)
        return d

    @classmethod
    def ok(cls, r):
        if r.returncode != 0:
            raise AssertionError(out(r))
        return r.stdout.decode()

    def tasks(self, service):
        r = self.m.api("GET", "/tasks", query={"filters": json.dumps({"service": [service]})})
        return r.json() if r.status == 200 else []

    def task_lines(self, task_id):
        return listing_lines(leakscan.read_bytes(
            os.path.join(self.w1.data_root, "tasks", task_id, "log")))

    def test_task_needing_fifty_megabytes_of_secrets_runs_with_all_of_them(self):
        expected, ids = {}, set()
        for i in range(COUNT):
            name = f"big{i:03d}"
            data = os.urandom(SIZE)
            expected[name] = (hashlib.sha256(data).hexdigest(), SIZE)
            if i == 0:
                # One through the docker CLI: it accepts the largest size as Docker does.
                self.ok(self.m.docker(["secret", "create", name, "-"], input=data))
                ids.add(self.m.api("GET", f"/secrets/{name}").json()["ID"])
            else:
                ids.add(self.m.create_secret(name, data))
        script = ("cd /run/secrets && sha256sum /run/secrets/*; wc -c /run/secrets/*; "
                  'echo listed; trap "exit 0" TERM; sleep 1d & wait')
        args = ["service", "create", "-d", "--name", "big", "--constraint",
                "node.hostname==w1"]
        for name in expected:
            args += ["--secret", f"source={name},target={name}"]
        self.ok(self.m.docker(args + [IMAGE, "sh", "-c", script]))

        def running():
            ts = [t for t in self.tasks("big") if t["Status"]["State"] == "running"]
            return ts[0] if ts else None
        ok = harness.wait_until(running, 240, 0.5)
        self.assertTrue(ok, f"no running task of big: "
                        f"{[t['Status'] for t in self.tasks('big')]}\n"
                        f"w1:\n{self.w1.log_tail(15)}")
        task = running()
        self.assertTrue(harness.wait_until(lambda: "listed" in self.task_lines(task["ID"]),
                                           60, 0.5), "the task did not list its secrets")
        lines = self.task_lines(task["ID"])
        diffs = compare(expected, lines)
        self.assertEqual(diffs, [], f"{len(diffs)} difference(s)")
        agent = self.w1.api("GET", "/capsule/agent", version=None).json()
        self.assertEqual(set(agent["Secrets"]), ids)
        # The session was never cut for an oversized message (what happened before parts).
        self.assertNotIn(b"larger than max", self.w1.log_bytes())

        # Positive controls: the comparison does catch a wrong digest and a missing file.
        tampered = dict(expected)
        digest, size = tampered["big042"]
        tampered["big042"] = (("0" if digest[0] != "0" else "1") + digest[1:], size)
        self.assertEqual(len(compare(tampered, lines)), 1)
        without = [line for line in lines if not line.endswith("/run/secrets/big007")]
        self.assertEqual(len(compare(expected, without)), 2)  # its digest and its size


if __name__ == "__main__":
    unittest.main()
