"""Secret versions, the rest of issue 14, with real capsuled, etcd, runc and the docker CLIs:

  - crash safety: `kill -9` of the manager while `capsule secret rotate` pins a secret used by
    40 services (killed as soon as its log says the new version is current, so the services
    are not pinned yet); after the restart every service pins the new version and the tasks
    run it (the leader finishes the rotation's intent; at least one round must have needed it).
    The pins are one etcd Txn written a few ms after that log line, too soon for a kill from
    outside to land in between reliably, so the daemon runs with the hidden
    --rotation-pin-delay-ms (a pause between the two, for tests only);
  - no orphaned version objects: once the window passed only the kept versions' objects are
    in etcd, and after `docker secret rm` none of the secret's (keys read raw with etcdctl);
  - `capsule service inspect` shows the live-refresh policy (JSON and --pretty), Docker's
    /services/{id} and both docker CLIs never do;
  - live refresh of a templated secret: the re-rendered value is swapped in, the signal
    arrives, the task keeps its ID, container and PID.
Tasks print only digests of their secret files, never the secret.

Run: PYTHONPATH=.. python3 -m unittest -v test_secret_rotation_safety   (from tests/integration)
Addresses: 127.0.70.x only.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import threading
import time
import unittest

import harness
from harness import busybox_image

IP = "127.0.70.1"
IMAGE = "capsule/busybox:1"
SERVICES = 40
RUNNING = 2       # of them with one task; the others have 0 replicas (pins only)
MAX_ROUNDS = 4
PIN_DELAY_MS = 2000  # the window a kill must land in (see the module doc)
VERSIONS_PREFIX = "/capsule/v1/objects/secretversions/"
CANARY = 'sha256sum /run/secrets/cr; trap "exit 0" TERM; sleep 1d & wait'
# The task's main process prints the digest of its file at start and on each HUP.
REFRESHED = ('echo "MAIN $$"; echo "VAL $(sha256sum < /run/secrets/tp | cut -c1-64)"; '
             'trap \'echo "SIG $(sha256sum < /run/secrets/tp | cut -c1-64)"\' HUP; '
             'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done')


def out(r):
    return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def sha(value):
    return hashlib.sha256(value).hexdigest()


def value(tag):
    return f"ROT-SAFE-{tag}-".encode() + os.urandom(12).hex().encode()


def etcd_keys(d, prefix):
    """Every key under prefix, read raw from the member's client socket (values stay sealed)."""
    r = subprocess.run(["etcdctl", "--endpoints=unix://client.sock:2379", "get", "--prefix",
                        "--keys-only", prefix, "-w", "json"],
                       cwd=os.path.join(d.data_root, "etcd"), capture_output=True, timeout=60,
                       env={"ETCDCTL_API": "3", "PATH": os.environ.get("PATH", "")})
    if r.returncode != 0:
        raise AssertionError(f"etcdctl: {r.stderr.decode()}")
    return sorted(base64.b64decode(kv["key"]).decode()
                  for kv in json.loads(r.stdout).get("kvs", []))


class SecretRotationSafety(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Daemon(IP, name="rs", extra_args=["--hostname", "node1",
                                                           "--rotation-pin-delay-ms",
                                                           str(PIN_DELAY_MS)])
        cls.addClassCleanup(cls.d.close)
        cls.d.swarm_init()
        _, cls.rootfs = busybox_image.class_rootfs_tar(cls, "crs-")
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

    def task_log(self, task_id):
        r = self.d.api("GET", f"/tasks/{task_id}/logs", query={"stdout": "1", "stderr": "1"})
        self.assertEqual(r.status, 200, r)
        return harness.demux_stream(r.body).decode(errors="replace")

    def running_task(self, service, timeout=90):
        def one():
            ts = [t for t in self.tasks(service)
                  if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]
            return ts[0] if len(ts) == 1 else None
        self.assertTrue(harness.wait_until(one, timeout, 0.2),
                        f"no running task of {service}: {self.tasks(service)}"
                        + self.d.log_tail())
        return one()

    def history(self, name, may_fail=False):
        r = self.d.api("GET", f"/capsule/secrets/{name}/history", version=None)
        if may_fail and r.status != 200:
            return None  # e.g. the restarted manager is not serving yet
        self.assertEqual(r.status, 200, r)
        return r.json()

    def log_since(self, offset):
        with open(self.d.log_path, "rb") as f:
            f.seek(offset)
            return f.read()

    def version_keys(self, secret_id):
        return [k for k in etcd_keys(self.d, VERSIONS_PREFIX)
                if k[len(VERSIONS_PREFIX):].split(".")[0] == secret_id]

    # ---- crash safety and orphans --------------------------------------------------------
    def test_1_kill9_during_rotate_every_service_ends_on_the_new_version(self):
        d = self.d
        values = [value(0)]
        self.ok(d.docker(["secret", "create", "cr", "-"], input=values[0]))
        sid = d.api("GET", "/secrets/cr").json()["ID"]
        names = [f"cr{i:02d}" for i in range(SERVICES)]
        for i, n in enumerate(names):
            self.ok(d.docker(["service", "create", "-d", "--name", n, "--replicas",
                              "1" if i < RUNNING else "0", "--secret", "cr", IMAGE, "sh", "-c",
                              CANARY]))

        hits, rounds = [], 0
        while rounds < MAX_ROUNDS and not (hits and rounds >= 2):
            rounds += 1
            values.append(value(rounds))
            version = rounds + 1
            offset = os.path.getsize(d.log_path)
            marker = f"secret rotated: id={sid} name=cr version={version}".encode()
            rotate = threading.Thread(target=d.capsule, args=(["secret", "rotate", "-d", "cr",
                                                               "-"],),
                                      kwargs={"input": values[-1], "timeout": 120}, daemon=True)
            rotate.start()
            seen = harness.wait_until(lambda: marker in self.log_since(offset), 60, 0.001)
            d.kill9()  # right after the version became current: pins are still being written
            rotate.join(120)
            self.assertTrue(seen, self.log_since(offset).decode(errors="replace")[-3000:])
            d.start(timeout=60)

            def converged():
                h = self.history("cr", may_fail=True)
                if h is None:
                    return False
                rows = {r["Number"]: r for r in h["Versions"]}
                return (h["CurrentVersion"] == version
                        and sorted(rows[version]["InUseBy"]["Services"]) == names
                        and all(not r["InUseBy"]["Services"] for n, r in rows.items()
                                if n != version))
            self.assertTrue(harness.wait_until(converged, 120, 0.5),
                            f"round {rounds}: not every service pins version {version}: "
                            + json.dumps(self.history("cr"), indent=1)[:4000]
                            + self.log_since(offset).decode(errors="replace")[-3000:])
            m = re.search(rb"rotation to version %d completed by the leader \((\d+) of" % version,
                          self.log_since(offset))
            if m and int(m.group(1)) > 0:
                hits.append((rounds, int(m.group(1))))
        print(f"\n  rotation_safety: {rounds} kill -9 rounds; the leader finished the pins in "
              f"{len(hits)} of them (round, pins): {hits}", flush=True)
        self.assertTrue(hits, "no kill landed between the version and the last pin")

        # Two plain rotations more, so that versions fall out of the window (current + 2).
        for extra in range(2):
            values.append(value(f"x{extra}"))
            self.ok(d.capsule(["secret", "rotate", "-d", "cr", "-"], input=values[-1]))
        last = len(values)

        # The running services' tasks run the last version (and only it).
        want = sha(values[-1])
        for n in names[:RUNNING]:
            def on_new(n=n):
                run = [t for t in self.tasks(n) if t["Status"]["State"] == "running"
                       and t["DesiredState"] == "running"]
                return len(run) == 1 and want in self.task_log(run[0]["ID"])
            self.assertTrue(harness.wait_until(on_new, 180, 0.5),
                            n + json.dumps(self.tasks(n), indent=1)[:3000] + d.log_tail())

        # The window (current + 2 kept) passed: once no task uses the older versions, only the
        # kept versions >= 2 have objects (version 1 lives in the secret's record).
        def window_only():
            h = self.history("cr")
            kept = sorted(r["Number"] for r in h["Versions"])
            return (kept == [last - 2, last - 1, last]
                    and self.version_keys(sid) == sorted(f"{VERSIONS_PREFIX}{sid}.{n}"
                                                         for n in kept))
        self.assertTrue(harness.wait_until(window_only, 60, 1),
                        json.dumps(self.history("cr"), indent=1)[:3000]
                        + str(self.version_keys(sid)))

        # Removing the services and the secret leaves no version object of it.
        for n in names:
            self.ok(d.docker(["service", "rm", n]))
        def no_tasks(n):
            r = d.api("GET", "/tasks", query={"filters": json.dumps({"service": [n]})})
            return r.status == 404 or (r.status == 200 and r.json() == [])
        self.assertTrue(harness.wait_until(lambda: all(no_tasks(n) for n in names[:RUNNING]),
                                           90, 0.5))
        self.ok(d.docker(["secret", "rm", "cr"]))
        self.assertTrue(harness.wait_until(lambda: not self.version_keys(sid), 30, 0.5),
                        self.version_keys(sid))

    # ---- inspect ---------------------------------------------------------------------------
    def test_2_service_inspect_shows_the_refresh_policy(self):
        d = self.d
        self.ok(d.docker(["secret", "create", "ins", "-"], input=value("ins")))
        self.ok(d.capsule(["service", "create", "-d", "--name", "insp", "--replicas", "0",
                           "--secret", "ins", "--secret-refresh", "ins=signal:HUP", IMAGE,
                           "sleep", "1d"]))
        [svc] = json.loads(self.ok(d.capsule(["service", "inspect", "insp"])))
        self.assertEqual(svc["CapsuleSecretRefresh"], {"ins": "signal:SIGHUP"})
        pretty = self.ok(d.capsule(["service", "inspect", "--pretty", "insp"]))
        self.assertIn("\n Target:\tins\n  Source:\tins\n  Refresh:\tsignal:SIGHUP\n", pretty)
        # Docker's route and both docker CLIs: unchanged, never the policy.
        r = d.api("GET", "/services/insp")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(b"Capsule", r.body)
        del svc["CapsuleSecretRefresh"]
        self.assertEqual(svc, d.api("GET", "/services/insp",
                                    query={"insertDefaults": "true"}).json())
        for cli in harness.DOCKER_CLIS:
            for args in (["service", "inspect", "insp"],
                         ["service", "inspect", "--pretty", "insp"]):
                r = d.docker(args, cli=cli)
                self.assertEqual(r.returncode, 0, out(r))
                self.assertNotIn(b"Capsule", r.stdout, harness.cli_label(cli))
                self.assertNotIn(b"Refresh", r.stdout, harness.cli_label(cli))
        # A service without a policy: capsule's JSON is Docker's.
        self.ok(d.docker(["service", "create", "-d", "--name", "insq", "--replicas", "0",
                          "--secret", "ins", IMAGE, "sleep", "1d"]))
        [plain] = json.loads(self.ok(d.capsule(["service", "inspect", "insq"])))
        self.assertEqual(plain, d.api("GET", "/services/insq",
                                      query={"insertDefaults": "true"}).json())
        self.assertNotIn("Refresh", self.ok(d.capsule(["service", "inspect", "--pretty",
                                                       "insq"])))
        self.ok(d.docker(["service", "rm", "insp", "insq"]))

    # ---- templated live refresh ------------------------------------------------------------
    def test_3_templated_secret_is_re_rendered_and_swapped_in_place(self):
        d = self.d
        tag = os.urandom(8).hex()
        template = "tp-" + tag + "-{} svc={{{{ .Service.Name }}}} slot={{{{ .Task.Slot }}}}"
        self.ok(d.docker(["secret", "create", "--template-driver", "golang", "tp", "-"],
                         input=template.format("A").encode()))
        self.ok(d.capsule(["service", "create", "-d", "--name", "tr", "--secret", "tp",
                           "--secret-refresh", "tp=signal:HUP", IMAGE, "sh", "-c",
                           REFRESHED]))
        task = self.running_task("tr")
        tid = task["ID"]
        pid = task["Status"]["ContainerStatus"]["PID"]
        cid = task["Status"]["ContainerStatus"]["ContainerID"]
        rendered = [f"tp-{tag}-{x} svc=tr slot=1".encode() for x in ("A", "B", "C")]
        self.assertTrue(harness.wait_until(
            lambda: f"VAL {sha(rendered[0])}" in self.task_log(tid), 30, 0.2),
            "the first rendering is not what the task mounts: " + self.task_log(tid))
        for i, x in enumerate(("B", "C"), start=1):
            self.ok(d.capsule(["secret", "rotate", "-d", "tp", "-"],
                              input=template.format(x).encode()))
            self.assertTrue(harness.wait_until(
                lambda: f"SIG {sha(rendered[i])}" in self.task_log(tid), 30, 0.1),
                f"rotation {i}: the re-rendered value did not arrive with the signal: "
                + self.task_log(tid) + d.log_tail(20))
        log = self.task_log(tid)
        self.assertEqual(len(re.findall(r"^SIG ", log, re.M)), 2, log)
        self.assertEqual(len(re.findall(r"^MAIN \d+", log, re.M)), 1, log)
        self.assertNotIn("{{", log)  # never the raw template
        task = self.running_task("tr")
        self.assertEqual(task["ID"], tid)
        self.assertEqual(task["Status"]["ContainerStatus"]["PID"], pid)
        self.assertEqual(task["Status"]["ContainerStatus"]["ContainerID"], cid)
        self.assertEqual(len(self.tasks("tr")), 1, "a task was replaced")
        self.ok(d.docker(["service", "rm", "tr"]))


if __name__ == "__main__":
    unittest.main()
